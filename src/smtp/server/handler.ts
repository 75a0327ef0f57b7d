// The socket adapter: connects a listener's sockets to SmtpSession. It feeds the session one chunk at a
// time (pausing the socket while the session works, so input is never buffered without bound), writes
// the replies, performs the effects (STARTTLS, close) and turns the session's deadlines into timers.

import type { Socket } from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { AuthPolicy } from "../../auth/policy.js";
import type { Authenticator } from "../../auth/types.js";
import { captureAgent } from "../../capture/agent.js";
import { DEFAULT_AUTH_POLICIES, defaultSubmissionConfig } from "../../config/defaults.js";
import type { ListenerName, SmtpConfig } from "../../config/types.js";
import { createDeliveryAgent } from "../../delivery/agent.js";
import type { DeliveryAgent } from "../../delivery/types.js";
import type { Metrics } from "../../metrics/metrics.js";
import { connectionSetHandler } from "../../net/connection-set.js";
import { upgradeToTls } from "../../net/starttls.js";
import type { ConnectionInfo, ProtocolHandler } from "../../net/types.js";
import { whenWritable } from "../../net/writable.js";
import { createDnsResolver } from "../../queue/dns.js";
import type { ProtocolFactory } from "../../server/deps.js";
import { createInboundFilter, type InboundFilter } from "../../trust/filter.js";
import { createInboundTrust, type InboundTrust } from "../../trust/inbound.js";
import { createRspamdClient } from "../../trust/rspamd.js";
import { formatReply, reply } from "../protocol/reply.js";
import { storeBurlSource } from "./burl.js";
import { type BurlSource, type SessionOutput, SmtpSession, type TlsInfo } from "./session.js";

export interface SmtpHandlerOptions {
  listener: ListenerName;
  hostname: string;
  config: SmtpConfig;
  agent: DeliveryAgent;
  authenticator: Authenticator;
  /** When AUTH is offered; the listener's default (DEFAULT_AUTH_POLICIES) when absent. */
  authPolicy?: AuthPolicy;
  logger: Logger;
  /** For STARTTLS. */
  tls: SecureContext;
  /** Authentication of mail from other MTAs; only the MX listener ("smtp") uses it. */
  trust?: InboundTrust;
  /** Submission listeners take MAIL without AUTH too (capture mode). */
  authOptional?: boolean;
  filter?: InboundFilter;
  /** Counts accepted messages and refused transaction steps, for /metrics. */
  metrics?: Pick<Metrics, "smtpAccepted" | "smtpRefused">;
  /**
   * Milliseconds: the longest RFC 4865 future release the submission listeners offer ([submission]
   * max_future_release); absent or 0, FUTURERELEASE is not offered. The MX listener never offers it.
   */
  maxFutureRelease?: number;
  /** Where the submission listeners' BURL (RFC 4468) reads; absent, BURL is not offered. */
  burl?: BurlSource;
}

/** What each SMTP listener offers: "smtp" is the MX (port 25 role), the other two are for submission. */
const LISTENER_ROLE: Partial<
  Record<ListenerName, { starttls: boolean; authRequired: boolean; submission: boolean }>
> = {
  smtp: { starttls: true, authRequired: false, submission: false },
  submission: { starttls: true, authRequired: true, submission: true },
  submissions: { starttls: false, authRequired: true, submission: true },
};

/** Milliseconds a closing socket may linger for the client to read the last reply. */
const CLOSE_GRACE = 10_000;

function tlsInfo(socket: TLSSocket): TlsInfo {
  return { protocol: socket.getProtocol() ?? "TLS", cipher: socket.getCipher()?.name ?? "unknown" };
}

type Operation = () => Promise<SessionOutput | null>;

class SmtpConnection {
  private socket: Socket | TLSSocket;
  private readonly queue: Operation[] = [];
  private running = false;
  private ended = false;
  private upgrading = false;
  private disposeQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly onData = (chunk: Buffer) => this.enqueue(() => this.session.receive(chunk));

  constructor(
    socket: Socket | TLSSocket,
    private readonly session: SmtpSession,
    private readonly tls: SecureContext,
    private readonly logger: Logger,
    private readonly onGone: () => void,
  ) {
    this.socket = socket;
    this.attach(socket);
    this.enqueue(async () => session.start());
  }

