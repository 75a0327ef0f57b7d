// The seam between listeners (src/net) and protocol adapters (src/smtp, src/pop3, src/imap): a listener
// accepts sockets, enforces connection limits and implicit TLS, and hands each connection to the
// protocol's handler. Protocols never open sockets themselves.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ListenerName } from "../config/types.js";

export interface ConnectionInfo {
  listener: ListenerName;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** True when the connection arrived over implicit TLS (ports 465/993/995 style). */
  secure: boolean;
}

/** Why a listener refuses a connection before the protocol sees it. */
export type RejectReason = "too-many-connections" | "too-many-from-ip" | "shutting-down";

export interface ProtocolHandler {
  /** Takes ownership of the socket; the listener only watches it close to keep its counts. */
  accept(socket: Socket | TLSSocket, info: ConnectionInfo): void;
  /**
   * Says goodbye to a refused connection in the protocol's words (SMTP "421 …", POP3 "-ERR …",
   * IMAP "* BYE …") and closes it. Must not throw.
   */
  reject(socket: Socket | TLSSocket, info: ConnectionInfo, reason: RejectReason): void;
  /** Asks open sessions to finish: stop taking new transactions, close when idle. Resolves when all closed. */
  drain(): Promise<void>;
  /** Closes every remaining connection at once (after the shutdown bound). */
  destroyAll(): void;
}
