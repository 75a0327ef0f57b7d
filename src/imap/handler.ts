/**
 * The socket side of IMAP: frames the byte stream into commands (answering "+" for synchronizing
 * literals), feeds them to the sans-IO session one at a time, writes its responses with backpressure,
 * and performs STARTTLS and closing. Pipelined commands wait in a bounded queue; past it the socket is
 * paused so the rest waits in the kernel.
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { connectionSetHandler } from "../net/connection-set.js";
import { upgradeToTls } from "../net/starttls.js";
import type { ConnectionInfo, ProtocolHandler } from "../net/types.js";
import { whenWritable } from "../net/writable.js";
import type { ProtocolFactory, ServiceDeps } from "../server/deps.js";
import { CommandFramer, DEFAULT_FRAMER_LIMITS, type FrameItem } from "./protocol/framer.js";
import { type ImapResult, ImapSession } from "./session.js";

/** RFC 9051 §5.4: an inactivity timer of at least 30 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60 * 1000;

export interface ImapHandlerOptions {
  idleTimeoutMs?: number;
  maxErrors?: number;
  /** Largest APPEND literal; defaults to the SMTP message size limit. */
  maxMessageSize?: number;
  /**
   * Longest command line outside literals, in octets with the CRLF (default 64 KiB); a longer one is
   * answered BAD [TOOBIG] and skipped; when no line feed follows within OVERLONG_LINE_SLACK octets
   * more, the session says BYE and the connection is closed.
   */
  maxLineLength?: number;
  /**
   * Largest literal held in memory: every literal except APPEND's message, which streams to disk
   * (default 64 KiB); a larger one is answered BAD [TOOBIG].
   */
  maxLiteralSize?: number;
}

/** Short responses are gathered up to this many octets before they are written. */
const WRITE_GATHER_BYTES = 32 * 1024;

/** Framed items waiting while a command runs; past this the socket is paused. */
const MAX_QUEUED = 64;

