// The push subscriptions part of the SQLite store.

import { StoreError } from "../errors.js";
import type {
  NewPushSubscription,
  PushSubscriptionPatch,
  PushSubscriptionRecord,
  PushSubscriptionStore,
} from "../push-subscriptions.js";
import type { SqliteDatabase } from "./database.js";

interface Row {
  id: string;
  user_id: number;
  device_client_id: string;
  url: string;
  keys: string | null;
  verification_hash: string;
  verification_code: string | null;
  expires_at: number;
  types: string | null;
}

function toRecord(row: Row): PushSubscriptionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    deviceClientId: row.device_client_id,
    url: row.url,
    keys: row.keys === null ? null : JSON.parse(row.keys),
    verificationHash: row.verification_hash,
    verificationCode: row.verification_code,
    expires: new Date(row.expires_at),
    types: row.types === null ? null : JSON.parse(row.types),
  };
}

export class SqlitePushSubscriptions implements PushSubscriptionStore {
  constructor(private readonly database: SqliteDatabase) {}

  createPushSubscription(
    userId: number,
    subscription: NewPushSubscription,
    limits: { max: number; now: Date },
  ): Promise<PushSubscriptionRecord> {
    return this.database.write(() => {
      if (!this.database.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `no user with id ${userId}`);
      }
      if (this.database.get("SELECT 1 FROM push_subscriptions WHERE id = ?", subscription.id)) {
        throw new StoreError("exists", `a push subscription with id ${subscription.id} already exists`);
      }
      const now = limits.now.getTime();
      this.database.run("DELETE FROM push_subscriptions WHERE user_id = ? AND expires_at <= ?", userId, now);
      const held = this.database.get<{ count: number }>(
        "SELECT count(*) AS count FROM push_subscriptions WHERE user_id = ?",
        userId,
      );
      if ((held?.count ?? 0) >= limits.max) {
        throw new StoreError("full", `at most ${limits.max} push subscriptions per user`);
      }
      this.database.run(
        `INSERT INTO push_subscriptions
           (id, user_id, device_client_id, url, keys, verification_hash, expires_at, types)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        subscription.id,
        userId,
        subscription.deviceClientId,
        subscription.url,
        subscription.keys === null ? null : JSON.stringify(subscription.keys),
        subscription.verificationHash,
        subscription.expires.getTime(),
        subscription.types === null ? null : JSON.stringify(subscription.types),
      );
      return { ...subscription, userId, verificationCode: null };
    });
  }

  listPushSubscriptions(userId: number, now: Date): Promise<PushSubscriptionRecord[]> {
    return this.database.read(() =>
      this.database
        .all<Row>(
          "SELECT * FROM push_subscriptions WHERE user_id = ? AND expires_at > ? ORDER BY rowid",
          userId,
          now.getTime(),
        )
        .map(toRecord),
    );
  }

  listVerifiedPushSubscriptions(now: Date): Promise<PushSubscriptionRecord[]> {
    return this.database.read(() =>
      this.database
        .all<Row>(
          "SELECT * FROM push_subscriptions WHERE verification_code IS NOT NULL AND expires_at > ? ORDER BY rowid",
          now.getTime(),
        )
        .map(toRecord),
    );
  }

  updatePushSubscription(
    userId: number,
    id: string,
    patch: PushSubscriptionPatch,
  ): Promise<PushSubscriptionRecord | null> {
    return this.database.write(() => {
      const row = this.database.get<Row>(
        "SELECT * FROM push_subscriptions WHERE user_id = ? AND id = ?",
        userId,
        id,
      );
      if (row === undefined) return null;
      const updated = { ...toRecord(row), ...patch };
      this.database.run(
        "UPDATE push_subscriptions SET verification_code = ?, expires_at = ?, types = ? WHERE id = ?",
        updated.verificationCode,
        updated.expires.getTime(),
        updated.types === null ? null : JSON.stringify(updated.types),
        id,
      );
      return updated;
    });
  }

  destroyPushSubscription(userId: number, id: string): Promise<boolean> {
    return this.database.write(
      () =>
        this.database.run("DELETE FROM push_subscriptions WHERE user_id = ? AND id = ?", userId, id).changes >
        0,
    );
  }

  removeExpiredPushSubscriptions(now: Date): Promise<number> {
    return this.database.write(
      () => this.database.run("DELETE FROM push_subscriptions WHERE expires_at <= ?", now.getTime()).changes,
    );
  }
}
