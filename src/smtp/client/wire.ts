// The client's socket: writes commands, hands out the server's replies one at a time with a deadline,
// and swaps the plain socket for TLS after STARTTLS. Knows nothing about SMTP's command order.

import { connect as connectTcp, type Socket } from "node:net";
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from "node:tls";
import { type RawReply, ReplyParser, ReplyProtocolError } from "./reply-parser.js";

/** Why the wire could not deliver a reply or accept bytes. */
export class WireError extends Error {
  override name = "WireError";
  constructor(
    message: string,
    readonly kind: "timeout" | "closed" | "protocol",
  ) {
    super(message);
  }
}

/** Replies read ahead of the caller before the socket is paused (pipelined replies arrive in bulk). */
const MAX_UNREAD_REPLIES = 256;

export type Transcript = (direction: "C" | "S", line: string) => void;

export class Wire {
  private parser = new ReplyParser();
  private readonly replies: RawReply[] = [];
  private waiter: { resolve(reply: RawReply): void; reject(error: Error): void } | null = null;
  private failure: WireError | null = null;
  private lastError: string | null = null;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onError = (error: Error) => {
    this.lastError = error.message;
  };
  private readonly onClose = () =>
    this.fail(
      new WireError(
        this.lastError ? `connection lost: ${this.lastError}` : "the server closed the connection",
        "closed",
      ),
    );

  constructor(
    private socket: Socket | TLSSocket,
    private readonly transcript: Transcript | undefined,
  ) {
    this.attach();
  }

  get isTls(): boolean {
    return "encrypted" in this.socket && this.socket.encrypted === true;
  }

  get isOpen(): boolean {
    return this.failure === null;
  }

  /** Writes one or more command lines; `shown` replaces them in the transcript (masked secrets). */
  writeLines(lines: string[], shown: string[] = lines): void {
    for (const line of shown) this.transcript?.("C", line);
    this.writeRaw(Buffer.from(lines.map((line) => `${line}\r\n`).join(""), "utf8"));
  }

  writeRaw(bytes: Buffer): boolean {
    if (this.failure) return false;
    return this.socket.write(bytes);
  }

  /** Writes a body chunk and waits while the socket's buffer is full, so a large body is not held in memory. */
  async writeBody(bytes: Buffer, timeoutMs: number): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error: WireError | null) => {
        clearTimeout(timer);
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done(null);
      const onClose = () => done(this.failure ?? new WireError("the server closed the connection", "closed"));
      const timer = setTimeout(() => {
        const error = new WireError(`the server stopped reading for ${timeoutMs} ms`, "timeout");
        this.fail(error);
        done(error);
      }, timeoutMs);
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
    });
  }

  /** The next reply; rejects on timeout (and closes the connection), on close, or on a malformed reply. */
  next(timeoutMs: number): Promise<RawReply> {
    const ready = this.replies.shift();
    if (ready) {
      if (this.replies.length < MAX_UNREAD_REPLIES && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(ready);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new WireError(`no reply from the server within ${timeoutMs} ms`, "timeout")),
        timeoutMs,
      );
      this.waiter = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /**
   * Starts TLS on the open connection (after "220" to STARTTLS). Anything the server sent after that
   * reply is dropped: RFC 3207 §4.2 — nothing from before the handshake may be trusted afterwards.
   */
  async startTls(options: ConnectionOptions, timeoutMs: number): Promise<void> {
    this.detach();
    this.parser = new ReplyParser();
    this.replies.length = 0;
    const plain = this.socket;
    const secure = await handshake(connectTls({ ...options, socket: plain }), timeoutMs, () =>
      plain.destroy(),
    );
    this.socket = secure;
    this.attach();
  }

  destroy(): void {
    this.fail(new WireError("the connection was closed", "closed"));
  }

  /** Ends politely after QUIT: lets the socket flush, then closes. */
  end(): void {
    this.socket.end();
    this.destroy();
  }

  private attach(): void {
    this.socket.on("data", this.onData);
    this.socket.on("error", this.onError);
    this.socket.on("close", this.onClose);
  }

  private detach(): void {
    this.socket.off("data", this.onData);
    this.socket.off("error", this.onError);
    this.socket.off("close", this.onClose);
  }

  private received(chunk: Buffer): void {
    let parsed: RawReply[];
    try {
      parsed = this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof ReplyProtocolError)) throw error;
      this.fail(new WireError(`the server sent a malformed reply (${error.message})`, "protocol"));
      return;
    }
    for (const reply of parsed) {
      const last = reply.lines.length - 1;
      for (const [index, line] of reply.lines.entries())
        this.transcript?.("S", `${reply.code}${index === last ? " " : "-"}${line}`);
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = null;
        waiter.resolve(reply);
      } else {
        this.replies.push(reply);
      }
    }
    if (this.replies.length >= MAX_UNREAD_REPLIES) this.socket.pause();
  }

  private fail(error: WireError): void {
    if (this.failure) return;
    this.failure = error;
    this.detach();
    // Errors after this point (a reset while closing) have no one to tell; keep them from crashing.
    this.socket.on("error", () => undefined);
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }
}

function handshake(socket: TLSSocket, timeoutMs: number, onFail: () => void): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`TLS handshake did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const done = (error: Error | null) => {
      clearTimeout(timer);
      socket.off("secureConnect", onSecure);
      socket.off("error", done);
      if (!error) {
        resolve(socket);
        return;
      }
      socket.on("error", () => undefined);
      socket.destroy();
      onFail();
      reject(error);
    };
    const onSecure = () => done(null);
    socket.once("secureConnect", onSecure);
    socket.once("error", done);
  });
}

/** Opens TCP (and, for implicit TLS, the handshake); errors carry the system's reason (ECONNREFUSED…). */
export function openSocket(
  host: string,
  port: number,
  tls: ConnectionOptions | null,
  timeoutMs: number,
): Promise<Socket | TLSSocket> {
  // Nagle off: every write is a whole command group or body piece, and holding back the short final
  // ".\r\n" until the body's segment is acknowledged meets the server's delayed ACK — about 40 ms per
  // message on Linux, which capped each relay connection at some 20 messages a second.
  if (tls) {
    const socket = connectTls({ ...tls, host, port });
    socket.setNoDelay(true);
    return handshake(socket, timeoutMs, () => undefined);
  }
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port, noDelay: true });
    const timer = setTimeout(() => done(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const done = (error: Error | null) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", done);
      if (!error) {
        resolve(socket);
        return;
      }
      socket.on("error", () => undefined);
      socket.destroy();
      reject(error);
    };
    const onConnect = () => done(null);
    socket.once("connect", onConnect);
    socket.once("error", done);
  });
}
