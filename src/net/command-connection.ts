// The socket side that IMAP and POP3 share: client commands, framed from the byte stream, run through a
// sans-IO session one at a time; its results are written, then the connection is closed or upgraded to
// TLS as the session asks. Pipelined commands wait in a bounded queue; past it the socket is paused so
// the rest waits in the kernel. Each protocol supplies its framing, how it writes output and when a
// session may be told goodbye.

import type { Socket } from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from "node:zlib";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import { upgradeToTls } from "./starttls.js";
import { whenWritable } from "./writable.js";

export interface CommandResult {
  /**
   * "starttls": write the output, drop anything pipelined, upgrade, then call tlsStarted().
   * "compress": write the output, then deflate both directions from the next octet on (IMAP COMPRESS,
   * RFC 4978).
   */
  action: "continue" | "starttls" | "compress" | "close";
}

export interface CommandSession<Item, Result extends CommandResult> {
  greeting(): Result;
  handle(item: Item): Promise<Result>;
  /** After the handshake; a result returned is written at once (ManageSieve's capabilities, RFC 5804 §2.2). */
  tlsStarted(): void | Result;
  close(): void | Promise<void>;
  /** A user is logged in: the session counts as open in mailroom_sessions_open. */
  readonly authenticated: boolean;
}

export interface CommandConnectionOptions {
  /** For log messages and metrics. */
  protocol: "imap" | "pop3" | "managesieve";
  /** The protocol's name for STARTTLS, for log messages. */
  starttls: string;
  idleTimeoutMs: number;
  /** For STARTTLS. */
  tls: SecureContext;
  logger: Logger;
  /** Called once, when the socket is gone and the session closed. */
  onClosed: () => void;
  /** Command latencies and open sessions, for /metrics. */
  metrics?: Pick<Metrics, "commandTimer" | "sessionOpened" | "sessionClosed">;
}

/** Framed items waiting while a command runs; past this the socket is paused. */
const MAX_QUEUED = 64;

export abstract class CommandConnection<Item, Result extends CommandResult> {
  protected abstract readonly session: CommandSession<Item, Result>;
  protected readonly queue: Item[] = [];
  protected readonly logger: Logger;
  protected processing = false;
  /** Nothing more is written: the session said goodbye, or the socket is gone. */
  protected closed = false;
  private upgrading = false;
  private draining = false;
  private finished = false;
  /** Counted in mailroom_sessions_open (from the command that logged in until the close). */
  private countedSession = false;
  /** Set once COMPRESS succeeded: what the client sends is inflated, what is written deflated. */
  private inflate: InflateRaw | null = null;
  private deflate: DeflateRaw | null = null;
  private readonly onData = (chunk: Buffer) => {
    if (this.inflate === null) this.receive(chunk);
    else this.inflate.write(chunk);
  };

  constructor(
    protected socket: Socket | TLSSocket,
    private readonly options: CommandConnectionOptions,
  ) {
    this.logger = options.logger;
  }

  /** Splits received bytes into items and appends them to the queue. */
  protected abstract frame(chunk: Buffer): void;

  /** Forgets partly framed input: what the client sent before the TLS handshake is never read. */
  protected abstract resetFraming(): void;

  /** Writes a result's output with backpressure, stopping early once `closed` is set. */
  protected abstract writeOutput(result: Result): Promise<void>;

  /** The result that tells a client the server is shutting down. */
  protected abstract shutdownResult(): Result;

  /** Whether a draining connection may be told goodbye now rather than after more commands. */
  protected abstract mayShutDown(): boolean;

  /** What the protocol does when the client has been silent for idleTimeoutMs. */
  protected abstract timedOut(): void;

  /**
   * The command's name for its latency histogram, from a vocabulary the protocol defines (an unknown
   * verb is "other"), or null for items that are not commands (the pieces of a streamed literal).
   */
  protected commandName(_item: Item): string | null {
    return null;
  }

  /** Runs just before an item goes to the session. */
  protected beforeCommand(): void {}

  /** Runs once a command's result has been written. */
  protected afterCommand(_item: Item, _result: Result): void {}

  /** Whether reading stays paused: too much queued already. */
  protected holdInput(): boolean {
    return this.queue.length >= MAX_QUEUED;
  }

  /** Attaches to the socket and sends the greeting; subclasses call it once their session exists. */
  protected start(): void {
    this.attach(this.socket);
    void this.writeResult(this.session.greeting());
  }

