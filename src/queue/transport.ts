// The relay transport: hands one message to a domain's MX hosts with the SMTP client, trying hosts in
// order (RFC 5321 §5.1), and keeps connections open for the next message to the same host.

import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import {
  type ClientEnvelope,
  connectSmtp,
  type Reply,
  SmtpCertificateError,
  SmtpClientError,
  type SmtpClientOptions,
  type SmtpConnection,
} from "../smtp/client/client.js";
import type { EnvelopeDsn, RecipientDsn } from "../store/types.js";
import { type RelayConfig, smarthostParts, usesSmarthost } from "./config.js";
import { mxAllowed, policyLines } from "./mta-sts.js";
import { type MxHost, type MxLookup, RouteError } from "./mx.js";
import type { StsOutcome, StsPolicies } from "./sts-policy.js";
import type { TlsResultType, TlsSessionCount } from "./tls-report.js";

export type Connect = (options: SmtpClientOptions) => Promise<SmtpConnection>;

/** MTA-STS for the transport: the policies, where TLS-RPT counts go, and the CAs MX certificates are checked against. */
export interface TransportSts {
  policies: StsPolicies;
  /** Counts one TLS session (RFC 8460); never throws (a failing store is logged by the caller's function). */
  record(row: TlsSessionCount): void;
  /** The system's roots plus [relay] tls_ca_file; undefined: the system's. */
  ca?: string[];
}

export interface RelayMessage {
  /** The queued message's id; one message to several domains is handed over once per domain. */
  messageId?: string;
  sender: string;
  recipients: Array<{ address: string; dsn: RecipientDsn }>;
  envelopeDsn: EnvelopeDsn;
  /**
   * The body to send (CRLF line ends, without Return-Path): in memory when small, else a function
   * giving a fresh stream of it for each attempt.
   */
  body: Buffer | (() => Readable);
  eightBit: boolean;
}

export type RecipientStatus = "delivered" | "temporary" | "permanent";

export interface RecipientResult {
  address: string;
  status: RecipientStatus;
  /** RFC 3463 code for a DSN. */
  enhanced: string;
  /** The remote's reply as text, or mailroom's reason when there was no reply. */
  detail: string;
  /** Whether `detail` is a reply from the remote (DSN Diagnostic-Code type "smtp"). */
  fromRemote: boolean;
  remoteMta: string | null;
  /** The remote takes over DSN duties (it advertised DSN and got NOTIFY), RFC 3461 §6.2.1. */
  remoteHandlesDsn: boolean;
  /** Whether the transaction with remoteMta ran over TLS; absent when no transaction ran. */
  tls?: boolean;
}

/** What the queue runner hands a message to: the SMTP relay, or capture mode's keeper. */
export interface Transport {
  /** Delivers to the recipients of one domain; never throws: every recipient gets a result. */
  deliver(domain: string, message: RelayMessage): Promise<RecipientResult[]>;
  close(): Promise<void>;
}

interface Failure {
  detail: string;
  enhanced: string;
  fromRemote: boolean;
  remoteMta: string | null;
  permanent: boolean;
}

type HostAttempt = { done: RecipientResult[] } | { failure: Failure };

export function formatReply(reply: Reply): string {
  const text = reply.text.replace(/\s*[\r\n]+\s*/g, " ").trim();
  const enhanced = reply.enhanced !== null && !text.startsWith(reply.enhanced) ? `${reply.enhanced} ` : "";
  return `${reply.code} ${enhanced}${text}`.trim();
}

function enhancedOf(reply: Reply): string {
  return reply.enhanced ?? `${Math.floor(reply.code / 100)}.0.0`;
}

