// The server's recent warnings and errors (issue 16: the web admin's status, `mailroom status`): a ring of
// the last N warn and error log events, kept in memory by the process that logged them — so with several
// nodes on one PostgreSQL database each node has its own. It is fed the same JSON lines the log gets
// (a pino stream), so child loggers' bindings (proto, listener, client) are in each event.
//
// What goes in is what an operator needs to see that something failed, never what a client sent: fields
// whose names speak of secrets or of message content are replaced by "[redacted]", errors keep only their
// type, code and message (no stack), and every value is bounded, so a full ring stays a few hundred KiB.

export const DEFAULT_RECENT_ERRORS = 200;
export const MAX_RECENT_ERRORS = 10_000;

export interface RecentEvent {
  /** ISO 8601, as the log line has it. */
  time: string;
  level: "warn" | "error" | "fatal";
  /** The log line's message: the event's name ("queue: returning to sender"). */
  message: string;
  /** The protocol or part that logged it (smtp, imap, queue…); null when the line names none. */
  proto: string | null;
  /** The line's other fields, redacted and bounded. */
  fields: Record<string, unknown>;
}

export interface RecentEventsSnapshot {
  /** How many events the ring keeps. */
  capacity: number;
  /** Warn and error events seen since the process started. */
  total: number;
  /** Of those, how many were pushed out of the ring by newer ones. */
  dropped: number;
  /** Newest first. */
  events: RecentEvent[];
}

const REDACTED = "[redacted]";
/**
 * Field names that may hold a credential (passwords, app tokens, SASL exchanges, keys) or what a
 * client sent (bodies, headers, command lines): their values never enter the ring.
 */
const SECRET_KEY =
  /pass|secret|token|authoriz|cookie|credential|private|pem|sasl|salt|hash|verifier|nonce|signature|challenge|response|proof/i;
const CONTENT_KEYS = new Set([
  "body",
  "content",
  "raw",
  "payload",
  "text",
  "html",
  "data",
  "header",
  "headers",
  "subject",
  "line",
  "args",
  "arguments",
  "input",
  "literal",
]);
/** pino's own keys, and the bindings that get a place of their own in a RecentEvent. */
const OWN_KEYS = new Set(["time", "level", "msg", "pid", "hostname", "v", "proto"]);

const MAX_STRING = 300;
const MAX_MESSAGE = 500;
const MAX_ARRAY = 10;
const MAX_KEYS = 20;
const MAX_DEPTH = 3;

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function hidden(key: string): boolean {
  return SECRET_KEY.test(key) || CONTENT_KEYS.has(key.toLowerCase());
}

/** A URL's query may carry anything a client put there; the path is enough to tell the request. */
function withoutQuery(value: string): string {
  const at = value.indexOf("?");
  return at === -1 ? value : `${value.slice(0, at)}?[redacted]`;
}

function bounded(key: string, value: unknown, depth: number): unknown {
  if (hidden(key)) return REDACTED;
  if (typeof value === "string") return clip(key === "url" ? withoutQuery(value) : value, MAX_STRING);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[…]";
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ARRAY).map((each) => bounded("", each, depth + 1));
    if (value.length > MAX_ARRAY) kept.push(`[${value.length - MAX_ARRAY} more]`);
    return kept;
  }
  if (key === "err") return errorSummary(value as Record<string, unknown>);
  return boundedObject(value as Record<string, unknown>, depth + 1);
}

function boundedObject(
  object: Record<string, unknown>,
  depth: number,
  skip?: Set<string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, value] of Object.entries(object)) {
    if (skip?.has(key)) continue;
    if (count++ === MAX_KEYS) {
      out["…"] = "more fields left out";
      break;
    }
    out[key] = bounded(key, value, depth);
  }
  return out;
}

/** pino's serialised error: its type, code and message are what tell it apart; the stack stays in the log. */
function errorSummary(error: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof error.type === "string") out.type = error.type;
  if (typeof error.code === "string" || typeof error.code === "number") out.code = error.code;
  if (typeof error.message === "string") out.message = clip(error.message, MAX_STRING);
  return out;
}

const LEVEL_NAMES: Record<number, RecentEvent["level"]> = { 40: "warn", 50: "error", 60: "fatal" };

/** A warn-or-worse log line as a RecentEvent; null for anything else (lower levels, non-JSON). */
export function recentEventOf(line: Record<string, unknown>): RecentEvent | null {
  const level =
    typeof line.level === "number"
      ? LEVEL_NAMES[line.level]
      : line.level === "warn" || line.level === "error" || line.level === "fatal"
        ? line.level
        : undefined;
  if (level === undefined) return null;
  return {
    time: typeof line.time === "string" ? line.time : new Date().toISOString(),
    level,
    message: typeof line.msg === "string" ? clip(line.msg, MAX_MESSAGE) : "",
    proto: typeof line.proto === "string" ? line.proto : null,
    fields: boundedObject(line, 0, OWN_KEYS),
  };
}

export interface RecentEvents {
  /** Records one log line (a parsed object); lines below warn are ignored. */
  record(line: Record<string, unknown>): void;
  snapshot(): RecentEventsSnapshot;
  /** A pino destination: each write is one JSON log line. */
  readonly stream: { write(line: string): void };
}

/** A ring of `capacity` events (0 keeps none, but still counts them). */
export function createRecentEvents(capacity: number): RecentEvents {
  if (!Number.isSafeInteger(capacity) || capacity < 0)
    throw new RangeError("capacity must be a whole number ≥ 0");
  const ring: RecentEvent[] = [];
  /** Where the next event goes once the ring is full. */
  let next = 0;
  let total = 0;
  const record = (line: Record<string, unknown>): void => {
    const event = recentEventOf(line);
    if (event === null) return;
    total++;
    if (capacity === 0) return;
    if (ring.length < capacity) {
      ring.push(event);
      return;
    }
    ring[next] = event;
    next = (next + 1) % capacity;
  };
  return {
    record,
    snapshot() {
      // Oldest is at `next` once full; reading backwards from the one before it gives newest first.
      const events: RecentEvent[] = [];
      for (let i = 1; i <= ring.length; i++) {
        events.push(ring[(next - i + ring.length) % ring.length] as RecentEvent);
      }
      return { capacity, total, dropped: total - ring.length, events };
    },
    stream: {
      write(text: string) {
        // pino writes one line per call; a line that is not JSON (never expected) is not an event.
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed !== null && typeof parsed === "object") record(parsed as Record<string, unknown>);
        } catch {
          return;
        }
      },
    },
  };
}
