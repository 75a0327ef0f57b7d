// Delivery traces (issue 16): what each event of a message's timeline means, the recorder that writes
// the relay's events in batches off the delivery path, and a trace as data — its events, one sentence
// each, and where each recipient's mail ended up — for `mailroom trace` and the web admin alike. The
// store keeps the events (store/traces.ts); nothing here knows SQL.
//
// Who records what: the SMTP session and the delivery agent give the commit's events (session,
// recipient verdicts, routing, Sieve, mailboxes, queueing) to `messages.deliver`, in its transaction;
// the queue runner gives each relay attempt, deferral, delivery, bounce and the DSN it sent to a
// TraceRecorder. A trace that cannot be written is logged and dropped: it never costs a message.

import type { Logger } from "pino";
import type { Store, TraceEvent, TraceEventInput, TraceQuery, TraceSummary } from "../store/types.js";

/** The SMTP session (or JMAP request) that brought the message. */
export interface SessionFacts {
  protocol: "smtp" | "jmap";
  /** The listener's name ("smtp", "submission", …), when the message came through one. */
  listener?: string;
  /** The client's address; "" when the protocol adapter does not know it. */
  client: string;
  helo?: string | null;
  /** The TLS protocol ("TLSv1.3"), or null for a cleartext session. */
  tls?: string | null;
  /** The authenticated user, or null. */
  user?: string | null;
}