function failureFromError(err: unknown, remoteMta: string): Failure {
  if (err instanceof SmtpClientError) {
    if (err.reply) {
      return {
        detail: formatReply(err.reply),
        enhanced: enhancedOf(err.reply),
        fromRemote: true,
        remoteMta,
        permanent: !err.temporary,
      };
    }
    return {
      detail: `${remoteMta}: ${err.message}`,
      // RFC 3463: 4.4.1 no answer from host, 4.4.2 bad connection.
      enhanced: err.stage === "connect" ? "4.4.1" : "4.4.2",
      fromRemote: false,
      remoteMta,
      permanent: false,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    detail: `${remoteMta}: ${message}`,
    enhanced: "4.3.0",
    fromRemote: false,
    remoteMta,
    permanent: false,
  };
}

const stageOf = (err: unknown): string | null => (err instanceof SmtpClientError ? err.stage : null);

/** Stages before any transaction started: a failure there is the host's, so the next host is tried. */
const SESSION_STAGES = new Set(["connect", "tls", "greeting", "ehlo", "starttls", "auth"]);

/** The RFC 8460 §4.3 result type of a failed verified connection; null when the failure was not TLS's. */
function tlsResultOf(err: unknown): TlsResultType | null {
  if (!(err instanceof SmtpClientError)) return null;
  if (err.stage === "starttls") return "starttls-not-supported";
  if (err.stage !== "tls") return null;
  if (!(err instanceof SmtpCertificateError)) return "validation-failure";
  if (err.certificateCode === "ERR_TLS_CERT_ALTNAME_INVALID") return "certificate-host-mismatch";
  if (err.certificateCode === "CERT_HAS_EXPIRED") return "certificate-expired";
  return "certificate-not-trusted";
}

/** How a host is reached: an MX on the relay port, or the smarthost with its TLS and AUTH. */
interface Route {
  port: number;
  /** Pooled connections are kept apart per security level: a verified one may serve an opportunistic delivery, not the reverse. */
  pool: string;
  open(host: MxHost, address: string): Promise<SmtpConnection>;
  explain(failure: Failure, stage: string | null): Failure;
}

interface IdleConnection {
  connection: SmtpConnection;
  timer: NodeJS.Timeout;
}

export class RelayTransport implements Transport {
  private readonly idle = new Map<string, IdleConnection[]>();
  private closed = false;

  constructor(
    private readonly options: {
      config: RelayConfig;
      heloName: string;
      lookup: MxLookup;
      logger: Logger;
      connect?: Connect;
      sts?: TransportSts;
    },
  ) {}

  /** Delivers to the recipients of one domain; never throws: every recipient gets a result. */
  async deliver(domain: string, message: RelayMessage): Promise<RecipientResult[]> {
    if (usesSmarthost(this.options.config, domain)) return this.viaSmarthost(message);
    let hosts: MxHost[];
    try {
      hosts = await this.options.lookup(domain);
    } catch (err) {
      const route =
        err instanceof RouteError
          ? err
          : new RouteError(`cannot route mail to ${domain}: ${String(err)}`, false, "4.4.3");
      return this.allFailed(message, {
        detail: route.message,
        enhanced: route.status,
        fromRemote: false,
        remoteMta: null,
        permanent: route.permanent,
      });
    }
    const sts: StsOutcome = this.options.sts
      ? await this.options.sts.policies.forDomain(domain)
      : { kind: "none" };
    if (sts.kind === "failed") this.count(domain, sts, "", sts.resultType);
    let route = this.direct;
    if (sts.kind === "policy") {
      const { policy } = sts;
      const allowed = hosts.filter((host) => mxAllowed(policy.mx, host.name));
      for (const host of hosts)
        if (!allowed.includes(host)) this.count(domain, sts, host.name, "validation-failure");
      if (policy.mode === "enforce") {
        if (allowed.length === 0) {
          return this.allFailed(message, {
            detail: `MTA-STS: the enforced policy of ${domain} allows only the MX hosts ${policy.mx.join(", ")}, and none of its MX records (${hosts.map((host) => host.name).join(", ")}) matches; the message waits until one does (the domain's MX records or its policy need fixing)`,
            enhanced: "4.7.5",
            fromRemote: false,
            remoteMta: null,
            permanent: false,
          });
        }
        hosts = allowed;
      }
      route = this.stsRoute(domain, sts);
    }
    let last: Failure | null = null;
    for (const host of hosts) {
      for (const address of host.addresses) {
        const attempt = await this.tryHost(host, address, message, false, route);
        if ("done" in attempt) return attempt.done;
        last = attempt.failure;
        this.options.logger.info(
          { domain, host: host.name, address, error: last.detail },
          "relay: host failed, trying the next",
        );
        if (last.permanent) return this.allFailed(message, last);
      }
    }
    return this.allFailed(
      message,
      last ?? {
        detail: `no MX host of ${domain} could be tried`,
        enhanced: "4.4.1",
        fromRemote: false,
        remoteMta: null,
        permanent: false,
      },
    );
  }

  private async viaSmarthost(message: RelayMessage): Promise<RecipientResult[]> {
    const { config } = this.options;
    const setting = config.smarthost ?? "";
    const parts = smarthostParts(setting);
    if (!parts) {
      return this.allFailed(message, {
        detail: `[relay] smarthost "${setting}" is not "host:port"; fix relay.smarthost`,
        enhanced: "4.3.5",
        fromRemote: false,
        remoteMta: null,
        permanent: false,
      });
    }
    const host: MxHost = { name: parts.host, preference: 0, addresses: [parts.host] };
    const attempt = await this.tryHost(host, parts.host, message, false, this.smarthostRoute(parts.port));
    if ("done" in attempt) return attempt.done;
    this.options.logger.info(
      { smarthost: setting, error: attempt.failure.detail },
      "relay: smarthost failed",
    );
    return this.allFailed(message, attempt.failure);
  }

  private smarthostRoute(port: number): Route {
    const { config, heloName } = this.options;
    const where = `smarthost ${config.smarthost}`;
    return {
      port,
      pool: "smarthost",
      open: async (host) => {
        const auth = config.smarthostUser === null ? undefined : await this.smarthostCredentials();
        const connect = this.options.connect ?? connectSmtp;
        // Never "opportunistic": credentials and mail go to the smarthost only over verified TLS.
        return connect({
          host: host.name,
          port,
          tls: config.smarthostTls,
          heloName,
          ...(auth ? { auth } : {}),
          timeouts: {
            connect: config.connectTimeout,
            command: config.commandTimeout,
            dataEnd: config.dataTimeout,
          },
        });
      },
      explain: (failure, stage) => {
        const hint =
          stage === "auth"
            ? `${where} refused AUTH: ${failure.detail}; check relay.smarthost_user and smarthost_password_file (or MAILROOM_RELAY_SMARTHOST_PASSWORD)`
            : stage === "starttls" || stage === "tls"
              ? `${where}: ${failure.detail}; TLS is required: set smarthost_tls = "implicit" for a TLS port, or trust its certificate`
              : `${where}: ${failure.detail}`;
        return { ...failure, detail: hint };
      },
    };
  }

  private async smarthostCredentials(): Promise<{ user: string; password: string }> {
    const { config } = this.options;
    const user = config.smarthostUser ?? "";
    if (config.smarthostPasswordFile !== null) {
      let text: string;
      try {
        text = await readFile(config.smarthostPasswordFile, "utf8");
      } catch (err) {
        throw new Error(
          `cannot read relay.smarthost_password_file ${config.smarthostPasswordFile} (${(err as NodeJS.ErrnoException).code})`,
        );
      }
      return { user, password: text.split(/\r?\n/)[0] ?? "" };
    }
    if (config.smarthostPassword !== null) return { user, password: config.smarthostPassword };
    throw new Error(
      "relay.smarthost_user is set but no password: set smarthost_password_file or MAILROOM_RELAY_SMARTHOST_PASSWORD",
    );
  }

  /** Closes idle connections politely; later deliveries still work but are no longer pooled. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(
      all.map(async ({ connection, timer }) => {
        clearTimeout(timer);
        await connection.quit().catch(() => connection.destroy());
      }),
    );
  }

  private allFailed(message: RelayMessage, failure: Failure): RecipientResult[] {
    return message.recipients.map((recipient) => ({
      address: recipient.address,
      status: failure.permanent ? "permanent" : "temporary",
      enhanced: failure.enhanced,
      detail: failure.detail,
      fromRemote: failure.fromRemote,
      remoteMta: failure.remoteMta,
      remoteHandlesDsn: false,
    }));
  }

  private async tryHost(
    host: MxHost,
    address: string,
    message: RelayMessage,
    fresh = false,
    route: Route = this.direct,
  ): Promise<HostAttempt> {
    const key = `${address}:${route.port}:${route.pool}`;
    const pooled = fresh ? null : this.takeIdle(key);
    let connection: SmtpConnection;
    if (pooled) {
      connection = pooled;
    } else {
      try {
        connection = await route.open(host, address);
      } catch (err) {
        const failure = route.explain(failureFromError(err, host.name), stageOf(err));
        // A server refusing us before any transaction is that host's problem: try the next one.
        return { failure: { ...failure, permanent: false } };
      }
    }
    const envelope: ClientEnvelope = {
      from: message.sender,
      to: message.recipients.map((recipient) => ({
        address: recipient.address,
        ...(recipient.dsn.notify ? { notify: recipient.dsn.notify } : {}),
        ...(recipient.dsn.orcpt ? { orcpt: recipient.dsn.orcpt } : {}),
      })),
      ...(message.envelopeDsn.ret ? { ret: message.envelopeDsn.ret } : {}),
      ...(message.envelopeDsn.envid ? { envid: message.envelopeDsn.envid } : {}),
      eightBit: message.eightBit,
      smtputf8: /[^\x00-\x7f]/.test(message.sender + message.recipients.map((each) => each.address).join("")),
    };
    try {
      const result = await connection.send(envelope, message.body);
      const remoteHandlesDsn = connection.extensions.has("DSN");
      const tls = connection.secure;
      const results = message.recipients.map((recipient, index): RecipientResult => {
        const outcome =
          result.recipients.find((each) => each.address.toLowerCase() === recipient.address) ??
          result.recipients[index];
        // An accepted recipient's fate is the reply to the data; a refused one's is its RCPT reply.
        const reply = !outcome ? null : outcome.accepted ? result.data : outcome.reply;
        if (!reply) {
          return {
            address: recipient.address,
            status: "temporary",
            enhanced: "4.4.2",
            detail: `${host.name} gave no reply for this recipient`,
            fromRemote: false,
            remoteMta: host.name,
            remoteHandlesDsn: false,
            tls,
          };
        }
        const status: RecipientStatus =
          reply.code < 400 ? "delivered" : reply.code >= 500 ? "permanent" : "temporary";
        return {
          address: recipient.address,
          status,
          enhanced: enhancedOf(reply),
          detail: formatReply(reply),
          fromRemote: true,
          remoteMta: host.name,
          remoteHandlesDsn,
          tls,
        };
      });
      const complete = result.data !== null && result.data.code < 400;
      void this.keep(key, connection, complete);
      return { done: results };
    } catch (err) {
      connection.destroy();
      const stage = err instanceof SmtpClientError ? err.stage : null;
      // A pooled connection the remote closed while idle fails at the first command without a reply:
      // that says nothing about the message, so try once more on a new connection.
      if (pooled && stage === "mail" && err instanceof SmtpClientError && err.reply === null) {
        return this.tryHost(host, address, message, true, route);
      }
      const failure = route.explain(failureFromError(err, host.name), stage);
      if (stage !== null && SESSION_STAGES.has(stage)) return { failure: { ...failure, permanent: false } };
      return { failure };
    }
  }

  private get direct(): Route {
    return {
      port: this.options.config.port,
      pool: "opportunistic",
      open: (host, address) => this.connect(host, address),
      explain: (failure) => failure,
    };
  }

  /**
   * An MX under an MTA-STS policy (RFC 8461 §4.2): STARTTLS and a certificate valid (PKIX) for the MX
   * name. Enforce: a host that fails is not used, so the message is never sent to it in clear. Testing:
   * the failure is counted for TLS-RPT and the message goes as without a policy (§5).
   */
  private stsRoute(domain: string, sts: StsOutcome & { kind: "policy" }): Route {
    const enforce = sts.policy.mode === "enforce";
    return {
      port: this.options.config.port,
      pool: enforce ? "verified" : "sts-testing",
      open: async (host, address) => {
        try {
          const connection = await this.connect(host, address, true);
          this.count(domain, sts, host.name, "");
          return connection;
        } catch (err) {
          const result = tlsResultOf(err);
          if (result === null) throw err;
          this.count(domain, sts, host.name, result);
          if (enforce) throw err;
          this.options.logger.info(
            { domain, host: host.name, result },
            "relay: MTA-STS (testing) check failed; delivering anyway, as the policy's mode asks",
          );
          return this.connect(host, address);
        }
      },
      explain: (failure, stage) =>
        enforce && (stage === "tls" || stage === "starttls")
          ? {
              ...failure,
              enhanced: "4.7.5",
              detail: `MTA-STS: ${domain} enforces TLS with a valid certificate and ${failure.remoteMta} failed it (${failure.detail}); not sent in clear, the message waits for a host that passes`,
            }
          : failure,
    };
  }

  private count(domain: string, sts: StsOutcome, mxHost: string, resultType: TlsResultType): void {
    this.options.sts?.record({
      policyDomain: domain,
      policyType: sts.kind === "policy" ? "sts" : "no-policy-found",
      policyString: sts.kind === "policy" ? policyLines(sts.policy) : [],
      mxHost,
      resultType,
      count: 1,
    });
  }

  private connect(host: MxHost, address: string, verified = false): Promise<SmtpConnection> {
    const { config, heloName } = this.options;
    const connect = this.options.connect ?? connectSmtp;
    const ca = this.options.sts?.ca;
    return connect({
      host: address,
      port: config.port,
      // Without a policy, opportunistic STARTTLS (RFC 3207): MX certificates are rarely verifiable, so
      // encrypt when offered and do not refuse an unverified or absent certificate. Under MTA-STS,
      // STARTTLS is required and the certificate must be valid for the MX name.
      tls: verified ? "starttls" : "opportunistic",
      tlsOptions: verified
        ? { servername: host.name, rejectUnauthorized: true, ...(ca ? { ca } : {}) }
        : { servername: host.name },
      heloName,
      timeouts: {
        connect: config.connectTimeout,
        command: config.commandTimeout,
        dataEnd: config.dataTimeout,
      },
    });
  }

  private takeIdle(key: string): SmtpConnection | null {
    const list = this.idle.get(key);
    const entry = list?.pop();
    if (list && list.length === 0) this.idle.delete(key);
    if (!entry) return null;
    clearTimeout(entry.timer);
    return entry.connection;
  }

  /** Returns a connection to the pool, after RSET when its transaction did not end cleanly. */
  private async keep(key: string, connection: SmtpConnection, complete: boolean): Promise<void> {
    try {
      if (!complete) await connection.reset();
    } catch {
      connection.destroy();
      return;
    }
    const list = this.idle.get(key) ?? [];
    // The pool is keyed by host address, and many domains may share one MX host: up to `concurrency`
    // deliveries can run against it at once, so that many idle connections can be reused.
    if (this.closed || list.length >= this.options.config.concurrency) {
      await connection.quit().catch(() => connection.destroy());
      return;
    }
    const entry: IdleConnection = {
      connection,
      timer: setTimeout(() => {
        const current = this.idle.get(key);
        if (current) {
          const at = current.indexOf(entry);
          if (at !== -1) current.splice(at, 1);
          if (current.length === 0) this.idle.delete(key);
        }
        connection.quit().catch(() => connection.destroy());
      }, this.options.config.idleTimeout),
    };
    entry.timer.unref();
    list.push(entry);
    this.idle.set(key, list);
  }
}
