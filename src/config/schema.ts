// Every settable configuration key, its type and its bounds. load.ts derives the TOML key names
// (snake_case) and the environment variable names (MAILROOM_ + upper snake) from the Config paths here,
// so the three spellings can never drift apart.

import { AUTH_POLICIES } from "../auth/policy.js";
import { MAX_RECENT_ERRORS } from "../log/recent.js";
import { LISTENER_NAMES } from "./defaults.js";

export type FieldKind =
  /** nullable: an empty string means "not set" (null). */
  | { type: "string"; nullable?: boolean }
  | { type: "boolean" }
  | { type: "integer"; min: number; max?: number }
  | { type: "duration"; min: number }
  /** A list of durations: a TOML array, or comma-separated in the environment ("5m,10m,1h"). */
  | { type: "durations"; min: number }
  /** A list of domain names, possibly empty: a TOML array, or comma-separated in the environment. */
  | { type: "domains" }
  /** A list of networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32"; a bare address is /32 or /128). */
  | { type: "networks" }
  | { type: "size"; min: number }
  | { type: "enum"; values: readonly string[] }
  /** A file or directory; relative paths resolve against the config file's directory (or the cwd for env). */
  | { type: "path"; nullable: boolean };

export interface Field {
  /** Property path in Config, e.g. ["smtp", "maxMessageSize"]. */
  path: readonly string[];
  kind: FieldKind;
  /** Shown in errors after "must be", when the type alone does not say enough. */
  rule?: string;
}

const positive = { type: "integer", min: 1 } as const;
const MINUTE = 60_000;

const listenerFields: Field[] = LISTENER_NAMES.flatMap((name) => [
  { path: ["listeners", name, "enabled"], kind: { type: "boolean" } },
  { path: ["listeners", name, "host"], kind: { type: "string" } },
  {
    path: ["listeners", name, "port"],
    // 0 asks the operating system for any free port (the log says which): handy for tests.
    kind: { type: "integer", min: 0, max: 65535 },
    rule: "a port number from 1 to 65535 (or 0 for any free port)",
  },
  { path: ["listeners", name, "auth"], kind: { type: "enum", values: AUTH_POLICIES } },
]);