/** A relay attempt's outcome for one recipient, as the queue runner recorded it. */
export interface RelayFacts {
  queueId: string;
  /** Which attempt this was, counting from 1. */
  attempt: number;
  mx: string | null;
  tls: boolean | null;
  reply: string;
  result: "delivered" | "deferred" | "bounced";
  /** When deferred: the next try. */
  next?: string;
  /** When bounced because the message was too old to retry (RFC 3463 4.4.7). */
  expired?: boolean;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

/** Event constructors: the one place each kind's data is shaped. */
export const traceEvents = {
  session(at: Date, sender: string, facts: SessionFacts): TraceEventInput {
    return { at, kind: "session", sender, data: { ...facts, sender } };
  },
  accepted(at: Date, recipient: string): TraceEventInput {
    return { at, kind: "recipient", recipient, data: { verdict: "accepted" } };
  },
  refused(at: Date, recipient: string, reply: string): TraceEventInput {
    return { at, kind: "recipient", recipient, data: { verdict: "refused", reply } };
  },
  route(at: Date, via: "alias" | "catch-all" | "plus-tag", from: string, to: string): TraceEventInput {
    return { at, kind: "route", recipient: from, data: { via, to } };
  },
  sieve(
    at: Date,
    user: string,
    plan: {
      file: string[];
      redirect: string[];
      discard: boolean;
      reject?: "reject" | "ereject" | null;
      notDone: string[];
    },
  ): TraceEventInput {
    return { at, kind: "sieve", recipient: user, data: { ...plan } };
  },
  mailbox(at: Date, user: string, mailbox: string, junk: boolean): TraceEventInput {
    return { at, kind: "mailbox", recipient: user, data: { mailbox, ...(junk ? { junk: true } : {}) } };
  },
  /** RFC 4865 future release: no recipient gets the message before `until`. */
  held(at: Date, until: Date): TraceEventInput {
    return { at, kind: "held", data: { until: until.toISOString() } };
  },
  /** `local`: a held message's recipient here, delivered into its mailbox at release. */
  queued(at: Date, recipient: string, local = false): TraceEventInput {
    return { at, kind: "queued", recipient, data: local ? { local: true } : {} };
  },
  relay(at: Date, recipient: string, facts: RelayFacts): TraceEventInput {
    return { at, kind: "relay", recipient, data: { ...facts } };
  },
  /** On the reported message's trace: the notice sent about some of its recipients. */
  dsn(at: Date, dsnId: string, action: string, recipients: string[]): TraceEventInput {
    return { at, kind: "dsn", data: { dsn: dsnId, action, recipients } };
  },
  /** On the notice's own trace: which message it reports on. */
  notice(at: Date, about: string, action: string): TraceEventInput {
    return { at, kind: "notice", sender: "", data: { about, action } };
  },
};

/** One event as a sentence, without its time and kind. */
export function describeEvent(event: Pick<TraceEvent, "kind" | "recipient" | "data">): string {
  const data = event.data;
  const who = event.recipient === null ? "" : `<${event.recipient}>`;
  switch (event.kind) {
    case "session": {
      const parts = [
        `<${text(data.sender)}> by ${text(data.protocol) || "smtp"}${data.listener ? ` on ${text(data.listener)}` : ""}${data.client ? ` from ${text(data.client)}` : ""}`,
      ];
      if (data.helo) parts.push(`HELO ${text(data.helo)}`);
      // JMAP's adapter does not say: then nothing is claimed either way.
      if (data.tls) parts.push(`TLS ${text(data.tls)}`);
      else if (data.tls === null) parts.push("no TLS");
      parts.push(data.user ? `user ${text(data.user)}` : "not authenticated");
      return parts.join(", ");
    }
    case "recipient":
      return data.verdict === "refused" ? `${who} refused: ${text(data.reply)}` : `${who} accepted`;
    case "route":
      return `${who} → <${text(data.to)}> (${text(data.via)})`;
    case "sieve": {
      const parts: string[] = [];
      const file = Array.isArray(data.file) ? (data.file as string[]) : [];
      const redirect = Array.isArray(data.redirect) ? (data.redirect as string[]) : [];
      const notDone = Array.isArray(data.notDone) ? (data.notDone as string[]) : [];
      if (file.length > 0) parts.push(`fileinto ${file.join(", ")}`);
      if (redirect.length > 0) parts.push(`redirect to ${redirect.map((each) => `<${each}>`).join(", ")}`);
      if (data.discard === true && file.length === 0) parts.push("discard");
      if (typeof data.reject === "string") parts.push(`${data.reject} (the sender is told)`);
      if (notDone.length > 0) parts.push(`not carried out: ${notDone.join(", ")} (kept)`);
      return `${who} Sieve: ${parts.join("; ") || "keep"}`;
    }
    case "mailbox":
      return `${who} delivered into ${text(data.mailbox)}${data.junk ? " (quarantined: DMARC)" : ""}`;
    case "held":
      return `held until ${text(data.until)} (future release, RFC 4865): nothing is delivered before then`;
    case "queued":
      return data.local === true
        ? `${who} queued until its release, then delivered here`
        : `${who} queued for relay`;
    case "relay": {
      const where = data.mx
        ? ` via ${text(data.mx)}${data.tls === true ? " (TLS)" : data.tls === false ? " (no TLS)" : ""}`
        : "";
      const attempt = `attempt ${Number(data.attempt ?? 0)}`;
      const reply = text(data.reply);
      if (data.result === "delivered") return `${who} delivered${where}, ${attempt}: ${reply}`;
      if (data.result === "deferred") {
        return `${who} deferred${where}, ${attempt}: ${reply}; next try ${text(data.next)}`;
      }
      return `${who} bounced${data.expired ? " (too old to retry)" : ""}${where}, ${attempt}: ${reply}`;
    }
    case "dsn": {
      const recipients = Array.isArray(data.recipients) ? (data.recipients as string[]) : [];
      return `DSN ${text(data.dsn)} (${text(data.action)}) sent to the sender for ${recipients.map((each) => `<${each}>`).join(", ")}`;
    }
    case "notice":
      return `delivery notice (${text(data.action)}) about message ${text(data.about)}`;
    default:
      return `${who} ${JSON.stringify(data)}`.trim();
  }
}

export interface RecipientOutcome {
  address: string;
  /** Where it stands: delivered (a mailbox or a remote MX), refused, routed on, bounced, or waiting. */
  state:
    | "delivered"
    | "refused"
    | "routed"
    | "bounced"
    | "deferred"
    | "queued"
    | "accepted"
    | "discarded"
    | "rejected";
  /** The last event's sentence. */
  detail: string;
  /** The DSN that reported this recipient, if any. */
  dsn: string | null;
}

export interface MessageTrace {
  messageId: string;
  sender: string | null;
  events: Array<TraceEvent & { text: string }>;
  recipients: RecipientOutcome[];
  /** The ids of the delivery notices this message caused. */
  dsns: string[];
}

/** Where each recipient ended up, in the order they first appear. Pure. */
export function summarize(events: readonly TraceEvent[]): RecipientOutcome[] {
  const outcomes = new Map<string, RecipientOutcome>();
  const set = (address: string, state: RecipientOutcome["state"], event: TraceEvent): void => {
    const known = outcomes.get(address);
    outcomes.set(address, { address, state, detail: describeEvent(event), dsn: known?.dsn ?? null });
  };
  for (const event of events) {
    const address = event.recipient;
    const data = event.data;
    if (event.kind === "dsn") {
      const recipients = Array.isArray(data.recipients) ? (data.recipients as string[]) : [];
      for (const each of recipients) {
        const known = outcomes.get(each.toLowerCase());
        if (known) known.dsn = text(data.dsn);
      }
      continue;
    }
    if (address === null) continue;
    switch (event.kind) {
      case "recipient":
        set(address, data.verdict === "refused" ? "refused" : "accepted", event);
        break;
      case "route":
        set(address, "routed", event);
        break;
      case "sieve": {
        const file = Array.isArray(data.file) ? data.file.length : 0;
        const redirect = Array.isArray(data.redirect) ? data.redirect.length : 0;
        if (typeof data.reject === "string") set(address, "rejected", event);
        else if (file === 0 && redirect === 0) set(address, "discarded", event);
        break;
      }
      case "mailbox":
        set(address, "delivered", event);
        break;
      case "queued":
        set(address, "queued", event);
        break;
      case "relay":
        set(
          address,
          data.result === "delivered" ? "delivered" : data.result === "bounced" ? "bounced" : "deferred",
          event,
        );
        break;
    }
  }
  return [...outcomes.values()];
}

/** A message's trace as data; null when the store has none for the id (unknown, or pruned). */
export async function loadTrace(
  store: Pick<Store, "traces">,
  messageId: string,
): Promise<MessageTrace | null> {
  const events = await store.traces.getTrace(messageId);
  if (events.length === 0) return null;
  const session = events.find((event) => event.kind === "session" || event.kind === "notice");
  const dsns = events.filter((event) => event.kind === "dsn").map((event) => text(event.data.dsn));
  return {
    messageId,
    sender: session === undefined ? null : session.kind === "notice" ? "" : text(session.data.sender),
    events: events.map((event) => ({ ...event, text: describeEvent(event) })),
    recipients: summarize(events),
    dsns,
  };
}

/** The traces matching a query, each with its data, the most recently active first. */
export async function searchTraces(
  store: Pick<Store, "traces">,
  query: TraceQuery,
): Promise<Array<MessageTrace & { summary: TraceSummary }>> {
  const found = await store.traces.findTraces(query);
  const traces: Array<MessageTrace & { summary: TraceSummary }> = [];
  for (const summary of found) {
    const trace = await loadTrace(store, summary.messageId);
    if (trace !== null) traces.push({ ...trace, sender: summary.sender, summary });
  }
  return traces;
}

export interface TraceRecorder {
  /** Queues events for a message's trace; written with others shortly after. Never throws. */
  add(messageId: string, events: TraceEventInput[]): void;
  /** Writes what is queued now (the runner's stop, and tests). Never rejects. */
  flush(): Promise<void>;
}

/** Events kept waiting at most: past it new ones are dropped (and counted in the log), not buffered. */
export const MAX_PENDING_TRACE_EVENTS = 10_000;

/**
 * A recorder that writes queued events in one `recordMany` transaction per batch, `delayMs` after the
 * first of the batch, so relay outcomes cost no round trip of their own on the delivery path.
 */
export function createTraceRecorder(options: {
  store: Pick<Store, "traces">;
  logger: Logger;
  delayMs?: number;
}): TraceRecorder {
  const { store, logger } = options;
  const delayMs = options.delayMs ?? 100;
  let pending: Array<{ messageId: string; events: TraceEventInput[] }> = [];
  let count = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  const write = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    count = 0;
    if (dropped > 0) {
      logger.warn({ dropped }, "trace: events dropped, the store was not keeping up");
      dropped = 0;
    }
    if (batch.length === 0) return writing;
    writing = writing.then(() =>
      store.traces
        .recordMany(batch)
        .catch((err: unknown) =>
          logger.warn({ err, messages: batch.length }, "trace: events not recorded; delivery is unaffected"),
        ),
    );
    return writing;
  };

