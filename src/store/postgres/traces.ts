// The traces part of the PostgreSQL store: tables traces (one row per message) and trace_events.

import type pg from "pg";
import {
  checkTraceEvents,
  type TraceEvent,
  type TraceEventInput,
  type TraceQuery,
  type TraceStore,
  type TraceSummary,
} from "../traces.js";
import type { PostgresDatabase, Tx } from "./database.js";

interface EventRow {
  seq: string;
  message_id: string;
  at: Date;
  kind: string;
  recipient: string | null;
  data: Record<string, unknown>;
}

interface SummaryRow {
  message_id: string;
  sender: string | null;
  first_at: Date;
  last_at: Date;
}

/** Writes the events inside the caller's transaction (deliver()'s, or record()'s). */
export async function insertTraceEvents(
  client: pg.ClientBase,
  messageId: string,
  events: readonly TraceEventInput[],
): Promise<void> {
  if (events.length === 0) return;
  const times = events.map((event) => event.at.getTime());
  const sender = events.find((event) => event.sender !== undefined)?.sender;
  await client.query(
    `INSERT INTO traces (message_id, sender, first_at, last_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (message_id) DO UPDATE SET
       sender = coalesce(traces.sender, excluded.sender),
       first_at = least(traces.first_at, excluded.first_at),
       last_at = greatest(traces.last_at, excluded.last_at)`,
    [
      messageId,
      sender === undefined ? null : sender.toLowerCase(),
      new Date(Math.min(...times)),
      new Date(Math.max(...times)),
    ],
  );
  const rows = events.map((event) => ({
    at: event.at.toISOString(),
    kind: event.kind,
    recipient: event.recipient ? event.recipient.toLowerCase() : null,
    data: event.data ?? {},
  }));
  // WITH ORDINALITY keeps the given order in seq, which orders events recorded at the same instant.
  await client.query(
    `INSERT INTO trace_events (message_id, at, kind, recipient, data)
     SELECT $1, (e->>'at')::timestamptz, e->>'kind', e->>'recipient', e->'data'
     FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
    [messageId, JSON.stringify(rows)],
  );
}

/** The same inside a savepoint: a trace that fails leaves the rest of the transaction as it was. */
export async function insertTraceEventsSafely(
  tx: Tx,
  messageId: string,
  events: readonly TraceEventInput[],
): Promise<unknown> {
  if (events.length === 0) return null;
  await tx.client.query("SAVEPOINT trace_events");
  try {
    await insertTraceEvents(tx.client, messageId, events);
    await tx.client.query("RELEASE SAVEPOINT trace_events");
    return null;
  } catch (error) {
    await tx.client.query("ROLLBACK TO SAVEPOINT trace_events");
    return error;
  }
}

export class PostgresTraces implements TraceStore {
  constructor(private readonly database: PostgresDatabase) {}

  record(messageId: string, events: readonly TraceEventInput[]): Promise<void> {
    return this.recordMany([{ messageId, events }]);
  }

  async recordMany(
    batch: ReadonlyArray<{ messageId: string; events: readonly TraceEventInput[] }>,
  ): Promise<void> {
    for (const { messageId, events } of batch) checkTraceEvents(messageId, events);
    if (batch.every(({ events }) => events.length === 0)) return;
    // Message ids in a fixed order, so two nodes recording for the same messages cannot deadlock.
    const ordered = [...batch].sort((a, b) => (a.messageId < b.messageId ? -1 : 1));
    await this.database.tx(async (tx) => {
      // Not waiting for the WAL flush: a crash may lose the last events, never mail (see TraceStore).
      await tx.client.query("SET LOCAL synchronous_commit = off");
      for (const { messageId, events } of ordered) await insertTraceEvents(tx.client, messageId, events);
    });
  }

  async getTrace(messageId: string): Promise<TraceEvent[]> {
    const rows = await this.database.read<EventRow>(
      "SELECT * FROM trace_events WHERE message_id = $1 ORDER BY at, seq",
      [messageId],
    );
    return rows.map((row) => ({
      seq: Number(row.seq),
      messageId: row.message_id,
      at: row.at,
      kind: row.kind,
      recipient: row.recipient,
      data: row.data,
    }));
  }

  async findTraces(query: TraceQuery): Promise<TraceSummary[]> {
    const rows = await this.database.read<SummaryRow>(
      `SELECT message_id, sender, first_at, last_at FROM traces
       WHERE last_at >= $1
         AND ($2::text IS NULL OR sender = $2)
         AND ($3::text IS NULL OR message_id IN (SELECT message_id FROM trace_events WHERE recipient = $3))
       ORDER BY last_at DESC, message_id DESC LIMIT $4`,
      [
        query.since ?? new Date(0),
        query.sender?.toLowerCase() ?? null,
        query.recipient?.toLowerCase() ?? null,
        Math.max(0, Math.floor(query.limit)),
      ],
    );
    return rows.map((row) => ({
      messageId: row.message_id,
      sender: row.sender,
      firstAt: row.first_at,
      lastAt: row.last_at,
    }));
  }

  async prune(before: Date): Promise<number> {
    const rows = await this.database.read("DELETE FROM traces WHERE last_at < $1 RETURNING 1", [before]);
    return rows.length;
  }
}
