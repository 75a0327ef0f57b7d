// The validated configuration, as every part of mailroom sees it. src/config/load.ts builds it from
// defaults, an optional mailroom.toml and MAILROOM_* environment variables; nothing else reads those.

import type { AuthPolicy } from "../auth/policy.js";
import type { RelayConfig } from "../queue/config.js";

export type ListenerName =
  | "smtp"
  | "submission"
  | "submissions"
  | "pop3"
  | "pop3s"
  | "imap"
  | "imaps"
  | "http"
  | "https"
  | "managesieve"
  | "metrics";

export interface ListenerConfig {
  enabled: boolean;
  host: string;
  port: number;
  /** When clients may authenticate on this listener (DEFAULT_AUTH_POLICIES has each default). */
  auth: AuthPolicy;
}

export interface SmtpConfig {
  /** Octets; advertised as SIZE (RFC 1870) and enforced while the body streams in. */
  maxMessageSize: number;
  /** RFC 5321 §4.5.3.1.8 asks that at least 100 be accepted. */
  maxRecipients: number;
  /** Transactions per session (RFC 9422 MAILMAX). */
  maxTransactions: number;
  /** Command line, CRLF included (RFC 5321 §4.5.3.1.4: at least 512). */
  maxCommandLine: number;
  /** Text line inside DATA, CRLF included (RFC 5321 §4.5.3.1.6: at least 1000). */
  maxDataLine: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Protocol errors before 421 and close. */
  maxErrors: number;
  /** Milliseconds. Deadlines per command and for the whole DATA phase (RFC 5321 §4.5.3.2). */
  commandTimeout: number;
  dataTimeout: number;
  /** Milliseconds to wait before the greeting; a client that talks first is dropped. 0 disables. */
  greetingDelay: number;
  /** Accept "MAIL FROM:user@host" without angle brackets (old scripts send it). */
  allowBareAddresses: boolean;
  /** Milliseconds: a vacation auto-reply goes to one sender at most once in this period (RFC 3834 §2). */
  vacationPeriod: number;
}

/**
 * How the SQLite store groups deliveries (store/sqlite/group-commit.ts): the deliveries of one window
 * share a transaction, the groups committed during a WAL fsync share the next one. A delivery still
 * resolves — SMTP still answers 250 — only after the fsync that covers it.
 */
export interface CommitConfig {
  /** Deliveries in one transaction at most. */
  maxBatch: number;
  /** Microseconds the first delivery of a group waits for others (whole ms); 0: the next event-loop turn. */
  maxWaitMicros: number;
}

export interface AuthConfig {
  /** Milliseconds added after each failed authentication, doubling per recent failure from one IP. */
  failureDelay: number;
  /** Failures per IP within failureWindow after which that IP is refused outright until it passes. */
  maxFailuresPerIp: number;
  failureWindow: number;
}

export interface TlsConfig {
  /** PEM files. When both are absent a self-signed certificate is generated into the data dir. */
  cert: string | null;
  key: string | null;
}

export interface ImapConfig {
  /** Milliseconds without a command before "* BYE" and close (RFC 9051 §5.4: at least 30 minutes). */
  idleTimeout: number;
  /** Protocol errors before "* BYE" and close. */
  maxErrors: number;
  /** Command line outside literals, CRLF included (RFC 7162 §4: servers accept at least 8192). */
  maxLineLength: number;
  /** Literal held in memory (every literal but APPEND's, which smtp.maxMessageSize bounds). */
  maxLiteralSize: number;
  /** SEARCH/SORT RETURN (UPDATE) results one session keeps up to date at once (RFC 5267 §4.3.1). */
  maxUpdateContexts: number;
  /** METADATA (RFC 5464): octets of one entry's value; larger ones are refused with [METADATA MAXSIZE]. */
  metadataMaxSize: number;
  /** METADATA entries one user may hold over all mailboxes and the server; more: [METADATA TOOMANY]. */
  metadataMaxEntries: number;
  /** NOTIFY (RFC 5465): changes one session may have waiting to be sent; past it NOTIFICATIONOVERFLOW. */
  notifyMaxPending: number;
}

export interface Pop3Config {
  /** Milliseconds without a command before the connection is dropped (RFC 1939 §3: at least 10 minutes). */
  idleTimeout: number;
  /** Bad commands before the session closes the connection. */
  maxErrors: number;
  /** Command line, CRLF included (RFC 2449 §4: at least 255). */
  maxLineLength: number;
  /** One base64 line of a SASL exchange (RFC 5034 §4), CRLF included. */
  maxSaslLineLength: number;
}

export interface ManageSieveConfig {
  /** Milliseconds without a command before the connection is dropped. */
  idleTimeout: number;
  /** Octets of one command line outside its literals, CRLF included. */
  maxLineLength: number;
  /** Octets of one script (PUTSCRIPT, CHECKSCRIPT; HAVESPACE answers by it). */
  maxScriptSize: number;
  /** Scripts one user may keep. */
  maxScripts: number;
  /** Commands answered NO in a row before the connection is closed with BYE. */
  maxErrors: number;
}

