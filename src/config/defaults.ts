// The configuration mailroom runs with when nothing is set. Ports sit above 1024 so a first start needs
// no privileges; production deployments move them to 25/587/465/110/995/143/993 in the config file.

import os from "node:os";
import path from "node:path";
import type { AuthPolicy } from "../auth/policy.js";
import { DEFAULT_RECENT_ERRORS } from "../log/recent.js";
import { defaultRelayConfig } from "../queue/config.js";
import type {
  Config,
  HttpConfig,
  ImapConfig,
  ListenerName,
  ManageSieveConfig,
  MetricsConfig,
  Pop3Config,
  SubmissionConfig,
} from "./types.js";

export const LISTENER_NAMES: readonly ListenerName[] = [
  "smtp",
  "submission",
  "submissions",
  "pop3",
  "pop3s",
  "imap",
  "imaps",
  "http",
  "https",
  "managesieve",
  "metrics",
];

/** The protocol each listener speaks: the `proto` of its log lines and metrics. */
export const LISTENER_PROTOCOLS: Readonly<
  Record<ListenerName, "smtp" | "imap" | "pop3" | "http" | "managesieve" | "metrics">
> = {
  smtp: "smtp",
  submission: "smtp",
  submissions: "smtp",
  pop3: "pop3",
  pop3s: "pop3",
  imap: "imap",
  imaps: "imap",
  http: "http",
  https: "http",
  managesieve: "managesieve",
  metrics: "metrics",
};

/**
 * Listeners that speak TLS from the first byte (RFC 8314 §3.3 for submissions, §3.2 for pop3s/imaps;
 * HTTPS by RFC 9110 §4.2.2).
 */
export const IMPLICIT_TLS_LISTENERS: ReadonlySet<ListenerName> = new Set([
  "submissions",
  "pop3s",
  "imaps",
  "https",
]);

export const DEFAULT_PORTS: Readonly<Record<ListenerName, number>> = {
  smtp: 2525,
  submission: 2587,
  submissions: 2465,
  pop3: 2110,
  pop3s: 2995,
  imap: 2143,
  imaps: 2993,
  http: 8025,
  https: 8443,
  // RFC 5804 §1.8: ManageSieve's registered port, already above 1024.
  managesieve: 4190,
  // Next to the port range the Prometheus wiki's default port allocations page keeps for exporters.
  metrics: 9465,
};

/**
 * The safest useful policy per listener: the MX offers no AUTH at all (submission has its own ports),
 * plain submission only after STARTTLS even from loopback, and IMAP/POP3 also in cleartext from
 * loopback, for webmail and fetchers on the same host (HTTP too: a reverse proxy or webmail on the host).
 * Implicit-TLS listeners are always secure.
 */
export const DEFAULT_AUTH_POLICIES: Readonly<Record<ListenerName, AuthPolicy>> = {
  smtp: "off",
  submission: "tls",
  submissions: "tls",
  pop3: "tls-or-loopback",
  pop3s: "tls",
  imap: "tls-or-loopback",
  imaps: "tls",
  http: "tls-or-loopback",
  https: "tls",
  managesieve: "tls-or-loopback",
  // Nothing logs in on the metrics listener; it answers only /metrics, /healthz and /readyz.
  metrics: "off",
};

const KIB = 1024;
const MIB = 1024 * KIB;
const SECOND = 1000;
const MINUTE = 60 * SECOND;

export function defaultImapConfig(): ImapConfig {
  return {
    // RFC 9051 §5.4: an inactivity autologout timer of at least 30 minutes.
    idleTimeout: 30 * MINUTE,
    maxErrors: 20,
    maxLineLength: 64 * KIB,
    // APPEND's message streams to disk under smtp.maxMessageSize; other literals are small strings.
    maxLiteralSize: 64 * KIB,
    // Each re-evaluated as its mailbox changes; RFC 5267 §4.3.1 asks for at least one.
    maxUpdateContexts: 5,
    // Comments and client settings are small; a value must also fit the literal limit to be set.
    metadataMaxSize: 16 * KIB,
    metadataMaxEntries: 1000,
    // Coalesced per mailbox, so only a client that stops reading (or a mass change) gets near it.
    notifyMaxPending: 10_000,
  };
}

export function defaultPop3Config(): Pop3Config {
  return {
    // RFC 1939 §3: an autologout timer of at least 10 minutes.
    idleTimeout: 10 * MINUTE,
    maxErrors: 10,
    // RFC 2449 §4: command lines are at most 255 octets, CRLF included.
    maxLineLength: 255,
    // A SASL response (RFC 5034 §4) can outgrow a command line: a SCRAM client-final with a long name.
    maxSaslLineLength: 8192,
  };
}

export function defaultManageSieveConfig(): ManageSieveConfig {
  return {
    idleTimeout: 30 * MINUTE,
    maxLineLength: 8 * KIB,
    // Pigeonhole's sieve_max_script_size; the engine's own bound (sieve/limits.ts) is the same.
    maxScriptSize: 1 * MIB,
    maxScripts: 32,
    maxErrors: 10,
  };
}

