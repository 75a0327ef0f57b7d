// The queue part of the SQLite store: one entry per remote recipient, claimed with a lease.

import { randomUUID } from "node:crypto";
import { type QueueEntry, type QueueStats, type QueueStore, StoreError } from "../types.js";
import type { SqliteDatabase } from "./database.js";
import { type QueueRow, toQueueEntry } from "./rows.js";
import { requireDate } from "./validate.js";

export class SqliteQueue implements QueueStore {
  /** Names this instance in queue.claimed_by: the leases it took are the ones it may renew. */
  private readonly claimer = randomUUID();

  constructor(private readonly database: SqliteDatabase) {}

  claim(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]> {
    return this.database.write(() => {
      const at = requireDate(now, "now").getTime();
      if (!Number.isSafeInteger(limit) || limit < 0)
        throw new StoreError("invalid", "the claim limit must be a whole number");
      if (!Number.isFinite(leaseMs) || leaseMs <= 0)
        throw new StoreError("invalid", "the lease must be a positive duration");
      const due = this.database.all<{ id: string }>(
        `SELECT id FROM queue
         WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'delivering' AND claimed_until < ?)
         ORDER BY next_attempt_at, id LIMIT ?`,
        at,
        at,
        limit,
      );
      return due.map((row) =>
        toQueueEntry(
          this.database.get<QueueRow>(
            `UPDATE queue SET state = 'delivering', claimed_until = ?, claimed_by = ?, attempts = attempts + 1
               WHERE id = ? RETURNING *`,
            at + leaseMs,
            this.claimer,
            row.id,
          )!,
        ),
      );
    });
  }

  defer(id: string, nextAttemptAt: Date, error: string, delayNotified?: boolean): Promise<void> {
    return this.database.write(() => {
      const next = requireDate(nextAttemptAt, "the next attempt time").getTime();
      const result =
        delayNotified === undefined
          ? this.database.run(
              `UPDATE queue SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_until = NULL WHERE id = ?`,
              next,
              String(error),
              id,
            )
          : this.database.run(
              `UPDATE queue SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_until = NULL,
                 delay_notified = ? WHERE id = ?`,
              next,
              String(error),
              delayNotified ? 1 : 0,
              id,
            );
      if (result.changes === 0) throw new StoreError("not-found", `queue entry ${id} does not exist`);
    });
  }

  complete(id: string): Promise<void> {
    return this.database.write((effects) => {
      const row = this.database.get<{ message_id: string }>(
        "DELETE FROM queue WHERE id = ? RETURNING message_id",
        id,
      );
      if (!row) throw new StoreError("not-found", `queue entry ${id} does not exist`);
      this.database.dropUnreferenced([row.message_id], effects);
    });
  }

  completeMany(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return Promise.resolve([]);
    // Relaxed: an entry whose removal a power loss undoes is delivered again, never lost (see writeRelaxed).
    return this.database.writeRelaxed((effects) => {
      const removed: string[] = [];
      const messageIds = new Set<string>();
      for (const id of new Set(ids)) {
        const row = this.database.get<{ message_id: string }>(
          "DELETE FROM queue WHERE id = ? RETURNING message_id",
          String(id),
        );
        if (!row) continue;
        removed.push(id);
        messageIds.add(row.message_id);
      }
      this.database.dropUnreferenced(messageIds, effects);
      return removed;
    });
  }

  get(id: string): Promise<QueueEntry | null> {
    return this.database.read(() => {
      const row = this.database.get<QueueRow>("SELECT * FROM queue WHERE id = ?", id);
      return row ? toQueueEntry(row) : null;
    });
  }

  list(): Promise<QueueEntry[]> {
    return this.database.read(() =>
      this.database.all<QueueRow>("SELECT * FROM queue ORDER BY next_attempt_at, id").map(toQueueEntry),
    );
  }

  stats(): Promise<QueueStats> {
    return this.database.read(() => {
      const row = this.database.get<{ size: number; oldest: number | null }>(
        "SELECT count(*) AS size, min(created_at) AS oldest FROM queue",
      );
      return {
        size: row?.size ?? 0,
        oldestCreatedAt: row?.oldest == null ? null : new Date(row.oldest),
      };
    });
  }

  nextDue(): Promise<Date | null> {
    return this.database.read(() => {
      // Each half is one step down the queue_due (state, next_attempt_at) index or a scan of the few
      // entries being delivered.
      const row = this.database.get<{ queued: number | null; leased: number | null }>(
        `SELECT (SELECT min(next_attempt_at) FROM queue WHERE state = 'queued') AS queued,
                (SELECT min(claimed_until) FROM queue WHERE state = 'delivering') AS leased`,
      );
      const times = [row?.queued, row?.leased].filter((t): t is number => t != null);
      return times.length === 0 ? null : new Date(Math.min(...times));
    });
  }

  retry(id?: string): Promise<number> {
    return this.database.write(() => {
      const now = Date.now();
      // A held entry stays held (RFC 4865: not released before its time): it is due at its release.
      const due = "max(?, ifnull(hold_until, 0))";
      const result =
        id === undefined
          ? this.database.run(`UPDATE queue SET next_attempt_at = ${due} WHERE state = 'queued'`, now)
          : this.database.run(
              `UPDATE queue SET next_attempt_at = ${due} WHERE state = 'queued' AND id = ?`,
              now,
              id,
            );
      return result.changes;
    });
  }

  renewLeases(ids: readonly string[], until: Date): Promise<string[]> {
    return this.database.write(() => {
      const at = requireDate(until, "the lease end").getTime();
      const renewed: string[] = [];
      for (const id of new Set(ids)) {
        const row = this.database.get<{ id: string }>(
          `UPDATE queue SET claimed_until = ? WHERE id = ? AND state = 'delivering' AND claimed_by = ?
           RETURNING id`,
          at,
          String(id),
          this.claimer,
        );
        if (row) renewed.push(row.id);
      }
      return renewed;
    });
  }

  cancelMessage(messageId: string): Promise<"canceled" | "in-flight" | "none"> {
    return this.database.write((effects) => {
      const states = this.database.all<{ state: string }>(
        "SELECT state FROM queue WHERE message_id = ?",
        messageId,
      );
      if (states.length === 0) return "none";
      if (states.some((row) => row.state === "delivering")) return "in-flight";
      this.database.run("DELETE FROM queue WHERE message_id = ?", messageId);
      this.database.dropUnreferenced([messageId], effects);
      return "canceled";
    });
  }
}
