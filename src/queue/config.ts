// How the outbound queue relays mail: where to connect, how often to retry, and when to give up.
// The lead maps the configuration file onto this; everything here has a default.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface RelayConfig {
  /** The port remote MX hosts listen on (25; tests point it at a loopback server). */
  port: number;
  /** "host:port" of the DNS server for MX/A/AAAA lookups; null uses the system's resolvers. */
  resolver: string | null;
  /** Milliseconds to wait after the 1st, 2nd, … failed attempt; the last value repeats from then on. */
  retrySchedule: number[];
  /** Milliseconds after acceptance when a still-undelivered message is returned to its sender. */
  maxAge: number;
  /** Milliseconds after acceptance when the sender is told (once) that delivery is delayed. */
  delayNotice: number;
  /** Milliseconds between looks at the queue for due entries. */
  pollInterval: number;
  /** Milliseconds a claimed entry stays reserved for this runner; past it another runner may take it. */
  leaseMs: number;
  /** Deliveries (one message to one domain) in flight at once. */
  concurrency: number;
  /** Deliveries to any one domain in flight at once, so one slow domain cannot take every slot. */
  perDomainConcurrency: number;
  /** EHLO name; the server's hostname when absent. */
  heloName?: string;
  /** Milliseconds to establish the TCP connection. */
  connectTimeout: number;
  /** Milliseconds to wait for each reply (RFC 5321 §4.5.3.2 suggests 5 minutes). */
  commandTimeout: number;
  /** Milliseconds to wait for the reply to the final dot (RFC 5321 §4.5.3.2.6: 10 minutes). */
  dataTimeout: number;
  /** Idle connections kept open for reuse, each for this many milliseconds. */
  idleTimeout: number;
  /** "host:port" every outbound message goes through instead of the MX hosts (when port 25 is blocked). */
  smarthost: string | null;
  /** Comma-separated recipient domains the smarthost is for; null sends all outbound mail through it. */
  smarthostDomains: string | null;
  /** TLS to the smarthost is never optional: STARTTLS required, or TLS from the first byte. */
  smarthostTls: "starttls" | "implicit";
  /** AUTH user name at the smarthost; null sends without AUTH. */
  smarthostUser: string | null;
  /** File holding the password (its first line); MAILROOM_RELAY_SMARTHOST_PASSWORD is the other way. */
  smarthostPasswordFile: string | null;
  smarthostPassword: string | null;
  /** MTA-STS (RFC 8461): look up each recipient domain's policy and apply it; off delivers as before. */
  mtaSts: boolean;
  /**
   * PEM file of CA certificates trusted, besides the system's, for MTA-STS policy fetches and MX
   * certificate checks (a private deployment's own CA; tests). null: the system's roots only.
   */
  tlsCaFile: string | null;
  /** TEST ONLY: the port policies are fetched from. RFC 8461 §3.3 fixes it at 443. */
  mtaStsPort: number;
  /** Milliseconds a policy fetch may take, connection to last byte (RFC 8461 §3.3 suggests a minute). */
  mtaStsFetchTimeout: number;
  /** Bytes a policy file may have (RFC 8461 §3.3 suggests 64 KiB). */
  mtaStsMaxPolicySize: number;
  /** TLS-RPT (RFC 8460): count TLS sessions to domains with a policy and mail the daily reports. */
  tlsReports: boolean;
}

/** "host:port" (IPv6 in brackets) split, or null when it is not that. */
export function smarthostParts(value: string): { host: string; port: number } | null {
  const at = value.lastIndexOf(":");
  const port = Number(value.slice(at + 1));
  const host = value.slice(0, at).replace(/^\[|\]$/g, "");
  return host !== "" && Number.isInteger(port) && port >= 1 && port <= 65535 ? { host, port } : null;
}

/** Whether mail for `domain` goes through the smarthost rather than to the domain's MX hosts. */
export function usesSmarthost(config: RelayConfig, domain: string): boolean {
  if (config.smarthost === null) return false;
  if (config.smarthostDomains === null) return true;
  const listed = config.smarthostDomains.split(",").map((each) => each.trim().toLowerCase());
  return listed.includes(domain.toLowerCase());
}

export function defaultRelayConfig(): RelayConfig {
  return {
    port: 25,
    resolver: null,
    retrySchedule: [5 * MINUTE, 10 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR],
    maxAge: 5 * DAY,
    delayNotice: 4 * HOUR,
    pollInterval: 10 * SECOND,
    leaseMs: 10 * MINUTE,
    concurrency: 20,
    perDomainConcurrency: 4,
    connectTimeout: 30 * SECOND,
    commandTimeout: 5 * MINUTE,
    dataTimeout: 10 * MINUTE,
    idleTimeout: 30 * SECOND,
    smarthost: null,
    smarthostDomains: null,
    smarthostTls: "starttls",
    smarthostUser: null,
    smarthostPasswordFile: null,
    smarthostPassword: null,
    mtaSts: true,
    tlsCaFile: null,
    mtaStsPort: 443,
    mtaStsFetchTimeout: MINUTE,
    mtaStsMaxPolicySize: 64 * 1024,
    tlsReports: true,
  };
}
