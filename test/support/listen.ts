// Serves a ProtocolHandler on an ephemeral loopback port, as net/listener.ts would, for tests that drive
// one protocol over real sockets without starting the whole server.

import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { ListenerName } from "../../src/config/types.js";
import type { ConnectionInfo, ProtocolHandler } from "../../src/net/types.js";

export function connectionInfo(socket: Socket, listener: ListenerName, secure: boolean): ConnectionInfo {
  return {
    listener,
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
    secure,
  };
}

export interface LoopbackServer {
  server: Server;
  port: number;
  /** Destroys the handler's connections and closes the server. */
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Implicit TLS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
  /** Sees each accepted socket before the handler does. */
  onSocket?: (socket: Socket) => void;
}

export async function listenOnLoopback(
  handler: ProtocolHandler,
  listener: ListenerName,
  options: ListenOptions = {},
): Promise<LoopbackServer> {
  const secure = options.tls !== undefined;
  const accept = (socket: Socket) => {
    options.onSocket?.(socket);
    handler.accept(socket, connectionInfo(socket, listener, secure));
  };
  const server: Server = options.tls ? createTlsServer(options.tls, accept) : createServer(accept);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      handler.destroyAll();
      server.close();
      await once(server, "close");
    },
  };
}
