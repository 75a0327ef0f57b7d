// The socket side of ManageSieve (RFC 5804): the byte stream framed into lines and literals by
// parser.ts, responses written with backpressure; running commands, STARTTLS, draining and closing are
// CommandConnection's. The socket is paused while a command runs, since a command (AUTHENTICATE,
// STARTTLS) may change how the next input is read.

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { defaultManageSieveConfig } from "../config/defaults.js";
import type { ManageSieveConfig } from "../config/types.js";
import { CommandConnection } from "../net/command-connection.js";
import { connectionSetHandler } from "../net/connection-set.js";
import type { ConnectionInfo, ProtocolHandler } from "../net/types.js";
import type { ProtocolFactory, ServiceDeps } from "../server/deps.js";
import { type Item, ManageSieveParser } from "./parser.js";
import { type ManageSieveResult, ManageSieveSession } from "./session.js";

const bye = (text: string) => `BYE "${text}"\r\n`;

class ManageSieveConnection extends CommandConnection<Item, ManageSieveResult> {
  protected readonly session: ManageSieveSession;
  private readonly parser: ManageSieveParser;

  constructor(
    socket: Socket | TLSSocket,
    info: ConnectionInfo,
    deps: ServiceDeps,
    limits: ManageSieveConfig,
    logger: Logger,
    onClosed: () => void,
  ) {
    super(socket, {
      protocol: "managesieve",
      starttls: "STARTTLS",
      idleTimeoutMs: limits.idleTimeout,
      tls: deps.tls,
      logger,
      onClosed,
    });
    this.parser = new ManageSieveParser({
      maxLineLength: limits.maxLineLength,
      maxLiteralSize: limits.maxScriptSize,
    });
    this.session = new ManageSieveSession({
      store: deps.store,
      authenticator: deps.authenticator,
      authPolicy: deps.config.listeners.managesieve.auth,
      remoteAddress: info.remoteAddress,
      secure: info.secure,
      tlsAvailable: !info.secure,
      limits,
      logger,
    });
    this.start();
  }

  protected frame(chunk: Buffer): void {
    for (const item of this.parser.push(chunk)) this.queue.push(item);
  }

  protected resetFraming(): void {
    this.parser.reset();
  }

  protected override beforeCommand(): void {
    this.socket.pause();
  }

  /** Nothing in a ManageSieve session is worth waiting for: every client is told goodbye at once. */
  protected mayShutDown(): boolean {
    return true;
  }

  protected shutdownResult(): ManageSieveResult {
    return { output: [bye("Server shutting down; try again later")], action: "close" };
  }

  protected timedOut(): void {
    this.socket.end(bye("Idle for too long; closing"));
  }

  protected async writeOutput(result: ManageSieveResult): Promise<void> {
    for (const part of result.output) {
      if (this.closed) break;
      if (!this.write(part)) await this.waitWritable();
    }
  }
}

export function createManageSieveHandler(
  deps: ServiceDeps,
  limits: ManageSieveConfig = defaultManageSieveConfig(),
): ProtocolHandler {
  const logger = deps.logger.child({ listener: "managesieve" });
  return connectionSetHandler({
    logger,
    goodbye: () => bye("Too many connections; try again later"),
    open: (socket, info, closed) => new ManageSieveConnection(socket, info, deps, limits, logger, closed),
  });
}

export const manageSieveFromConfig: ProtocolFactory = (listener, deps) => {
  if (listener !== "managesieve") {
    throw new Error(`the ManageSieve protocol cannot serve the "${listener}" listener; use "managesieve"`);
  }
  return createManageSieveHandler(deps, deps.config.managesieve ?? defaultManageSieveConfig());
};
