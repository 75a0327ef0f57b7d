// The socket side of POP3: feeds lines to the sans-IO session one command at a time, writes its
// replies, streams message bodies with backpressure, and performs STLS and closing. Before login the
// socket is paused while a command is pending, so pipelined input waits in the kernel; after it, up to
// MAX_QUEUED pipelined commands are read ahead, and the session starts reading their bodies early.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { connectionSetHandler } from "../net/connection-set.js";
import { upgradeToTls } from "../net/starttls.js";
import type { ConnectionInfo, ProtocolHandler } from "../net/types.js";
import { whenWritable } from "../net/writable.js";
import type { ProtocolFactory, ServiceDeps } from "../server/deps.js";
import { type LineItem, LineReader, MAX_COMMAND_LINE, MAX_SASL_LINE } from "./line-reader.js";
import { REPLY } from "./replies.js";
import {
  DEFAULT_MAX_ERRORS,
  type Pop3Output,
  type Pop3Result,
  Pop3Session,
  READ_AHEAD_MESSAGES,
} from "./session.js";

/** RFC 1939 §3: the autologout timer must be at least 10 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;

export interface Pop3HandlerOptions {
  /** Milliseconds without traffic before the connection is dropped. */
  idleTimeoutMs?: number;
  /** Bad commands tolerated before the session closes the connection. */
  maxErrors?: number;
  /** Longest command line, CRLF included (RFC 2449 §4: at least 255). */
  maxLineLength?: number;
  /** Longest base64 line of a SASL exchange (RFC 5034 §4), CRLF included. */
  maxSaslLineLength?: number;
}

/** Pipelined commands read ahead while one runs; past this the socket is paused. */
const MAX_QUEUED = 64;