  drain(): void {
    this.enqueue(async () => this.session.drain());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on("data", this.onData);
    socket.on("error", (error) => this.logger.debug({ err: error }, "smtp connection error"));
    socket.once("close", () => this.gone());
  }

  /** The socket closed (or failed its TLS upgrade): stop, and let the session clean up once. */
  private gone(): void {
    if (this.disposeQueued) return;
    this.ended = true;
    this.clearTimer();
    this.queue.length = 0;
    this.queueDispose();
    void this.run();
  }

  private queueDispose(): void {
    if (this.disposeQueued) return;
    this.disposeQueued = true;
    this.queue.push(async () => {
      await this.session.dispose();
      this.onGone();
      return null;
    });
  }

  private enqueue(operation: Operation): void {
    if (this.ended) return;
    this.queue.push(operation);
    this.socket.pause();
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.queue.length > 0) {
      const operation = this.queue.shift()!;
      let output: SessionOutput | null;
      try {
        output = await operation();
      } catch (error) {
        this.logger.error({ err: error }, "smtp session failed");
        output = {
          replies: [formatReply(reply(421, "4.3.0", "Internal error, closing connection; try again later"))],
          effects: [{ kind: "close" }],
        };
      }
      if (output !== null && !this.ended) await this.apply(output);
    }
    this.running = false;
    if (!this.ended && !this.upgrading) {
      this.socket.resume();
      this.schedule();
    }
  }

  private async apply(output: SessionOutput): Promise<void> {
    const replies = output.replies.join("");
    if (replies !== "" && !this.socket.write(replies)) await whenWritable(this.socket);
    for (const effect of output.effects) {
      if (effect.kind === "close") {
        this.close();
        return;
      }
      await this.startTls();
    }
  }

  private close(): void {
    this.ended = true;
    this.queue.length = 0;
    this.clearTimer();
    this.socket.end();
    const socket = this.socket;
    setTimeout(() => socket.destroy(), CLOSE_GRACE).unref();
    this.queueDispose();
  }

  private async startTls(): Promise<void> {
    const plain = this.socket as Socket;
    this.upgrading = true;
    this.queue.length = 0;
    plain.off("data", this.onData);
    // RFC 3207 §4.2: plaintext the client sent after STARTTLS is dropped, never read as commands.
    while (plain.read() !== null);
    this.clearTimer();
    try {
      const secure = await upgradeToTls(plain, this.tls);
      this.socket = secure;
      this.upgrading = false;
      this.attach(secure);
      this.session.tlsStarted(tlsInfo(secure));
    } catch (error) {
      this.logger.debug({ err: error }, "STARTTLS handshake failed");
      this.upgrading = false;
      this.gone();
    }
  }

  private schedule(): void {
    this.clearTimer();
    const deadline = this.session.nextDeadline();
    if (deadline === null) return;
    this.timer = setTimeout(
      () => this.enqueue(() => this.session.tick()),
      Math.max(0, deadline - Date.now()),
    );
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The SMTP ProtocolHandler with a DeliveryAgent of the caller's choosing (tests pass a fake one). */
export function createSmtpHandler(options: SmtpHandlerOptions): ProtocolHandler {
  const role = LISTENER_ROLE[options.listener];
  if (role === undefined) throw new Error(`SMTP cannot serve the "${options.listener}" listener`);
  const authPolicy = options.authPolicy ?? DEFAULT_AUTH_POLICIES[options.listener];
  return connectionSetHandler({
    logger: options.logger,
    goodbye: (reason) =>
      formatReply(
        reason === "shutting-down"
          ? reply(421, "4.3.2", `${options.hostname} Service shutting down, try again later`)
          : reply(421, "4.7.0", `${options.hostname} Too many connections, try again later`),
      ),
    open(socket, info: ConnectionInfo, closed) {
      const logger = options.logger.child({
        proto: "smtp",
        listener: options.listener,
        client: info.remoteAddress,
      });
      const { metrics, listener } = options;
      const secure = info.secure ? tlsInfo(socket as TLSSocket) : null;
      const session = new SmtpSession({
        hostname: options.hostname,
        config: options.config,
        agent: options.agent,
        authenticator: options.authenticator,
        logger,
        remoteAddress: info.remoteAddress,
        tls: secure,
        starttls: role.starttls && !info.secure,
        authPolicy,
        authRequired: role.authRequired && options.authOptional !== true,
        submission: role.submission,
        listener: options.listener,
        ...(options.trust && !role.submission ? { trust: options.trust } : {}),
        ...(options.filter && !role.submission ? { filter: options.filter } : {}),
        ...(role.submission && (options.maxFutureRelease ?? 0) >= 1000
          ? { futureRelease: { maxSeconds: Math.floor((options.maxFutureRelease ?? 0) / 1000) } }
          : {}),
        ...(role.submission && options.burl ? { burl: options.burl } : {}),
        ...(metrics
          ? {
              events: {
                accepted: () => metrics.smtpAccepted(listener),
                refused: (stage, refusal) =>
                  metrics.smtpRefused(listener, stage, refusal.code, refusal.enhanced),
              },
            }
          : {}),
      });
      return new SmtpConnection(socket, session, options.tls, logger, closed);
    },
  });
}

/** The [trust] checks over the [relay] resolver's DNS server, when verification is on. */
function inboundTrust(deps: Parameters<ProtocolFactory>[1]): InboundTrust | undefined {
  const trust = deps.config.trust;
  if (!trust?.verify) return undefined;
  return createInboundTrust({
    hostname: deps.config.hostname,
    blobs: deps.store.blobs,
    resolve: createDnsResolver({ server: deps.config.relay.resolver }),
    policy: { enforceDmarc: trust.enforceDmarc, trustedArcSealers: trust.trustedArcSealers },
    logger: deps.logger.child({ proto: "smtp", component: "trust" }),
    dnsbl: trust.dnsbl,
  });
}

/** Greylisting and rspamd from [filter], when either is on. */
function inboundFilter(deps: Parameters<ProtocolFactory>[1]): InboundFilter | undefined {
  const filter = deps.config.filter;
  if (!filter || (filter.rspamd === null && !filter.greylisting)) return undefined;
  const logger = deps.logger.child({ component: "filter" });
  return createInboundFilter({
    logger,
    blobs: deps.store.blobs,
    ...(filter.rspamd !== null
      ? {
          rspamd: createRspamdClient({
            url: filter.rspamd,
            controllerUrl: filter.rspamdController,
            timeout: filter.rspamdTimeout,
            logger,
          }),
        }
      : {}),
    ...(filter.greylisting
      ? {
          greylist: {
            store: deps.store.greylist,
            delay: filter.greylistDelay,
            expiry: filter.greylistExpiry,
            whitelist: filter.greylistWhitelist,
          },
        }
      : {}),
  });
}

export const smtpProtocol: ProtocolFactory = (listener, deps) => {
  const trust = listener === "smtp" ? inboundTrust(deps) : undefined;
  const agent = createDeliveryAgent({
    store: deps.store,
    logger: deps.logger.child({ proto: "smtp", listener }),
    hostname: deps.config.hostname,
    ...(deps.wakeQueue ? { onQueued: deps.wakeQueue } : {}),
    vacationPeriod: deps.config.smtp.vacationPeriod,
  });
  const filter = listener === "smtp" ? inboundFilter(deps) : undefined;
  return createSmtpHandler({
    listener,
    hostname: deps.config.hostname,
    config: deps.config.smtp,
    agent: deps.capture ? captureAgent(agent, deps.capture.provisioner) : agent,
    // Capture mode: test code may submit on 587 without logging in (it may log in with anything too).
    ...(deps.capture ? { authOptional: true } : {}),
    authenticator: deps.authenticator,
    authPolicy: deps.config.listeners[listener].auth,
    logger: deps.logger,
    tls: deps.tls,
    ...(trust ? { trust } : {}),
    ...(filter ? { filter } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    maxFutureRelease: (deps.config.submission ?? defaultSubmissionConfig()).maxFutureRelease,
    burl: storeBurlSource(deps.store, deps.config.hostname),
  });
};
