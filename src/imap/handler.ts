/**
 * The socket side of IMAP: frames the byte stream into commands (answering "+" for synchronizing
 * literals) and writes the session's responses with backpressure; running them, STARTTLS, draining and
 * closing are CommandConnection's.
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AuthPolicy } from "../auth/policy.js";
import { defaultImapConfig } from "../config/defaults.js";
import { imapCommandLabel } from "../metrics/metrics.js";
import { CommandConnection } from "../net/command-connection.js";
import { connectionSetHandler } from "../net/connection-set.js";
import type { ConnectionInfo, ProtocolHandler } from "../net/types.js";
import type { ServiceDeps } from "../server/deps.js";
import type { MetadataLimits } from "./commands/context.js";
import { DEFAULT_MAX_UPDATE_CONTEXTS } from "./commands/updates.js";
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
  /** Updating searches per session (RFC 5267 §4.3.1); more are answered NO [NOUPDATE]. */
  maxUpdateContexts?: number;
  /** METADATA (RFC 5464) value size and entries per user. */
  metadataLimits?: MetadataLimits;
  /** NOTIFY (RFC 5465): changes that may wait for one client before NOTIFICATIONOVERFLOW. */
  notifyMaxPending?: number;
}

/** Short responses are gathered up to this many octets before they are written. */
const WRITE_GATHER_BYTES = 32 * 1024;

class ImapConnection extends CommandConnection<FrameItem, ImapResult> {
  protected readonly session: ImapSession;
  private readonly framer: CommandFramer;

  constructor(
    socket: Socket | TLSSocket,
    info: ConnectionInfo,
    deps: ServiceDeps,
    options: Required<ImapHandlerOptions>,
    authPolicy: AuthPolicy,
    logger: Logger,
    onClosed: () => void,
  ) {
    super(socket, {
      protocol: "imap",
      starttls: "STARTTLS",
      idleTimeoutMs: options.idleTimeoutMs,
      tls: deps.tls,
      logger,
      onClosed,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
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
      authPolicy,
      hostname: deps.config.hostname,
      maxMessageSize: options.maxMessageSize,
      maxErrors: options.maxErrors,
      maxUpdateContexts: options.maxUpdateContexts,
      metadataLimits: options.metadataLimits,
      notifyMaxPending: options.notifyMaxPending,
      push: (data) => {
        if (this.closed) return true;
        const room = this.write(data);
        this.flushOutput();
        if (!room) void this.waitWritable().then(() => this.session.resumePush());
        return room;
      },
      logger,
    });
    this.start();
  }

  protected frame(chunk: Buffer): void {
    this.framer.lineMode = this.session.lineMode;
    for (const item of this.framer.push(chunk)) {
      // "+" for a synchronizing literal is answered at once: the client is waiting for it.
      if (item.kind === "continue" && !this.processing && this.queue.length === 0) {
        this.write("+ Ready for literal data\r\n");
        this.flushOutput();
        continue;
      }
      this.queue.push(item);
    }
  }

  protected resetFraming(): void {
    this.framer.reset();
  }

  /**
   * Waiting for the session's verdict on an APPEND literal, the rest stays in the kernel meanwhile;
   * after a runaway line nothing more is read at all.
   */
  protected override holdInput(): boolean {
    return super.holdInput() || this.framer.awaitingVerdict || this.framer.stopped;
  }

  /** A command's first line names it; APPEND's streamed messages are timed as part of APPEND. */
  protected override commandName(item: FrameItem): string | null {
    if (item.kind === "command") return imapCommandLabel(item.frame.lines[0]?.toString("latin1") ?? "");
    if (item.kind === "literal-start") return "APPEND";
    return null;
  }

  protected override afterCommand(item: FrameItem, result: ImapResult): void {
    if (item.kind === "literal-start" && item.sync) {
      this.queue.push(...this.framer.resolveLiteral(result.literal === "accepted"));
    }
    this.framer.lineMode = this.session.lineMode;
    // Not inside an APPEND whose message is still streaming in: that command has not ended.
    if (this.queue.length === 0 && !this.closed && !this.framer.inStreamedCommand)
      this.session.betweenCommands();
  }

  /** Every session, logged in or not, is told BYE between commands once nothing it pipelined waits. */
  protected mayShutDown(): boolean {
    return this.queue.length === 0;
  }

  protected shutdownResult(): ImapResult {
    return { output: [Buffer.from("* BYE server shutting down\r\n")], action: "close" };
  }

  protected timedOut(): void {
    void this.writeResult({
      output: [Buffer.from("* BYE autologout; idle for too long\r\n")],
      action: "close",
    });
  }

  /**
   * Writes the result piece by piece, pulling the next piece only once the socket has room, so a slow
   * reader holds a streamed FETCH at the session instead of in memory. Small pieces are gathered into
   * one write (fewer system calls for many short responses); when the connection closes, the stream is
   * stopped (for-await's early exit calls return(), which ends the session's generator).
   */
  protected async writeOutput(result: ImapResult): Promise<void> {
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    const flush = async () => {
      if (gathered.length === 0) return;
      const data = gathered.length === 1 ? (gathered[0] as Buffer) : Buffer.concat(gathered, gatheredBytes);
      gathered = [];
      gatheredBytes = 0;
      if (!this.write(data)) await this.waitWritable();
    };
    for await (const data of result.output) {
      if (this.closed) break;
      if (data.length >= WRITE_GATHER_BYTES) {
        await flush();
        if (this.closed) break;
        if (!this.write(data)) await this.waitWritable();
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
    if (!this.closed) {
      await flush();
      this.flushOutput();
    }
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
    maxUpdateContexts: options.maxUpdateContexts ?? DEFAULT_MAX_UPDATE_CONTEXTS,
    metadataLimits: options.metadataLimits ?? {
      maxSize: defaultImapConfig().metadataMaxSize,
      maxEntries: defaultImapConfig().metadataMaxEntries,
    },
    notifyMaxPending: options.notifyMaxPending ?? defaultImapConfig().notifyMaxPending,
  };
  const logger = deps.logger.child({ proto: "imap", listener });
  return connectionSetHandler({
    logger,
    goodbye: (reason) =>
      `* BYE ${reason === "shutting-down" ? "server shutting down" : "too many connections; try again later"}\r\n`,
    open: (socket, info, closed) =>
      new ImapConnection(
        socket,
        info,
        deps,
        settings,
        deps.config.listeners[listener].auth,
        logger.child({ client: info.remoteAddress }),
        closed,
      ),
  });
}