export interface HttpConfig {
  /** Octets of one JSON request body (the JMAP API's maxSizeRequest). */
  maxRequestSize: number;
  /** Octets of one upload (JMAP maxSizeUpload). */
  maxUploadSize: number;
  /** Uploads one account keeps at once before they are used or expire, and their total octets. */
  maxUploadsPerAccount: number;
  maxUploadBytesPerAccount: number;
  /** Milliseconds an uploaded blob is kept when no message uses it (RFC 8620 §6.1: at least 1 hour). */
  uploadExpiry: number;
  /** Milliseconds for a whole request, headers and body, before 408. */
  requestTimeout: number;
  /** Milliseconds an idle keep-alive connection stays open. */
  keepAliveTimeout: number;
  /** Requests one client IP may make per minute before 429. */
  requestsPerMinutePerIp: number;
  /**
   * Let JMAP PushSubscription URLs name loopback, private and link-local addresses, over plain http
   * too. Off: a client could otherwise make the server POST into its own network.
   */
  pushAllowPrivate: boolean;
}

export interface LogConfig {
  level: "debug" | "info" | "warn" | "error";
  /** "auto": human-readable on a TTY, JSON lines otherwise. */
  format: "auto" | "json" | "pretty";
  /** How many warn and error events the server keeps in memory for its status (0: none). */
  recentErrors: number;
}

export interface TrustConfig {
  /** SPF, DKIM, DMARC and ARC checks on mail received on the MX listener (resolved via [relay] resolver). */
  verify: boolean;
  /** Apply the sender domain's DMARC policy (p=reject: 550; p=quarantine: Junk); false only records it. */
  enforceDmarc: boolean;
  /** Domains whose valid ARC seal overrides a DMARC fail (mailing lists, forwarders the admin trusts). */
  trustedArcSealers: string[];
  /** DNS blocklist zones for the connecting address, checked at RCPT (554 5.7.1 with the zone's reason). */
  dnsbl: string[];
}

export interface SubmissionConfig {
  /**
   * Milliseconds: the longest hold a submitting client may ask for (RFC 4865 FUTURERELEASE on 587/465,
   * JMAP maxDelayedSend). 0 turns future release off.
   */
  maxFutureRelease: number;
}

export interface TraceConfig {
  /** Milliseconds a message's delivery trace is kept after its last event; then the server prunes it. */
  retention: number;
}

export interface FilterConfig {
  /** rspamd's normal worker (POST /checkv2), e.g. "http://127.0.0.1:11333"; null: no scanning. */
  rspamd: string | null;
  /** rspamd's controller worker (learnspam/learnham); null: the rspamd host on port 11334. */
  rspamdController: string | null;
  /** Milliseconds a scan may take before the message is accepted unscanned. */
  rspamdTimeout: number;
  /** Greylisting of unauthenticated MX clients by (network, sender, recipient); off by default. */
  greylisting: boolean;
  /** Milliseconds a new triplet is deferred before a retry is accepted. */
  greylistDelay: number;
  /** Milliseconds a triplet is remembered after it was last seen. */
  greylistExpiry: number;
  /** Networks (CIDR) never greylisted. */
  greylistWhitelist: string[];
}

export interface MetricsConfig {
  /** Milliseconds /readyz waits for the store before it reports 503 (and /metrics for its queue gauges). */
  readyTimeout: number;
}

export interface Config {
  hostname: string;
  dataDir: string;
  /** "sqlite" (embedded, under dataDir) or a postgres:// URL. */
  store: string;
  log: LogConfig;
  tls: TlsConfig;
  auth: AuthConfig;
  smtp: SmtpConfig;
  /** IMAP limits; defaultConfig() always fills it (optional only so the seam grows compatibly). */
  imap?: ImapConfig;
  /** POP3 limits; defaultConfig() always fills it (optional only so the seam grows compatibly). */
  pop3?: Pop3Config;
  /** ManageSieve limits; defaultConfig() always fills it (optional only so the seam grows compatibly). */
  managesieve?: ManageSieveConfig;
  /** HTTP and JMAP limits; defaultConfig() always fills it (optional only so the seam grows compatibly). */
  http?: HttpConfig;
  /** The metrics listener's settings; defaultConfig() always fills it (optional so the seam grows compatibly). */
  metrics?: MetricsConfig;
  /** How the outbound queue relays mail to other domains. */
  relay: RelayConfig;
  /** Authentication of MX mail; defaultConfig() always fills it (optional so the seam grows compatibly). */
  trust?: TrustConfig;
  /** Delivery traces; defaultConfig() always fills it (optional so the seam grows compatibly). */
  trace?: TraceConfig;
  /** Submission (587/465 and JMAP); defaultConfig() always fills it (optional so the seam grows compatibly). */
  submission?: SubmissionConfig;
  /** Spam filtering of MX mail; defaultConfig() always fills it (optional so the seam grows compatibly). */
  filter?: FilterConfig;
  /** Group commit of deliveries (SQLite store); defaultConfig() always fills it. */
  commit?: CommitConfig;
  listeners: Record<ListenerName, ListenerConfig>;
  /** Milliseconds that in-flight transactions get to finish on SIGTERM/SIGINT. */
  shutdownTimeout: number;
  /**
   * Developer capture mode (`mailroom dev`, `serve --capture`): every address is a local inbox, any
   * password logs in, nothing leaves. Set by the command line only, never by a file or the
   * environment, so a production config cannot turn a server into an open catcher by accident.
   */
  capture?: boolean;
}
