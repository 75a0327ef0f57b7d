// What mailroom measures, in one place: every metric's name, help text and label names, so the set a
// scrape shows is this file. Label values come from fixed vocabularies (protocol names, command
// names the protocol defines, RFC 3463 status classes), never from what a client sent.

import type { QueueStats } from "../store/queue.js";
import { Registry } from "./registry.js";

export type Proto = "smtp" | "imap" | "pop3" | "http" | "managesieve" | "metrics";

/** IMAP command names (RFC 9051 and the extensions mailroom implements); others are counted as "other". */
const IMAP_COMMANDS = new Set([
  "APPEND",
  "AUTHENTICATE",
  "CAPABILITY",
  "CHECK",
  "CLOSE",
  "COMPRESS",
  "COPY",
  "CREATE",
  "DELETE",
  "ENABLE",
  "EXAMINE",
  "EXPUNGE",
  "FETCH",
  "GETMETADATA",
  "GETQUOTA",
  "GETQUOTAROOT",
  "ID",
  "IDLE",
  "LIST",
  "LOGIN",
  "LOGOUT",
  "LSUB",
  "MOVE",
  "NAMESPACE",
  "NOOP",
  "RENAME",
  "SEARCH",
  "SELECT",
  "SETMETADATA",
  "SETQUOTA",
  "SORT",
  "STARTTLS",
  "STATUS",
  "STORE",
  "SUBSCRIBE",
  "THREAD",
  "UID COPY",
  "UID EXPUNGE",
  "UID FETCH",
  "UID MOVE",
  "UID SEARCH",
  "UID SORT",
  "UID STORE",
  "UID THREAD",
  "UNSELECT",
  "UNSUBSCRIBE",
]);

/** POP3 commands (RFC 1939, 2449, 2595, 5034). */
const POP3_COMMANDS = new Set([
  "APOP",
  "AUTH",
  "CAPA",
  "DELE",
  "LIST",
  "NOOP",
  "PASS",
  "QUIT",
  "RETR",
  "RSET",
  "STAT",
  "STLS",
  "TOP",
  "UIDL",
  "USER",
]);

/** RFC 3463 §3: the subject of an enhanced status code, X.<subject>.Z, as a bounded reason label. */
const STATUS_SUBJECTS: Record<string, string> = {
  "0": "other",
  "1": "addressing",
  "2": "mailbox",
  "3": "mail-system",
  "4": "network",
  "5": "protocol",
  "6": "content",
  "7": "security-policy",
};

export type SmtpStage = "mail" | "rcpt" | "data";

export interface Metrics {
  readonly registry: Registry;
  connectionOpened(proto: Proto, listener: string): void;
  connectionClosed(proto: Proto, listener: string): void;
  connectionRefused(proto: Proto, listener: string, reason: string): void;
  /** A session of a logged-in user began (IMAP, POP3) or ended. */
  sessionOpened(proto: Proto): void;
  sessionClosed(proto: Proto): void;
  /** Starts timing one command; the returned function records it. The name is normalised here. */
  commandTimer(proto: "imap" | "pop3" | "managesieve", command: string): () => void;
  smtpAccepted(listener: string): void;
  smtpRefused(listener: string, stage: SmtpStage, code: number, enhanced: string | null): void;
  authFailed(proto: string, reason: "bad-credentials" | "throttled"): void;
  deliveryAttempt(result: "delivered" | "deferred" | "bounced"): void;
  storeTimer(part: string, operation: string): () => void;
  jmapRequest(): () => void;
  /** Reads the queue's size and oldest entry at each scrape. */
  watchQueue(queue: { stats(): Promise<QueueStats> }, now?: () => number): void;
}

/** "imap" command label: the verb (with UID's second word) when IMAP defines it, else "other". */
export function imapCommandLabel(line: string): string {
  const words = line.trim().split(/\s+/, 3);
  // words[0] is the tag.
  const verb = (words[1] ?? "").toUpperCase();
  const name = verb === "UID" ? `UID ${(words[2] ?? "").toUpperCase()}` : verb;
  return IMAP_COMMANDS.has(name) ? name : "other";
}

export function pop3CommandLabel(line: string): string {
  const verb = (line.trim().split(/\s+/, 1)[0] ?? "").toUpperCase();
  return POP3_COMMANDS.has(verb) ? verb : "other";
}

