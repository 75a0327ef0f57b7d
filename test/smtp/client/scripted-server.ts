// A scripted SMTP peer for client tests: each accepted connection runs a script that reads exactly what
// the client sent and answers what the test wants, so error paths and exact wire bytes can be checked.

import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";

export class Peer {
  /** Every byte received from the client (after TLS, the decrypted bytes are appended). */
  received = Buffer.alloc(0);
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(public socket: Socket) {
    this.listen();
  }

  private listen(): void {
    this.socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    this.socket.on("end", end);
    this.socket.on("close", end);
    this.socket.on("error", () => undefined);
  }

  /** Sends lines, each followed by CRLF. */
  send(...lines: string[]): void {
    this.socket.write(lines.map((line) => `${line}\r\n`).join(""));
  }

  private async waitFor(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.ended) throw new Error("client closed the connection");
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  /** The next CRLF-terminated line, without the CRLF. */
  async line(): Promise<string> {
    await this.waitFor(() => this.buffer.indexOf("\r\n") !== -1);
    const at = this.buffer.indexOf("\r\n");
    const line = this.buffer.subarray(0, at).toString("utf8");
    this.buffer = this.buffer.subarray(at + 2);
    return line;
  }

  async bytes(count: number): Promise<Buffer> {
    await this.waitFor(() => this.buffer.length >= count);
    const bytes = this.buffer.subarray(0, count);
    this.buffer = this.buffer.subarray(count);
    return Buffer.from(bytes);
  }

  /** DATA's payload as sent on the wire, up to and including CRLF "." CRLF. */
  async dataBody(): Promise<Buffer> {
    const isEnd = () =>
      this.buffer.indexOf("\r\n.\r\n") !== -1 || this.buffer.subarray(0, 3).equals(Buffer.from(".\r\n"));
    await this.waitFor(isEnd);
    const at = this.buffer.subarray(0, 3).equals(Buffer.from(".\r\n"))
      ? 0
      : this.buffer.indexOf("\r\n.\r\n") + 2;
    return this.bytes(at + 3);
  }

  /** True when the client has closed its side. */
  async closed(): Promise<boolean> {
    await this.waitFor(() => this.ended);
    return true;
  }

  async startTls(context: SecureContext): Promise<void> {
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("end");
    this.socket.removeAllListeners("close");
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    await once(secure, "secure");
    this.socket = secure;
    this.buffer = Buffer.alloc(0);
    this.listen();
  }

  drop(): void {
    this.socket.destroy();
  }
}

export interface ScriptedServer {
  port: number;
  /** Resolves when the script of the n-th connection (0-based) has finished; rejects if it threw. */
  done(index?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startScriptedServer(
  script: (peer: Peer, index: number) => Promise<void>,
): Promise<ScriptedServer> {
  const runs: Array<{ promise: Promise<void>; settle(run: Promise<void>): void }> = [];
  const slot = (index: number) => {
    while (runs.length <= index) {
      let settle: (run: Promise<void>) => void = () => undefined;
      const promise = new Promise<Promise<void>>((resolve) => {
        settle = resolve;
      }).then((run) => run);
      promise.catch(() => undefined);
      runs.push({ promise, settle });
    }
    return runs[index]!;
  };
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const peer = new Peer(socket);
    const index = accepted++;
    slot(index).settle(script(peer, index));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("no address");
  return {
    port: address.port,
    done: (index = 0) => slot(index).promise,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** A greeting and an EHLO answer offering `extensions`. */
export async function greet(peer: Peer, extensions: string[]): Promise<string> {
  peer.send("220 scripted.test ESMTP");
  const ehlo = await peer.line();
  const lines = ["scripted.test", ...extensions];
  peer.send(...lines.map((line, index) => `250${index === lines.length - 1 ? " " : "-"}${line}`));
  return ehlo;
}