  return {
    add(messageId, events) {
      if (events.length === 0) return;
      if (count + events.length > MAX_PENDING_TRACE_EVENTS) {
        dropped += events.length;
        return;
      }
      pending.push({ messageId, events });
      count += events.length;
      if (timer === null) {
        timer = setTimeout(() => void write(), delayMs);
        timer.unref();
      }
    },
    flush: () => write(),
  };
}

/** How often `serve` prunes traces past `[trace] retention`. */
export const TRACE_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Prunes traces whose last event is older than `retention` now and then every interval. Every node
 * may run it: a second prune finds nothing. A failed prune is logged and tried at the next interval.
 */
export function startTracePruner(options: {
  store: Pick<Store, "traces">;
  logger: Logger;
  retention: number;
  intervalMs?: number;
  now?: () => Date;
}): { stop(): Promise<void> } {
  const { store, logger, retention } = options;
  const now = options.now ?? (() => new Date());
  let running: Promise<void> = Promise.resolve();
  const prune = (): void => {
    running = running.then(async () => {
      try {
        const removed = await store.traces.prune(new Date(now().getTime() - retention));
        if (removed > 0) logger.info({ removed }, "trace: pruned delivery traces past their retention");
      } catch (err) {
        logger.warn({ err }, "trace: pruning delivery traces failed; trying again later");
      }
    });
  };
  prune();
  const timer = setInterval(prune, options.intervalMs ?? TRACE_PRUNE_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