export function refusalReason(enhanced: string | null): string {
  const subject = enhanced?.split(".")[1];
  return (subject !== undefined && STATUS_SUBJECTS[subject]) || "unspecified";
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const connectionsOpen = registry.gauge(
    "mailroom_connections_open",
    "Connections open now, per protocol and listener.",
    ["proto", "listener"],
  );
  const connections = registry.counter(
    "mailroom_connections_total",
    "Connections accepted since start, per protocol and listener.",
    ["proto", "listener"],
  );
  const refused = registry.counter(
    "mailroom_connections_refused_total",
    "Connections refused before the protocol began (limits, shutdown), per reason.",
    ["proto", "listener", "reason"],
  );
  const sessions = registry.gauge(
    "mailroom_sessions_open",
    "Authenticated IMAP and POP3 sessions open now.",
    ["proto"],
  );
  const commands = registry.histogram(
    "mailroom_command_duration_seconds",
    "Time from a command's arrival to its last reply byte written, per protocol and command.",
    ["proto", "command"],
  );
  const accepted = registry.counter(
    "mailroom_smtp_messages_accepted_total",
    "Messages accepted by SMTP (250 after the body), per listener.",
    ["listener"],
  );
  const smtpRefused = registry.counter(
    "mailroom_smtp_refusals_total",
    "SMTP transaction commands refused (MAIL, RCPT, the body), by reply class and RFC 3463 subject.",
    ["listener", "stage", "class", "reason"],
  );
  const authFailures = registry.counter(
    "mailroom_auth_failures_total",
    "Failed authentications per protocol: bad-credentials (wrong name, password or token) or throttled.",
    ["proto", "reason"],
  );
  const deliveries = registry.counter(
    "mailroom_delivery_attempts_total",
    "Attempts to deliver a queued message to a remote host, by result.",
    ["result"],
  );
  const storeOps = registry.histogram(
    "mailroom_store_operation_duration_seconds",
    "Store operation latency, per store part and operation.",
    ["part", "operation"],
  );
  const jmap = registry.histogram(
    "mailroom_jmap_request_duration_seconds",
    "JMAP API requests over HTTP, from the parsed request to its response object.",
  );
  const queueSize = registry.gauge(
    "mailroom_queue_size",
    "Entries in the outbound queue (one per remote recipient), waiting or being delivered.",
  );
  const queueAge = registry.gauge(
    "mailroom_queue_oldest_age_seconds",
    "Age of the oldest entry in the outbound queue; 0 when it is empty.",
  );
  for (const result of ["delivered", "deferred", "bounced"] as const) deliveries.touch({ result });
  for (const proto of ["smtp", "imap", "pop3", "http"])
    for (const reason of ["bad-credentials", "throttled"]) authFailures.touch({ proto, reason });
  for (const proto of ["imap", "pop3"] as const) sessions.set({ proto }, 0);

  return {
    registry,
    connectionOpened(proto, listener) {
      connections.inc({ proto, listener });
      connectionsOpen.inc({ proto, listener });
    },
    connectionClosed(proto, listener) {
      connectionsOpen.dec({ proto, listener });
    },
    connectionRefused(proto, listener, reason) {
      refused.inc({ proto, listener, reason });
    },
    sessionOpened(proto) {
      sessions.inc({ proto });
    },
    sessionClosed(proto) {
      sessions.dec({ proto });
    },
    commandTimer(proto, command) {
      return commands.startTimer({ proto, command });
    },
    smtpAccepted(listener) {
      accepted.inc({ listener });
    },
    smtpRefused(listener, stage, code, enhanced) {
      smtpRefused.inc({
        listener,
        stage,
        class: code >= 500 ? "5xx" : "4xx",
        reason: refusalReason(enhanced),
      });
    },
    authFailed(proto, reason) {
      authFailures.inc({ proto, reason });
    },
    deliveryAttempt(result) {
      deliveries.inc({ result });
    },
    storeTimer(part, operation) {
      return storeOps.startTimer({ part, operation });
    },
    jmapRequest() {
      return jmap.startTimer();
    },
    watchQueue(queue, now = Date.now) {
      registry.collect(async () => {
        const stats = await queue.stats();
        queueSize.set(undefined, stats.size);
        const oldest = stats.oldestCreatedAt?.getTime();
        queueAge.set(undefined, oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
      });
    },
  };
}
