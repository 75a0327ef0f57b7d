// Accepts connections on one configured address, plain or implicit TLS, keeps the connection limits
// (total and per client IP), and hands each connection to its protocol's handler.

import net, { type Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { LISTENER_PROTOCOLS } from "../config/defaults.js";
import type { ListenerConfig, ListenerName } from "../config/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ConnectionInfo, ProtocolHandler, RejectReason } from "./types.js";

export interface ListenerOptions {
  name: ListenerName;
  config: ListenerConfig;
  /** TLS from the first byte (RFC 8314): the handler only ever sees the TLSSocket. */
  implicitTls: boolean;
  secureContext: SecureContext;
  maxConnections: number;
  maxConnectionsPerIp: number;
  handler: ProtocolHandler;
  logger: Logger;
  /** Milliseconds an implicit-TLS client gets to finish its handshake. */
  handshakeTimeout?: number;
  /** Counts connections handed to the protocol (open, total) and refused, for /metrics. */
  metrics?: Pick<Metrics, "connectionOpened" | "connectionClosed" | "connectionRefused">;
}

export interface Listener {
  readonly name: ListenerName;
  readonly address: { host: string; port: number };
  /** Connections currently counted against the limits (accepted and not yet closed). */
  readonly connectionCount: number;
  /** Stops accepting; open connections stay with the handler (drain/destroyAll are the caller's). */
  close(): Promise<void>;
}

/** Binding the listening socket failed; the message says which key to change. */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ListenError";
  }
}

function listenErrorMessage(name: ListenerName, config: ListenerConfig, code: string): string {
  const where = `cannot listen on ${config.host}:${config.port} for ${name}`;
  switch (code) {
    case "EADDRINUSE":
      return `${where}: address already in use; change listeners.${name}.port or stop the other program`;
    case "EACCES":
      return `${where}: permission denied (ports below 1024 need privileges); change listeners.${name}.port or grant the capability CAP_NET_BIND_SERVICE`;
    case "EADDRNOTAVAIL":
      return `${where}: this machine has no such address; change listeners.${name}.host`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${where}: the host name does not resolve; change listeners.${name}.host`;
    default:
      return `${where}: ${code}; check listeners.${name}`;
  }
}

/** "::ffff:192.0.2.1" and "192.0.2.1" are one client, and must share one per-IP count. */
function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address.toLowerCase();
}

export async function startListener(options: ListenerOptions): Promise<Listener> {
  const { name, config, handler, logger, metrics } = options;
  const proto = LISTENER_PROTOCOLS[name];
  const handshakeTimeout = options.handshakeTimeout ?? 30_000;
  const perIp = new Map<string, number>();
  const handshaking = new Set<TLSSocket>();
  let total = 0;
  let closing = false;

  const refusal = (ip: string): RejectReason | null => {
    if (closing) return "shutting-down";
    if (total >= options.maxConnections) return "too-many-connections";
    if ((perIp.get(ip) ?? 0) >= options.maxConnectionsPerIp) return "too-many-from-ip";
    return null;
  };

  const count = (socket: Socket, ip: string) => {
    total++;
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    socket.once("close", () => {
      total--;
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left === 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  };

  // A protocol bug must cost one connection, never the whole server.
  const handOver = (socket: Socket | TLSSocket, info: ConnectionInfo, reason: RejectReason | null) => {
    // Replies are small writes answered by the client before it sends more; Nagle's algorithm would hold
    // each one back for the peer's delayed ACK (~40 ms per round trip, measured in bench/pop3).
    socket.setNoDelay(true);
    try {
      if (reason === null) {
        metrics?.connectionOpened(proto, name);
        socket.once("close", () => metrics?.connectionClosed(proto, name));
        handler.accept(socket, info);
      } else {
        logger.debug({ proto, listener: name, client: info.remoteAddress, reason }, "connection refused");
        metrics?.connectionRefused(proto, name, reason);
        handler.reject(socket, info, reason);
      }
    } catch (error) {
      logger.error({ listener: name, err: error }, "protocol handler failed on a new connection");
      socket.destroy();
    }
  };

  const startTls = (socket: Socket, info: ConnectionInfo, reason: RejectReason | null) => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext: options.secureContext });
    handshaking.add(secure);
    const timer = setTimeout(() => {
      logger.debug({ listener: name, client: info.remoteAddress }, "TLS handshake timed out");
      secure.destroy();
    }, handshakeTimeout);
    const abandon = () => {
      clearTimeout(timer);
      handshaking.delete(secure);
    };
    secure.on("error", (error) => {
      logger.debug({ listener: name, client: info.remoteAddress, err: error }, "TLS connection error");
    });
    secure.once("close", abandon);
    secure.once("secure", () => {
      abandon();
      secure.off("close", abandon);
      handOver(secure, info, closing ? "shutting-down" : reason);
    });
  };

  const server = net.createServer((socket) => {
    const remote = socket.remoteAddress;
    if (remote === undefined) {
      // The client is already gone; there is nothing to count or answer.
      socket.destroy();
      return;
    }
    // Kept for the socket's life: an unhandled 'error' (ECONNRESET) would otherwise crash the process.
    socket.on("error", (error) => {
      logger.debug({ listener: name, client: remote, err: error }, "connection error");
    });
    const ip = canonicalAddress(remote);
    const info: ConnectionInfo = {
      listener: name,
      remoteAddress: ip,
      remotePort: socket.remotePort ?? 0,
      localAddress: canonicalAddress(socket.localAddress ?? ""),
      localPort: socket.localPort ?? 0,
      secure: options.implicitTls,
    };
    const reason = refusal(ip);
    if (reason === null) count(socket, ip);
    if (options.implicitTls) startTls(socket, info, reason);
    else handOver(socket, info, reason);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "error";
      reject(new ListenError(listenErrorMessage(name, config, code), code, { cause: error }));
    };
    server.once("error", onError);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => {
    logger.error({ listener: name, err: error }, "listener error");
  });

  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  let closed: Promise<void> | null = null;

  return {
    name,
    address,
    get connectionCount() {
      return total;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close();
        // Half-open handshakes are not the handler's yet, so they are ours to end.
        for (const socket of handshaking) socket.destroy();
        // server.close() releases the port at once but only emits 'close' once every connection has
        // ended, and connections are the handler's to end: so resolve when the port is released.
        setImmediate(resolve);
      });
      return closed;
    },
  };
}
