// The part of a ProtocolHandler that is the same for every protocol: the set of open connections, how a
// refused connection is told goodbye, and drain/destroyAll over the set. Protocols supply how to open a
// connection and the goodbye line in their own words.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { ConnectionInfo, ProtocolHandler, RejectReason } from "./types.js";

/** How long a refused client gets to read its goodbye before the socket is destroyed. */
const REJECT_LINGER_MS = 5_000;

export interface TrackedConnection {
  /** Finish what is in flight, refuse new work, close when idle. */
  drain(): void;
  destroy(): void;
}

export interface ConnectionSetOptions {
  logger: Logger;
  /** The protocol's goodbye to a refused connection (SMTP 421, POP3 -ERR, IMAP * BYE), line end included. */
  goodbye(reason: RejectReason): string;
  /** Opens one connection; it must call `closed` exactly once when its socket is gone. */
  open(socket: Socket | TLSSocket, info: ConnectionInfo, closed: () => void): TrackedConnection;
}

export function connectionSetHandler(options: ConnectionSetOptions): ProtocolHandler {
  const connections = new Set<TrackedConnection>();
  let draining = false;
  let idleWaiters: Array<() => void> = [];

  const settleIfIdle = () => {
    if (connections.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const refuse = (socket: Socket | TLSSocket, reason: RejectReason) => {
    options.logger.debug({ reason }, "connection refused");
    socket.on("error", () => undefined);
    setTimeout(() => socket.destroy(), REJECT_LINGER_MS).unref();
    try {
      socket.end(options.goodbye(reason));
    } catch {
      socket.destroy();
    }
  };

  return {
    accept(socket, info) {
      if (draining) {
        refuse(socket, "shutting-down");
        return;
      }
      const connection = options.open(socket, info, () => {
        connections.delete(connection);
        settleIfIdle();
      });
      connections.add(connection);
    },
    reject(socket, _info, reason) {
      refuse(socket, reason);
    },
    drain() {
      draining = true;
      for (const connection of connections) connection.drain();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIfIdle();
      });
    },
    destroyAll() {
      for (const connection of connections) connection.destroy();
    },
  };
}