export function defaultHttpConfig(): HttpConfig {
  return {
    maxRequestSize: 10 * MIB,
    maxUploadSize: 50 * MIB,
    maxUploadsPerAccount: 1000,
    maxUploadBytesPerAccount: 500 * MIB,
    // RFC 8620 §6.1 asks for at least an hour; a day lets a slow client finish composing.
    uploadExpiry: 24 * 60 * MINUTE,
    requestTimeout: 5 * MINUTE,
    keepAliveTimeout: 60 * SECOND,
    requestsPerMinutePerIp: 600,
    pushAllowPrivate: false,
  };
}

/** The longest future release (RFC 4865) when [submission] max_future_release is not set: a week. */
export const DEFAULT_MAX_FUTURE_RELEASE = 7 * 24 * 60 * MINUTE;

export function defaultSubmissionConfig(): SubmissionConfig {
  return { maxFutureRelease: DEFAULT_MAX_FUTURE_RELEASE };
}

/** How long a delivery trace is kept after its last event when [trace] retention is not set. */
export const DEFAULT_TRACE_RETENTION = 30 * 24 * 60 * MINUTE;
export function defaultMetricsConfig(): MetricsConfig {
  // Longer than a healthy store ever takes, shorter than a Kubernetes probe's default 1 s × retries.
  return { readyTimeout: 2 * SECOND };
}

export function defaultConfig(options: { hostname?: string; cwd?: string } = {}): Config {
  const listeners = Object.fromEntries(
    // A mail server exists to be reached from other machines, so listen on every interface.
    // Except metrics: what it shows (queue sizes, failure counts) is for the operator's own scraper.
    LISTENER_NAMES.map((name) => [
      name,
      {
        enabled: true,
        host: name === "metrics" ? "127.0.0.1" : "0.0.0.0",
        port: DEFAULT_PORTS[name],
        auth: DEFAULT_AUTH_POLICIES[name],
      },
    ]),
  ) as Config["listeners"];
  return {
    hostname: options.hostname ?? os.hostname(),
    dataDir: path.resolve(options.cwd ?? process.cwd(), "data"),
    store: "sqlite",
    log: { level: "info", format: "auto", recentErrors: DEFAULT_RECENT_ERRORS },
    tls: { cert: null, key: null },
    auth: {
      failureDelay: 1000,
      maxFailuresPerIp: 10,
      failureWindow: 15 * MINUTE,
    },
    smtp: {
      maxMessageSize: 25 * MIB,
      maxRecipients: 100,
      maxTransactions: 100,
      maxCommandLine: 512,
      // RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
      maxDataLine: 1000,
      maxConnections: 500,
      maxConnectionsPerIp: 20,
      maxErrors: 10,
      // RFC 5321 §4.5.3.2 asks servers to wait at least 5 minutes for a command; 10 for the DATA phase.
      commandTimeout: 5 * MINUTE,
      dataTimeout: 10 * MINUTE,
      greetingDelay: 0,
      allowBareAddresses: false,
      // RFC 3834 §2 suggests no more than one reply per sender in a period of several days.
      vacationPeriod: 7 * 24 * 60 * MINUTE,
    },
    imap: defaultImapConfig(),
    pop3: defaultPop3Config(),
    managesieve: defaultManageSieveConfig(),
    http: defaultHttpConfig(),
    metrics: defaultMetricsConfig(),
    relay: defaultRelayConfig(),
    trust: { verify: true, enforceDmarc: true, trustedArcSealers: [], dnsbl: [] },
    trace: { retention: DEFAULT_TRACE_RETENTION },
    submission: defaultSubmissionConfig(),
    filter: {
      rspamd: null,
      rspamdController: null,
      rspamdTimeout: 15 * SECOND,
      greylisting: false,
      // Postgrey's defaults: a retry after 5 minutes passes; a triplet is forgotten after 35 days.
      greylistDelay: 5 * 60 * SECOND,
      greylistExpiry: 35 * 24 * 60 * 60 * SECOND,
      greylistWhitelist: ["127.0.0.0/8", "::1/128"],
    },
    // As store/sqlite/group-commit.ts's own defaults (what the admin CLI's store uses).
    commit: { maxBatch: 256, maxWaitMicros: 0 },
    listeners,
    shutdownTimeout: 10 * SECOND,
  };
}

/**
 * What capture mode changes before the file and the environment are applied (they may still move
 * ports or the data dir): a data directory of its own beside the project, listeners on loopback only
 * (anyone who reaches them reads every captured message), logins in cleartext from there, and no
 * SPF/DKIM/DMARC lookups of what test code sends.
 */
export function applyCaptureDefaults(config: Config, cwd: string = process.cwd()): void {
  config.capture = true;
  config.dataDir = path.resolve(cwd, ".mailroom-dev");
  for (const name of LISTENER_NAMES) {
    config.listeners[name].host = "127.0.0.1";
    config.listeners[name].auth = "any";
  }
  if (config.trust) config.trust.verify = false;
}
