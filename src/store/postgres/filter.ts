// The spam-filter parts of the PostgreSQL store: spam_scans (rspamd's verdict per message) and
// greylist (triplets by key, shared by every node).

import { StoreError } from "../errors.js";
import type { GreylistRecord, GreylistStore, SpamScan, SpamScanStore } from "../types.js";
import type { PostgresDatabase } from "./database.js";

export class PostgresSpamScans implements SpamScanStore {
  constructor(private readonly database: PostgresDatabase) {}

  async recordScan(messageId: string, scan: SpamScan): Promise<void> {
    const rows = await this.database.read(
      `INSERT INTO spam_scans (message_id, score, required_score, action, symbols, scanned_at)
       SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM blobs WHERE id = $1)
       ON CONFLICT (message_id) DO UPDATE SET score = excluded.score,
         required_score = excluded.required_score, action = excluded.action,
         symbols = excluded.symbols, scanned_at = excluded.scanned_at
       RETURNING 1`,
      [messageId, scan.score, scan.requiredScore, scan.action, scan.symbols, scan.scannedAt],
    );
    if (rows.length === 0) throw new StoreError("not-found", `no message ${messageId}`);
  }

  async getScan(messageId: string): Promise<SpamScan | undefined> {
    const [row] = await this.database.read<{
      score: number;
      required_score: number;
      action: string;
      symbols: string[];
      scanned_at: Date;
    }>("SELECT score, required_score, action, symbols, scanned_at FROM spam_scans WHERE message_id = $1", [
      messageId,
    ]);
    if (row === undefined) return undefined;
    return {
      score: row.score,
      requiredScore: row.required_score,
      action: row.action,
      symbols: row.symbols,
      scannedAt: row.scanned_at,
    };
  }
}

export class PostgresGreylist implements GreylistStore {
  constructor(private readonly database: PostgresDatabase) {}

  async getTriplet(key: string): Promise<GreylistRecord | undefined> {
    const [row] = await this.database.read<{ first_seen: Date; last_seen: Date; passed: boolean }>(
      "SELECT first_seen, last_seen, passed FROM greylist WHERE key = $1",
      [key],
    );
    return row === undefined
      ? undefined
      : { firstSeen: row.first_seen, lastSeen: row.last_seen, passed: row.passed };
  }

  async putTriplet(key: string, record: GreylistRecord): Promise<void> {
    await this.database.read(
      `INSERT INTO greylist (key, first_seen, last_seen, passed) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen,
         last_seen = excluded.last_seen, passed = excluded.passed`,
      [key, record.firstSeen, record.lastSeen, record.passed],
    );
  }

  async pruneTriplets(before: Date): Promise<number> {
    const rows = await this.database.read("DELETE FROM greylist WHERE last_seen < $1 RETURNING 1", [before]);
    return rows.length;
  }
}
