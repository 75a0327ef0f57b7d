// The spam-filter parts of the SQLite store: spam_scans (rspamd's verdict per message) and greylist
// (triplets by key).

import { StoreError } from "../errors.js";
import type { GreylistRecord, GreylistStore, SpamScan, SpamScanStore } from "../types.js";
import type { SqliteDatabase } from "./database.js";

interface ScanRow {
  score: number;
  required_score: number;
  action: string;
  symbols: string;
  scanned_at: number;
}

export class SqliteSpamScans implements SpamScanStore {
  constructor(private readonly database: SqliteDatabase) {}

  recordScan(messageId: string, scan: SpamScan): Promise<void> {
    return this.database.write(() => {
      const result = this.database.run(
        `INSERT INTO spam_scans (message_id, score, required_score, action, symbols, scanned_at)
         SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?)
         ON CONFLICT (message_id) DO UPDATE SET score = excluded.score,
           required_score = excluded.required_score, action = excluded.action,
           symbols = excluded.symbols, scanned_at = excluded.scanned_at`,
        messageId,
        scan.score,
        scan.requiredScore,
        scan.action,
        JSON.stringify(scan.symbols),
        scan.scannedAt.getTime(),
        messageId,
      );
      if (result.changes === 0) throw new StoreError("not-found", `no message ${messageId}`);
    });
  }

  getScan(messageId: string): Promise<SpamScan | undefined> {
    return this.database.read(() => {
      const row = this.database.get<ScanRow>(
        "SELECT score, required_score, action, symbols, scanned_at FROM spam_scans WHERE message_id = ?",
        messageId,
      );
      if (row === undefined) return undefined;
      return {
        score: row.score,
        requiredScore: row.required_score,
        action: row.action,
        symbols: JSON.parse(row.symbols) as string[],
        scannedAt: new Date(row.scanned_at),
      };
    });
  }
}

interface TripletRow {
  first_seen: number;
  last_seen: number;
  passed: number;
}

export class SqliteGreylist implements GreylistStore {
  constructor(private readonly database: SqliteDatabase) {}

  getTriplet(key: string): Promise<GreylistRecord | undefined> {
    return this.database.read(() => {
      const row = this.database.get<TripletRow>(
        "SELECT first_seen, last_seen, passed FROM greylist WHERE key = ?",
        key,
      );
      if (row === undefined) return undefined;
      return {
        firstSeen: new Date(row.first_seen),
        lastSeen: new Date(row.last_seen),
        passed: row.passed === 1,
      };
    });
  }

  putTriplet(key: string, record: GreylistRecord): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `INSERT INTO greylist (key, first_seen, last_seen, passed) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET first_seen = excluded.first_seen,
           last_seen = excluded.last_seen, passed = excluded.passed`,
        key,
        record.firstSeen.getTime(),
        record.lastSeen.getTime(),
        record.passed ? 1 : 0,
      );
    });
  }

  pruneTriplets(before: Date): Promise<number> {
    return this.database.write(
      () => this.database.run("DELETE FROM greylist WHERE last_seen < ?", before.getTime()).changes,
    );
  }
}