class ImapConnection {
  private readonly session: ImapSession;
  private readonly framer: CommandFramer;
  private readonly queue: FrameItem[] = [];
  private socket: Socket | TLSSocket;
  private processing = false;
  private closed = false;
  private upgrading = false;
  private finished = false;
  private draining = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    socket: Socket | TLSSocket,
    info: ConnectionInfo,
    private readonly deps: ServiceDeps,
    private readonly options: Required<ImapHandlerOptions>,
    private readonly logger: Logger,
    private readonly onClosed: () => void,
  ) {
    this.socket = socket;
    this.framer = new CommandFramer({
      ...DEFAULT_FRAMER_LIMITS,
      maxLine: options.maxLineLength,
      maxLiteral: options.maxLiteralSize,
    });
    this.session = new ImapSession({
      store: deps.store,
      authenticator: deps.authenticator,
      remoteAddress: info.remoteAddress,
      secure: info.secure,
      tlsAvailable: !info.secure,
      hostname: deps.config.hostname,
      maxMessageSize: options.maxMessageSize,
      maxErrors: options.maxErrors,
      push: (data) => {
        if (!this.closed) this.socket.write(data);
      },
      logger,
    });
    this.attach(socket);
    void this.writeResult(this.session.greeting());
  }

  /** Shutdown: idle and not-yet-authenticated sessions are told BYE now; busy ones after their command. */
  drain(): void {
    this.draining = true;
    if (!this.processing) this.sayGoodbyeIfDraining();
  }

  private sayGoodbyeIfDraining(): void {
    if (!this.draining || this.closed || this.upgrading) return;
    void this.writeResult({ output: [Buffer.from("* BYE server shutting down\r\n")], action: "close" });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("error", (error) => this.logger.debug({ err: error }, "imap connection error"));
    socket.once("close", () => this.handleClose());
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      void this.writeResult({
        output: [Buffer.from("* BYE autologout; idle for too long\r\n")],
        action: "close",
      });
    });
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.upgrading) return;
    this.framer.lineMode = this.session.lineMode;
    for (const item of this.framer.push(chunk)) {
      // "+" for a synchronizing literal is answered at once: the client is waiting for it.
      if (item.kind === "continue" && !this.processing && this.queue.length === 0) {
        this.socket.write("+ Ready for literal data\r\n");
        continue;
      }
      this.queue.push(item);
    }
    // Waiting for the session's verdict on an APPEND literal: the rest stays in the kernel meanwhile.
    if (this.queue.length >= MAX_QUEUED || this.framer.awaitingVerdict || this.framer.stopped)
      this.socket.pause();
    if (this.queue.length > 0) void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && !this.upgrading) {
        const item = this.queue.shift();
        if (item === undefined) break;
        const result = await this.session.handle(item);
        await this.writeResult(result);
        if (item.kind === "literal-start" && item.sync) {
          this.queue.push(...this.framer.resolveLiteral(result.literal === "accepted"));
        }
        this.framer.lineMode = this.session.lineMode;
        if (this.queue.length === 0) this.sayGoodbyeIfDraining();
      }
    } catch (error) {
      this.logger.error({ err: error }, "imap session failed");
      this.socket.destroy();
    } finally {
      this.processing = false;
      if (
        !this.closed &&
        !this.upgrading &&
        this.queue.length < MAX_QUEUED &&
        !this.framer.awaitingVerdict &&
        !this.framer.stopped
      )
        this.socket.resume();
    }
  }

  /**
   * Writes the result piece by piece, pulling the next piece only once the socket has room, so a slow
   * reader holds a streamed FETCH at the session instead of in memory. Small pieces are gathered into
   * one write (fewer system calls for many short responses); when the connection closes, the stream is
   * stopped (for-await's early exit calls return(), which ends the session's generator).
   */
  private async writeResult(result: ImapResult): Promise<void> {
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    const flush = async () => {
      if (gathered.length === 0) return;
      const data = gathered.length === 1 ? (gathered[0] as Buffer) : Buffer.concat(gathered, gatheredBytes);
      gathered = [];
      gatheredBytes = 0;
      if (!this.socket.write(data)) await whenWritable(this.socket);
    };
    for await (const data of result.output) {
      if (this.closed) break;
      if (data.length >= WRITE_GATHER_BYTES) {
        await flush();
        if (this.closed) break;
        if (!this.socket.write(data)) await whenWritable(this.socket);
        if (this.closed) break;
        continue;
      }
      gathered.push(data);
      gatheredBytes += data.length;
      if (gatheredBytes >= WRITE_GATHER_BYTES) {
        await flush();
        if (this.closed) break;
      }
    }
    if (!this.closed) await flush();
    if (this.closed) return;
    if (result.action === "close") {
      this.closed = true;
      this.session.close();
      this.socket.end();
    } else if (result.action === "starttls") {
      await this.startTls();
    }
  }

  /** RFC 9051 §6.2.1: anything the client pipelined after STARTTLS is discarded, never read as commands. */
  private async startTls(): Promise<void> {
    this.upgrading = true;
    this.queue.length = 0;
    this.framer.reset();
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
      this.logger.info({ err: error }, "imap STARTTLS handshake failed");
      this.upgrading = false;
      plain.destroy();
      this.handleClose();
    }
  }

  private handleClose(): void {
    if (this.upgrading || this.finished) return;
    this.finished = true;
    this.closed = true;
    this.queue.length = 0;
    this.session.close();
    this.onClosed();
  }
}

export function createImapHandler(
  listener: "imap" | "imaps",
  deps: ServiceDeps,
  options: ImapHandlerOptions = {},
): ProtocolHandler {
  const settings: Required<ImapHandlerOptions> = {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxErrors: options.maxErrors ?? 20,
    maxMessageSize: options.maxMessageSize ?? deps.config.smtp.maxMessageSize,
    maxLineLength: options.maxLineLength ?? DEFAULT_FRAMER_LIMITS.maxLine,
    maxLiteralSize: options.maxLiteralSize ?? DEFAULT_FRAMER_LIMITS.maxLiteral,
  };
  const logger = deps.logger.child({ listener });
  return connectionSetHandler({
    logger,
    goodbye: (reason) =>
      `* BYE ${reason === "shutting-down" ? "server shutting down" : "too many connections; try again later"}\r\n`,
    open: (socket, info, closed) => new ImapConnection(socket, info, deps, settings, logger, closed),
  });
}

/** Registered for the "imap" (STARTTLS offered) and "imaps" (implicit TLS) listeners. */
export const imapProtocol: ProtocolFactory = (listener, deps) => {
  if (listener !== "imap" && listener !== "imaps") {
    throw new Error(`the IMAP protocol cannot serve the "${listener}" listener; use "imap" or "imaps"`);
  }
  return createImapHandler(listener, deps);
};