  /** Shutdown: sessions that may be told goodbye are told now, busy ones after their command. */
  drain(): void {
    this.draining = true;
    if (!this.processing) this.shutDownIfDraining();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Writes to the client, deflated once compression is on; false means wait (see waitWritable). */
  protected write(data: Buffer | string): boolean {
    return this.deflate === null ? this.socket.write(data) : this.deflate.write(data);
  }

  /** Sends what was written so far: with compression, a sync flush ends the deflate block (RFC 4978 §4). */
  protected flushOutput(): void {
    this.deflate?.flush(constants.Z_SYNC_FLUSH);
  }

  /** Resolves once write() may be called again (or the socket is gone). */
  protected waitWritable(): Promise<void> {
    const deflate = this.deflate;
    if (deflate === null) return whenWritable(this.socket as Socket);
    return new Promise((resolve) => {
      const done = () => {
        deflate.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      deflate.once("drain", done);
      this.socket.once("close", done);
    });
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.on("data", this.onData);
    socket.on("error", (error) =>
      this.logger.debug({ err: error }, `${this.options.protocol} connection error`),
    );
    socket.once("close", () => this.handleClose());
    socket.setTimeout(this.options.idleTimeoutMs, () => this.timedOut());
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.upgrading) return;
    this.frame(chunk);
    if (this.holdInput()) this.socket.pause();
    if (this.queue.length > 0) void this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && !this.upgrading) {
        const item = this.queue.shift();
        if (item === undefined) break;
        this.beforeCommand();
        const name = this.options.metrics ? this.commandName(item) : null;
        const stop = name === null ? null : this.options.metrics?.commandTimer(this.options.protocol, name);
        const result = await this.session.handle(item);
        await this.writeResult(result);
        stop?.();
        this.countSession();
        this.afterCommand(item, result);
        this.shutDownIfDraining();
      }
    } catch (error) {
      this.logger.error({ err: error }, `${this.options.protocol} session failed`);
      this.socket.destroy();
    } finally {
      this.processing = false;
      if (!this.closed && !this.upgrading && !this.holdInput()) this.socket.resume();
    }
  }

  private shutDownIfDraining(): void {
    if (!this.draining || this.closed || this.upgrading || !this.mayShutDown()) return;
    void this.writeResult(this.shutdownResult());
  }

  protected async writeResult(result: Result): Promise<void> {
    await this.writeOutput(result);
    if (this.closed) return;
    if (result.action === "close") {
      this.closed = true;
      // A deflate stream piped into the socket ends it once its last block is out.
      if (this.deflate !== null) this.deflate.end();
      else this.socket.end();
      await this.session.close();
    } else if (result.action === "starttls") {
      await this.startTls();
    } else if (result.action === "compress") {
      this.startCompression();
    }
  }

  /**
   * From here on both directions are raw DEFLATE (RFC 1951) streams. Anything framed after the
   * command is dropped, as for STARTTLS: the client waits for the tagged OK before compressing.
   */
  private startCompression(): void {
    this.queue.length = 0;
    this.resetFraming();
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw();
    inflate.on("data", (chunk: Buffer) => this.receive(chunk));
    inflate.on("error", (error) => {
      this.logger.info({ err: error }, `${this.options.protocol} client sent a broken DEFLATE stream`);
      this.socket.destroy();
    });
    deflate.on("error", (error) => {
      this.logger.warn({ err: error }, `${this.options.protocol} could not compress output`);
      this.socket.destroy();
    });
    deflate.pipe(this.socket);
    this.socket.once("close", () => {
      inflate.destroy();
      deflate.destroy();
    });
    this.inflate = inflate;
    this.deflate = deflate;
  }

  /**
   * Anything the client pipelined after the STARTTLS command is discarded, never read as commands
   * (RFC 9051 §6.2.1, RFC 2595 §4).
   */
  private async startTls(): Promise<void> {
    this.upgrading = true;
    this.queue.length = 0;
    this.resetFraming();
    const plain = this.socket as Socket;
    plain.off("data", this.onData);
    plain.setTimeout(0);
    plain.pause();
    try {
      const secure = await upgradeToTls(plain, this.options.tls);
      const unasked = this.session.tlsStarted();
      this.upgrading = false;
      this.attach(secure);
      if (unasked) await this.writeResult(unasked);
    } catch (error) {
      this.logger.info({ err: error }, `${this.options.protocol} ${this.options.starttls} handshake failed`);
      this.upgrading = false;
      plain.destroy();
      this.handleClose();
    }
  }

  private countSession(): void {
    if (this.countedSession || this.finished || !this.session.authenticated) return;
    this.countedSession = true;
    this.options.metrics?.sessionOpened(this.options.protocol);
  }

  private handleClose(): void {
    if (this.upgrading || this.finished) return;
    this.finished = true;
    if (this.countedSession) this.options.metrics?.sessionClosed(this.options.protocol);
    this.closed = true;
    this.queue.length = 0;
    const closed = () => this.options.onClosed();
    Promise.resolve(this.session.close()).then(closed, (error: unknown) => {
      this.logger.error({ err: error }, `${this.options.protocol} session did not close cleanly`);
      closed();
    });
  }
}
