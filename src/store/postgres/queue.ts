// The queue part of the PostgreSQL store: entries claimed with leases, so that several workers on
// several nodes never deliver the same entry twice.

import { randomUUID } from "node:crypto";
import { type QueueEntry, type QueueStats, type QueueStore, StoreError } from "../types.js";
import { dropUnreferencedBlobs, type PostgresDatabase } from "./database.js";
import { type QueueRow, toQueueEntry } from "./rows.js";

export class PostgresQueue implements QueueStore {
  /** Names this node in queue.claimed_by: the leases it took are the ones it may renew. */
  private readonly claimer = randomUUID();

  constructor(private readonly database: PostgresDatabase) {}

  async claim(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]> {
    if (limit <= 0) return [];
    const claimedUntil = new Date(now.getTime() + leaseMs);
    const rows = await this.database.tx(async ({ client }) => {
      // SKIP LOCKED: entries another node is claiming right now are simply not ours to take.
      const result = await client.query<QueueRow>(
        `WITH due AS (
           SELECT id FROM queue
           WHERE (state = 'queued' AND next_attempt_at <= $1) OR (state = 'delivering' AND claimed_until < $1)
           ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE queue q SET state = 'delivering', claimed_until = $3, claimed_by = $4, attempts = q.attempts + 1
         FROM due WHERE q.id = due.id RETURNING q.*`,
        [now, limit, claimedUntil, this.claimer],
      );
      return result.rows;
    });
    return rows
      .map(toQueueEntry)
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id.localeCompare(b.id));
  }

  async defer(id: string, nextAttemptAt: Date, error: string, delayNotified?: boolean): Promise<void> {
    const rows = await this.database.read(
      `UPDATE queue SET state = 'queued', next_attempt_at = $2, last_error = $3, claimed_until = NULL,
         delay_notified = coalesce($4, delay_notified)
       WHERE id = $1 RETURNING id`,
      [id, nextAttemptAt, error, delayNotified ?? null],
    );
    if (rows.length === 0) throw new StoreError("not-found", `no queue entry ${id}`);
  }

  async complete(id: string): Promise<void> {
    await this.database.tx(async (tx) => {
      const removed = await tx.client.query<{ message_id: string }>(
        "DELETE FROM queue WHERE id = $1 RETURNING message_id",
        [id],
      );
      const row = removed.rows[0];
      if (!row) throw new StoreError("not-found", `no queue entry ${id}`);
      await dropUnreferencedBlobs(tx, [row.message_id]);
    });
  }

  async completeMany(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.database.tx(async (tx) => {
      // The commit does not wait for the WAL flush: one a crash of the server undoes brings the entries
      // back and they are sent again, a duplicate (RFC 5321 §6.1), never a loss; the bodies go in the
      // same transaction, so nothing can name a missing body.
      await tx.client.query("SET LOCAL synchronous_commit = off");
      const removed = await tx.client.query<{ id: string; message_id: string }>(
        "DELETE FROM queue WHERE id = ANY($1::text[]) RETURNING id, message_id",
        [[...new Set(ids)]],
      );
      await dropUnreferencedBlobs(
        tx,
        removed.rows.map((row) => row.message_id),
      );
      const gone = new Set(removed.rows.map((row) => row.id));
      return [...new Set(ids)].filter((id) => gone.has(id));
    });
  }

  async get(id: string): Promise<QueueEntry | null> {
    const rows = await this.database.read<QueueRow>("SELECT * FROM queue WHERE id = $1", [id]);
    return rows[0] ? toQueueEntry(rows[0]) : null;
  }

  async list(): Promise<QueueEntry[]> {
    return (await this.database.read<QueueRow>("SELECT * FROM queue ORDER BY created_at, id")).map(
      toQueueEntry,
    );
  }

  async stats(): Promise<QueueStats> {
    const rows = await this.database.read<{ size: string; oldest: Date | null }>(
      "SELECT count(*) AS size, min(created_at) AS oldest FROM queue",
    );
    const row = rows[0];
    return { size: Number(row?.size ?? 0), oldestCreatedAt: row?.oldest ?? null };
  }

  async nextDue(): Promise<Date | null> {
    // least() skips NULLs, so either half may be empty.
    const rows = await this.database.read<{ due: Date | null }>(
      `SELECT least(
         (SELECT min(next_attempt_at) FROM queue WHERE state = 'queued'),
         (SELECT min(claimed_until) FROM queue WHERE state = 'delivering')
       ) AS due`,
    );
    return rows[0]?.due ?? null;
  }

  async retry(id?: string): Promise<number> {
    const now = new Date();
    // A held entry stays held (RFC 4865: not released before its time): it is due at its release.
    const due = "greatest($1::timestamptz, hold_until)";
    const rows =
      id === undefined
        ? await this.database.read(
            `UPDATE queue SET next_attempt_at = ${due} WHERE state = 'queued' RETURNING id`,
            [now],
          )
        : await this.database.read(
            `UPDATE queue SET next_attempt_at = ${due} WHERE state = 'queued' AND id = $2 RETURNING id`,
            [now, id],
          );
    return rows.length;
  }

  async renewLeases(ids: readonly string[], until: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    if (!(until instanceof Date) || Number.isNaN(until.getTime()))
      throw new StoreError("invalid", "the lease end must be a valid date");
    const rows = await this.database.read<{ id: string }>(
      `UPDATE queue SET claimed_until = $2
       WHERE id = ANY($1::text[]) AND state = 'delivering' AND claimed_by = $3 RETURNING id`,
      [[...ids], until, this.claimer],
    );
    return rows.map((row) => row.id);
  }

  cancelMessage(messageId: string): Promise<"canceled" | "in-flight" | "none"> {
    return this.database.tx(async (tx) => {
      // Locked rows cannot be claimed meanwhile (claim skips locked rows), so the check holds to the delete.
      const rows = await tx.client.query<{ state: string }>(
        "SELECT state FROM queue WHERE message_id = $1 FOR UPDATE",
        [messageId],
      );
      if (rows.rows.length === 0) return "none";
      if (rows.rows.some((row) => row.state === "delivering")) return "in-flight";
      await tx.client.query("DELETE FROM queue WHERE message_id = $1", [messageId]);
      await dropUnreferencedBlobs(tx, [messageId]);
      return "canceled";
    });
  }
}
