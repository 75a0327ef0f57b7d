// Delivery traces (issue 16): each message's timeline, keyed by the id the 250 reply gave ("queued as"),
// for `mailroom trace` and the web admin. Events are opaque to the store beyond the few columns it
// searches by (recipient, the message's sender, times); what an event means is delivery/trace.ts's.
// Traces are kept whole or not at all: prune() removes the timelines whose last event is older than
// the cutoff, never single events, so an old message's trace never loses its beginning.

import { StoreError } from "./errors.js";

export interface TraceEventInput {
  at: Date;
  /** What happened: "session", "recipient", "route", "mailbox", "relay", "dsn", … (delivery/trace.ts). */
  kind: string;
  /** The address the event concerns, when it concerns one; searched lower-cased. */
  recipient?: string | null;
  /** The message's reverse path ("" for <>), given by the event that first names it. */
  sender?: string;
  /** Further facts, as JSON. */
  data: Record<string, unknown>;
}

export interface TraceEvent extends Required<Omit<TraceEventInput, "sender">> {
  messageId: string;
  /** Order of recording within the store; ties of `at` keep this order. */
  seq: number;
}

export interface TraceSummary {
  messageId: string;
  /** Null when no event gave it (a trace begun by the relay alone). */
  sender: string | null;
  firstAt: Date;
  lastAt: Date;
}

export interface TraceQuery {
  /** Traces with an event naming this address (compared lower-cased). */
  recipient?: string;
  /** Traces of messages with this reverse path (compared lower-cased; "" for <>). */
  sender?: string;
  /** Traces with an event at or after this time. */
  since?: Date;
  /** At most this many, newest first. */
  limit: number;
}

export interface TraceStore {
  /** Appends events to the message's trace, all in one transaction; need not be durable at once (below). */
  record(messageId: string, events: readonly TraceEventInput[]): Promise<void>;
  /**
   * Appends events to several messages' traces in one transaction (the relay's batches). Like record(),
   * it need not be durable at once (no fsync waited for): a power loss may lose the last events, which
   * describe mail already handled and are nothing the mail itself depends on.
   */
  recordMany(batch: ReadonlyArray<{ messageId: string; events: readonly TraceEventInput[] }>): Promise<void>;
  /** The message's events in order; empty for an unknown (or pruned) id. */
  getTrace(messageId: string): Promise<TraceEvent[]>;
  /** Summaries of the traces matching the query, the most recently active first. */
  findTraces(query: TraceQuery): Promise<TraceSummary[]>;
  /** Removes every trace whose last event is before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/** Refuses what a column could not hold, before anything is written. */
export function checkTraceEvents(messageId: string, events: readonly TraceEventInput[]): void {
  if (typeof messageId !== "string" || messageId === "") {
    throw new StoreError("invalid", "a trace needs a message id");
  }
  for (const event of events) {
    if (!(event.at instanceof Date) || Number.isNaN(event.at.getTime())) {
      throw new StoreError("invalid", "a trace event needs a valid time");
    }
    if (typeof event.kind !== "string" || event.kind === "") {
      throw new StoreError("invalid", "a trace event needs a kind");
    }
  }
}