export const FIELDS: readonly Field[] = [
  { path: ["hostname"], kind: { type: "string" } },
  { path: ["dataDir"], kind: { type: "path", nullable: false } },
  { path: ["store"], kind: { type: "string" } },
  { path: ["shutdownTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["log", "level"], kind: { type: "enum", values: ["debug", "info", "warn", "error"] } },
  { path: ["log", "format"], kind: { type: "enum", values: ["auto", "json", "pretty"] } },
  {
    path: ["log", "recentErrors"],
    kind: { type: "integer", min: 0, max: MAX_RECENT_ERRORS },
    rule: `a number of events from 0 (keep none) to ${MAX_RECENT_ERRORS}`,
  },
  { path: ["tls", "cert"], kind: { type: "path", nullable: true } },
  { path: ["tls", "key"], kind: { type: "path", nullable: true } },
  { path: ["auth", "failureDelay"], kind: { type: "duration", min: 0 } },
  { path: ["auth", "maxFailuresPerIp"], kind: positive },
  { path: ["auth", "failureWindow"], kind: { type: "duration", min: 1 } },
  { path: ["commit", "maxBatch"], kind: positive },
  {
    path: ["commit", "maxWaitMicros"],
    kind: { type: "integer", min: 0, max: 1_000_000 },
    rule: "microseconds from 0 to 1000000",
  },
  { path: ["smtp", "maxMessageSize"], kind: { type: "size", min: 1 } },
  { path: ["smtp", "maxRecipients"], kind: positive },
  { path: ["smtp", "maxTransactions"], kind: positive },
  {
    path: ["smtp", "maxCommandLine"],
    kind: { type: "integer", min: 512 },
    rule: "at least 512 (RFC 5321 §4.5.3.1.4)",
  },
  {
    path: ["smtp", "maxDataLine"],
    kind: { type: "integer", min: 1000 },
    rule: "at least 1000 (RFC 5321 §4.5.3.1.6)",
  },
  { path: ["smtp", "maxConnections"], kind: positive },
  { path: ["smtp", "maxConnectionsPerIp"], kind: positive },
  { path: ["smtp", "maxErrors"], kind: positive },
  { path: ["smtp", "commandTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["smtp", "dataTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["smtp", "greetingDelay"], kind: { type: "duration", min: 0 } },
  { path: ["smtp", "allowBareAddresses"], kind: { type: "boolean" } },
  { path: ["smtp", "vacationPeriod"], kind: { type: "duration", min: 1 } },
  {
    path: ["imap", "idleTimeout"],
    kind: { type: "duration", min: 30 * MINUTE },
    rule: 'a duration of at least 30 minutes, like "30m" or "1h" (RFC 9051 §5.4)',
  },
  { path: ["imap", "maxErrors"], kind: positive },
  {
    path: ["imap", "maxLineLength"],
    kind: { type: "size", min: 8192 },
    rule: 'a size of at least 8192 octets, like "64KiB" (RFC 7162 §4)',
  },
  {
    path: ["imap", "maxLiteralSize"],
    kind: { type: "size", min: 1024 },
    rule: 'a size of at least 1024 octets, like "64KiB" (APPEND is bounded by smtp.max_message_size)',
  },
  { path: ["imap", "maxUpdateContexts"], kind: positive },
  {
    path: ["imap", "metadataMaxSize"],
    kind: { type: "size", min: 1 },
    rule: 'a size like "16KiB"; SETMETADATA values also pass through imap.max_literal_size',
  },
  { path: ["imap", "metadataMaxEntries"], kind: positive },
  { path: ["imap", "notifyMaxPending"], kind: positive },
  {
    path: ["pop3", "idleTimeout"],
    kind: { type: "duration", min: 10 * MINUTE },
    rule: 'a duration of at least 10 minutes, like "10m" or "1h" (RFC 1939 §3)',
  },
  { path: ["pop3", "maxErrors"], kind: positive },
  {
    path: ["pop3", "maxLineLength"],
    kind: { type: "size", min: 255 },
    rule: 'a size of at least 255 octets, like "255" or "1KiB" (RFC 2449 §4)',
  },
  {
    path: ["pop3", "maxSaslLineLength"],
    kind: { type: "size", min: 1024 },
    rule: 'a size of at least 1024 octets, like "8KiB" (room for a SCRAM-SHA-256 exchange, RFC 5034 §4)',
  },
  { path: ["managesieve", "idleTimeout"], kind: { type: "duration", min: MINUTE } },
  {
    path: ["managesieve", "maxLineLength"],
    kind: { type: "size", min: 1024 },
    rule: 'a size of at least 1024 octets, like "8KiB" (room for a SCRAM-SHA-256 exchange)',
  },
  {
    path: ["managesieve", "maxScriptSize"],
    kind: { type: "size", min: 1024 },
    rule: 'a size of at least 1024 octets and at most the engine\'s 1MiB, like "64KiB"',
  },
  { path: ["managesieve", "maxScripts"], kind: positive },
  { path: ["managesieve", "maxErrors"], kind: positive },
  { path: ["http", "maxRequestSize"], kind: { type: "size", min: 1024 } },
  { path: ["http", "maxUploadSize"], kind: { type: "size", min: 1024 } },
  { path: ["http", "maxUploadsPerAccount"], kind: positive },
  { path: ["http", "maxUploadBytesPerAccount"], kind: { type: "size", min: 1024 } },
  {
    path: ["http", "uploadExpiry"],
    kind: { type: "duration", min: 60 * MINUTE },
    rule: 'a duration of at least 1 hour, like "1h" or "24h" (RFC 8620 §6.1)',
  },
  { path: ["http", "requestTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["http", "keepAliveTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["http", "requestsPerMinutePerIp"], kind: positive },
  { path: ["http", "pushAllowPrivate"], kind: { type: "boolean" } },
  { path: ["metrics", "readyTimeout"], kind: { type: "duration", min: 1 } },
  {
    path: ["relay", "port"],
    kind: { type: "integer", min: 1, max: 65535 },
    rule: "a port number from 1 to 65535",
  },
  {
    path: ["relay", "resolver"],
    kind: { type: "string", nullable: true },
    rule: 'a DNS server as "host:port", or "" for the system resolvers',
  },
  { path: ["trust", "verify"], kind: { type: "boolean" } },
  { path: ["trust", "enforceDmarc"], kind: { type: "boolean" } },
  { path: ["trust", "trustedArcSealers"], kind: { type: "domains" } },
  { path: ["trust", "dnsbl"], kind: { type: "domains" } },
  // At least a minute: pruning every trace younger than that would leave nothing to look at.
  { path: ["trace", "retention"], kind: { type: "duration", min: MINUTE } },
  // 0 turns FUTURERELEASE off; RFC 4865 §3 carries the interval in at most 9 digits of seconds.
  {
    path: ["submission", "maxFutureRelease"],
    kind: { type: "duration", min: 0 },
    rule: 'a duration like "7d", or "0" for no future release',
  },
  {
    path: ["filter", "rspamd"],
    kind: { type: "string", nullable: true },
    rule: 'rspamd\'s normal worker as "http://host:port", or "" for no scanning',
  },
  {
    path: ["filter", "rspamdController"],
    kind: { type: "string", nullable: true },
    rule: 'rspamd\'s controller worker as "http://host:port", or "" for the rspamd host on port 11334',
  },
  { path: ["filter", "rspamdTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["filter", "greylisting"], kind: { type: "boolean" } },
  { path: ["filter", "greylistDelay"], kind: { type: "duration", min: 0 } },
  { path: ["filter", "greylistExpiry"], kind: { type: "duration", min: 1 } },
  { path: ["filter", "greylistWhitelist"], kind: { type: "networks" } },
  { path: ["relay", "retrySchedule"], kind: { type: "durations", min: 1 } },
  { path: ["relay", "maxAge"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "delayNotice"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "pollInterval"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "leaseMs"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "concurrency"], kind: positive },
  { path: ["relay", "perDomainConcurrency"], kind: positive },
  { path: ["relay", "connectTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "commandTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "dataTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "idleTimeout"], kind: { type: "duration", min: 1 } },
  {
    path: ["relay", "smarthost"],
    kind: { type: "string", nullable: true },
    rule: 'a relay host as "host:port", or "" to deliver to each domain\'s MX',
  },
  {
    path: ["relay", "smarthostDomains"],
    kind: { type: "string", nullable: true },
    rule: 'recipient domains, comma-separated ("example.net,example.com"), or "" for all',
  },
  { path: ["relay", "smarthostTls"], kind: { type: "enum", values: ["starttls", "implicit"] } },
  { path: ["relay", "smarthostUser"], kind: { type: "string", nullable: true } },
  { path: ["relay", "smarthostPasswordFile"], kind: { type: "path", nullable: true } },
  { path: ["relay", "smarthostPassword"], kind: { type: "string", nullable: true } },
  { path: ["relay", "mtaSts"], kind: { type: "boolean" } },
  { path: ["relay", "tlsCaFile"], kind: { type: "path", nullable: true } },
  {
    path: ["relay", "mtaStsPort"],
    kind: { type: "integer", min: 1, max: 65535 },
    rule: "a port number from 1 to 65535 (443 outside tests)",
  },
  { path: ["relay", "mtaStsFetchTimeout"], kind: { type: "duration", min: 1 } },
  { path: ["relay", "mtaStsMaxPolicySize"], kind: { type: "size", min: 256 } },
  { path: ["relay", "tlsReports"], kind: { type: "boolean" } },
  ...listenerFields,
];

/** Keys that existed once: setting one is an error that names what replaced it. */
export const RETIRED_KEYS: ReadonlyMap<string, string> = new Map([
  [
    "auth.allow_plaintext_on_loopback",
    'each listener has its own policy now: set auth = "tls-or-loopback", "tls", "any" or "off" under ' +
      "[listeners.imap], [listeners.pop3], [listeners.submission] … (README: Authentication per listener)",
  ],
]);

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** "smtp.max_message_size": how the key is spelled in mailroom.toml. */
export function tomlKey(field: Pick<Field, "path">): string {
  return field.path.map(snakeCase).join(".");
}

/** "MAILROOM_SMTP_MAX_MESSAGE_SIZE". */
export function envName(field: Pick<Field, "path">): string {
  return `MAILROOM_${field.path.map((part) => snakeCase(part).toUpperCase()).join("_")}`;
}
