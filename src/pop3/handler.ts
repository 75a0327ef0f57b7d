// The socket side of POP3: splits the byte stream into lines, writes the session's replies and streams
// message bodies with backpressure; running commands, STLS, draining and closing are CommandConnection's.
// Before login the socket is paused while a command is pending, so pipelined input waits in the kernel;
// after it, pipelined commands are read ahead, and the session starts reading their bodies early.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AuthPolicy } from "../auth/policy.js";
import { pop3CommandLabel } from "../metrics/metrics.js";
import { CommandConnection } from "../net/command-connection.js";
import { connectionSetHandler } from "../net/connection-set.js";
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

class Pop3Connection extends CommandConnection<LineItem, Pop3Result> {
  protected readonly session: Pop3Session;
  private readonly reader = new LineReader();

  constructor(
    socket: Socket | TLSSocket,
    info: ConnectionInfo,
    deps: ServiceDeps,
    options: Required<Pop3HandlerOptions>,
    authPolicy: AuthPolicy,
    logger: Logger,
    onClosed: () => void,
  ) {
    super(socket, {
      protocol: "pop3",
      starttls: "STLS",
      idleTimeoutMs: options.idleTimeoutMs,
      tls: deps.tls,
      logger,
      onClosed,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    });
    this.session = new Pop3Session({
      store: deps.store,
      authenticator: deps.authenticator,
      remoteAddress: info.remoteAddress,
      secure: info.secure,
      tlsAvailable: !info.secure,
      authPolicy,
      hostname: deps.config.hostname,
      maxErrors: options.maxErrors,
      maxLineLength: options.maxLineLength,
      maxSaslLineLength: options.maxSaslLineLength,
      logger,
    });
    this.start();
  }

  protected frame(chunk: Buffer): void {
    this.reader.limit = this.session.lineLimit;
    for (const item of this.reader.push(chunk)) this.queue.push(item);
  }

  protected resetFraming(): void {
    this.reader.reset();
  }

  /** After a runaway line nothing more is read: the session answers it and closes. */
  protected override holdInput(): boolean {
    return super.holdInput() || this.reader.stopped;
  }

  /**
   * In TRANSACTION nothing changes how the next line is read, so pipelined commands keep coming in
   * while this one runs, up to the queue's bound. Before it, a command may change that (SASL, STLS), so
   * the rest waits in the kernel; again on every turn, as after STLS the socket is a new one.
   */
  /** During a SASL exchange the lines are base64 responses, not commands: they are not timed. */
  protected override commandName(item: LineItem): string | null {
    if (item.kind !== "line" || this.session.inSasl) return null;
    return pop3CommandLabel(item.line.toString("latin1"));
  }

  protected override beforeCommand(): void {
    if (this.session.state === "transaction" && !this.holdInput()) this.socket.resume();
    else this.socket.pause();
    for (const next of this.queue.slice(0, READ_AHEAD_MESSAGES)) this.session.readAheadFor(next);
  }

  protected override afterCommand(): void {
    this.reader.limit = this.session.lineLimit;
  }

  /**
   * Sessions still in AUTHORIZATION hold nothing worth waiting for: they are told to come back later.
   * One in TRANSACTION finishes when its client QUITs.
   */
  protected mayShutDown(): boolean {
    return this.session.state === "authorization";
  }

  protected shutdownResult(): Pop3Result {
    return { output: [REPLY.shuttingDown], action: "close" };
  }

  /**
   * RFC 1939 §3: when the autologout timer expires the server closes without a reply and without
   * entering UPDATE, so nothing is deleted.
   */
  protected timedOut(): void {
    this.socket.destroy();
  }

  protected async writeOutput(result: Pop3Result): Promise<void> {
    for (const part of result.output) {
      if (this.closed) break;
      await this.writePart(part);
    }
  }

  private async writePart(part: Pop3Output): Promise<void> {
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
  const logger = deps.logger.child({ proto: "pop3", listener });
  return connectionSetHandler({
    logger,
    goodbye: () => REPLY.busy,
    open: (socket, info, closed) =>
      new Pop3Connection(
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

/** POP3 with its default limits, for a caller without a [pop3] configuration (the POP3 benchmark). */
export const pop3Protocol: ProtocolFactory = (listener, deps) => {
  if (listener !== "pop3" && listener !== "pop3s") {
    throw new Error(`the POP3 protocol cannot serve the "${listener}" listener; use "pop3" or "pop3s"`);
  }
  return createPop3Handler(listener, deps);
};
