// The push subscriptions part of the PostgreSQL store.

import { StoreError } from "../errors.js";
import type {
  NewPushSubscription,
  PushSubscriptionPatch,
  PushSubscriptionRecord,
  PushSubscriptionStore,
} from "../push-subscriptions.js";
import type { PostgresDatabase } from "./database.js";

interface Row {
  id: string;
  user_id: string;
  device_client_id: string;
  url: string;
  keys: { p256dh: string; auth: string } | null;
  verification_hash: string;
  verification_code: string | null;
  expires_at: Date;
  types: string[] | null;
}

function toRecord(row: Row): PushSubscriptionRecord {
  return {
    id: row.id,
    userId: Number(row.user_id),
    deviceClientId: row.device_client_id,
    url: row.url,
    keys: row.keys,
    verificationHash: row.verification_hash,
    verificationCode: row.verification_code,
    expires: row.expires_at,
    types: row.types,
  };
}

export class PostgresPushSubscriptions implements PushSubscriptionStore {
  constructor(private readonly database: PostgresDatabase) {}

  createPushSubscription(
    userId: number,
    subscription: NewPushSubscription,
    limits: { max: number; now: Date },
  ): Promise<PushSubscriptionRecord> {
    return this.database.tx(async ({ client }) => {
      // The user's row, locked, serialises concurrent creations so the count below holds.
      const user = await client.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (user.rowCount === 0) throw new StoreError("not-found", `no user with id ${userId}`);
      await client.query("DELETE FROM push_subscriptions WHERE user_id = $1 AND expires_at <= $2", [
        userId,
        limits.now,
      ]);
      const held = await client.query<{ count: string }>(
        "SELECT count(*) AS count FROM push_subscriptions WHERE user_id = $1",
        [userId],
      );
      if (Number(held.rows[0]?.count ?? 0) >= limits.max) {
        throw new StoreError("full", `at most ${limits.max} push subscriptions per user`);
      }
      const inserted = await client.query<Row>(
        `INSERT INTO push_subscriptions
           (id, user_id, device_client_id, url, keys, verification_hash, expires_at, types)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO NOTHING RETURNING *`,
        [
          subscription.id,
          userId,
          subscription.deviceClientId,
          subscription.url,
          subscription.keys === null ? null : JSON.stringify(subscription.keys),
          subscription.verificationHash,
          subscription.expires,
          subscription.types === null ? null : JSON.stringify(subscription.types),
        ],
      );
      const row = inserted.rows[0];
      if (row === undefined) {
        throw new StoreError("exists", `a push subscription with id ${subscription.id} already exists`);
      }
      return toRecord(row);
    });
  }

  async listPushSubscriptions(userId: number, now: Date): Promise<PushSubscriptionRecord[]> {
    const rows = await this.database.read<Row>(
      "SELECT * FROM push_subscriptions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id",
      [userId, now],
    );
    return rows.map(toRecord);
  }

  async listVerifiedPushSubscriptions(now: Date): Promise<PushSubscriptionRecord[]> {
    const rows = await this.database.read<Row>(
      "SELECT * FROM push_subscriptions WHERE verification_code IS NOT NULL AND expires_at > $1 ORDER BY created_at, id",
      [now],
    );
    return rows.map(toRecord);
  }

  async updatePushSubscription(
    userId: number,
    id: string,
    patch: PushSubscriptionPatch,
  ): Promise<PushSubscriptionRecord | null> {
    const rows = await this.database.read<Row>(
      `UPDATE push_subscriptions SET
         verification_code = coalesce($3, verification_code),
         expires_at = coalesce($4, expires_at),
         types = CASE WHEN $5 THEN $6::jsonb ELSE types END
       WHERE user_id = $1 AND id = $2 RETURNING *`,
      [
        userId,
        id,
        patch.verificationCode ?? null,
        patch.expires ?? null,
        patch.types !== undefined,
        patch.types === undefined || patch.types === null ? null : JSON.stringify(patch.types),
      ],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async destroyPushSubscription(userId: number, id: string): Promise<boolean> {
    const rows = await this.database.read(
      "DELETE FROM push_subscriptions WHERE user_id = $1 AND id = $2 RETURNING id",
      [userId, id],
    );
    return rows.length > 0;
  }

  async removeExpiredPushSubscriptions(now: Date): Promise<number> {
    const rows = await this.database.read(
      "DELETE FROM push_subscriptions WHERE expires_at <= $1 RETURNING id",
      [now],
    );
    return rows.length;
  }
}