class Pop3Connection {
  private readonly session: Pop3Session;
  private readonly reader = new LineReader();
  private readonly queue: LineItem[] = [];
  private socket: Socket | TLSSocket;
  private processing = false;
  private closed = false;
  private upgrading = false;
  private draining = false;
  private finished = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    socket: Socket | TLSSocket,
    info: ConnectionInfo,
    private readonly deps: ServiceDeps,
    private readonly options: Required<Pop3HandlerOptions>,
    private readonly logger: Logger,
    private readonly onClosed: () => void,
  ) {
    this.socket = socket;
    this.session = new Pop3Session({
      store: deps.store,
      authenticator: deps.authenticator,
      remoteAddress: info.remoteAddress,
      secure: info.secure,
      tlsAvailable: !info.secure,
      hostname: deps.config.hostname,
      maxErrors: options.maxErrors,
      maxLineLength: options.maxLineLength,
      maxSaslLineLength: options.maxSaslLineLength,
      logger,
    });
    this.attach(socket);
    void this.writeResult(this.session.greeting());
  }

  /** New sessions are not taken once draining; one in TRANSACTION finishes when its client QUITs. */
  drain(): void {
    this.draining = true;
    this.closeIfDrainable();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("error", (error) => this.logger.debug({ err: error }, "pop3 connection error"));
    socket.once("close", () => this.handleClose());
    // RFC 1939 §3: when the autologout timer expires the server closes without a reply and without
    // entering UPDATE, so nothing is deleted.
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.upgrading) return;
    this.reader.limit = this.session.lineLimit;
    for (const item of this.reader.push(chunk)) this.queue.push(item);
    if (this.queue.length >= MAX_QUEUED || this.reader.stopped) this.socket.pause();
    if (this.queue.length > 0) void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && !this.upgrading) {
        const item = this.queue.shift();
        if (item === undefined) break;
        // In TRANSACTION nothing changes how the next line is read, so pipelined commands keep coming
        // in while this one runs, up to MAX_QUEUED. Before it, a command may change that (SASL, STLS),
        // so the rest waits in the kernel; again on every turn, as after STLS the socket is a new one.
        if (this.session.state === "transaction" && this.queue.length < MAX_QUEUED && !this.reader.stopped)
          this.socket.resume();
        else this.socket.pause();
        for (const next of this.queue.slice(0, READ_AHEAD_MESSAGES)) this.session.readAheadFor(next);
        const result = await this.session.handle(item);
        await this.writeResult(result);
        this.reader.limit = this.session.lineLimit;
        this.shutdownIfDraining();
      }
    } catch (error) {
      this.logger.error({ err: error }, "pop3 session failed");
      this.socket.destroy();
    } finally {
      this.processing = false;
      if (!this.closed && !this.upgrading && !this.reader.stopped) this.socket.resume();
    }
  }

  private async writeResult(result: Pop3Result): Promise<void> {
    for (const part of result.output) {
      if (this.closed) break;
      await this.writeOutput(part);
    }
    if (this.closed) return;
    if (result.action === "close") {
      this.closed = true;
      this.socket.end();
      await this.session.close();
    } else if (result.action === "starttls") {
      await this.startTls();
    }
  }

  private async writeOutput(part: Pop3Output): Promise<void> {
    if (typeof part === "string") {
      if (!this.socket.write(part)) await whenWritable(this.socket);
      return;
    }
    try {
      for await (const chunk of part) {
        if (this.closed) break;
        if (!this.socket.write(chunk)) await whenWritable(this.socket);
      }
    } catch (error) {
      // The +OK is already out: the only honest way to report a failed read is to drop the connection.
      this.logger.error({ err: error }, "pop3 message body could not be read; closing the connection");
      this.socket.destroy();
      this.closed = true;
    }
  }

  /** RFC 2595 §4: anything the client pipelined after STLS is discarded, never read as commands. */
  private async startTls(): Promise<void> {
    this.upgrading = true;
    this.queue.length = 0;
    this.reader.reset();
    const plain = this.socket as Socket;
    plain.off("data", this.onData);
    plain.setTimeout(0);
    plain.pause();
    try {
      const secure = await upgradeToTls(plain, this.deps.tls);
      this.session.tlsStarted();
      this.upgrading = false;
      this.attach(secure);
    } catch (error) {
      this.logger.info({ err: error }, "pop3 STLS handshake failed");
      this.upgrading = false;
      plain.destroy();
      this.handleClose();
    }
  }

  private closeIfDrainable(): void {
    if (!this.processing) this.shutdownIfDraining();
  }

  /** Sessions still in AUTHORIZATION hold nothing worth waiting for: they are told to come back later. */
  private shutdownIfDraining(): void {
    if (!this.draining || this.closed || this.upgrading) return;
    if (this.session.state !== "authorization") return;
    void this.writeResult({ output: [REPLY.shuttingDown], action: "close" });
  }

  private handleClose(): void {
    if (this.upgrading || this.finished) return;
    this.finished = true;
    this.closed = true;
    this.queue.length = 0;
    this.session.close().then(
      () => this.onClosed(),
      (error: unknown) => {
        this.logger.error({ err: error }, "pop3 could not release the maildrop lock");
        this.onClosed();
      },
    );
  }
}

export function createPop3Handler(
  listener: "pop3" | "pop3s",
  deps: ServiceDeps,
  options: Pop3HandlerOptions = {},
): ProtocolHandler {
  const settings: Required<Pop3HandlerOptions> = {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxErrors: options.maxErrors ?? DEFAULT_MAX_ERRORS,
    maxLineLength: options.maxLineLength ?? MAX_COMMAND_LINE,
    maxSaslLineLength: options.maxSaslLineLength ?? MAX_SASL_LINE,
  };
  const logger = deps.logger.child({ listener });
  return connectionSetHandler({
    logger,
    goodbye: () => REPLY.busy,
    open: (socket, info, closed) => new Pop3Connection(socket, info, deps, settings, logger, closed),
  });
}

/** Registered for the "pop3" (STLS offered) and "pop3s" (implicit TLS) listeners. */
export const pop3Protocol: ProtocolFactory = (listener, deps) => {
  if (listener !== "pop3" && listener !== "pop3s") {
    throw new Error(`the POP3 protocol cannot serve the "${listener}" listener; use "pop3" or "pop3s"`);
  }
  return createPop3Handler(listener, deps);
};
