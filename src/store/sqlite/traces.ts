// The traces part of the SQLite store: tables traces (one row per message) and trace_events.

import {
  checkTraceEvents,
  type TraceEvent,
  type TraceEventInput,
  type TraceQuery,
  type TraceStore,
  type TraceSummary,
} from "../traces.js";
import type { SqliteDatabase } from "./database.js";

interface EventRow {
  seq: number;
  message_id: string;
  at: number;
  kind: string;
  recipient: string | null;
  data: string;
}

interface SummaryRow {
  message_id: string;
  sender: string | null;
  first_at: number;
  last_at: number;
}

/** Writes the events inside the caller's transaction (the group commit's, or record()'s). */
export function insertTraceEvents(
  database: SqliteDatabase,
  messageId: string,
  events: readonly TraceEventInput[],
): void {
  if (events.length === 0) return;
  const times = events.map((event) => event.at.getTime());
  const sender = events.find((event) => event.sender !== undefined)?.sender;
  database.run(
    `INSERT INTO traces (message_id, sender, first_at, last_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (message_id) DO UPDATE SET
       sender = coalesce(traces.sender, excluded.sender),
       first_at = min(traces.first_at, excluded.first_at),
       last_at = max(traces.last_at, excluded.last_at)`,
    messageId,
    sender === undefined ? null : sender.toLowerCase(),
    Math.min(...times),
    Math.max(...times),
  );
  for (const event of events) {
    database.run(
      "INSERT INTO trace_events (message_id, at, kind, recipient, data) VALUES (?, ?, ?, ?, ?)",
      messageId,
      event.at.getTime(),
      event.kind,
      event.recipient ? event.recipient.toLowerCase() : null,
      JSON.stringify(event.data ?? {}),
    );
  }
}

export class SqliteTraces implements TraceStore {
  constructor(private readonly database: SqliteDatabase) {}

  record(messageId: string, events: readonly TraceEventInput[]): Promise<void> {
    return this.recordMany([{ messageId, events }]);
  }

  async recordMany(
    batch: ReadonlyArray<{ messageId: string; events: readonly TraceEventInput[] }>,
  ): Promise<void> {
    for (const { messageId, events } of batch) checkTraceEvents(messageId, events);
    if (batch.every(({ events }) => events.length === 0)) return;
    // Relaxed: the relay records a batch every 100 ms, and a held fsync each time stalled its connections.
    await this.database.writeRelaxed(() => {
      for (const { messageId, events } of batch) insertTraceEvents(this.database, messageId, events);
    });
  }

  getTrace(messageId: string): Promise<TraceEvent[]> {
    return this.database.read(() =>
      this.database
        .all<EventRow>("SELECT * FROM trace_events WHERE message_id = ? ORDER BY at, seq", messageId)
        .map(toEvent),
    );
  }

  findTraces(query: TraceQuery): Promise<TraceSummary[]> {
    return this.database.read(() => {
      const recipient = query.recipient?.toLowerCase() ?? null;
      const sender = query.sender?.toLowerCase() ?? null;
      const rows = this.database.all<SummaryRow>(
        `SELECT message_id, sender, first_at, last_at FROM traces
         WHERE last_at >= ?
           AND (? IS NULL OR sender = ?)
           AND (? IS NULL OR message_id IN (SELECT message_id FROM trace_events WHERE recipient = ?))
         ORDER BY last_at DESC, message_id DESC LIMIT ?`,
        query.since?.getTime() ?? 0,
        sender,
        sender,
        recipient,
        recipient,
        Math.max(0, Math.floor(query.limit)),
      );
      return rows.map((row) => ({
        messageId: row.message_id,
        sender: row.sender,
        firstAt: new Date(row.first_at),
        lastAt: new Date(row.last_at),
      }));
    });
  }

  prune(before: Date): Promise<number> {
    return this.database.write(() => {
      const cutoff = before.getTime();
      this.database.run(
        "DELETE FROM trace_events WHERE message_id IN (SELECT message_id FROM traces WHERE last_at < ?)",
        cutoff,
      );
      return this.database.run("DELETE FROM traces WHERE last_at < ?", cutoff).changes;
    });
  }
}

function toEvent(row: EventRow): TraceEvent {
  return {
    seq: row.seq,
    messageId: row.message_id,
    at: new Date(row.at),
    kind: row.kind,
    recipient: row.recipient,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
