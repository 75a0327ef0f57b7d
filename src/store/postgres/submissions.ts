// The submissions part of the PostgreSQL store (src/store/submissions.ts says what it keeps).

import { type IdentityChanges, identityChangesOf } from "../identities.js";
import {
  type DeliveryStatus,
  type StoredSubmission,
  type SubmissionFields,
  type SubmissionRow,
  type SubmissionStore,
  submissionValues,
  toSubmission,
} from "../submissions.js";
import { StoreError } from "../types.js";
import type { PostgresDatabase, Tx } from "./database.js";
import { lockedNextState } from "./identities.js";

const STATE = "SELECT coalesce(max(state), 0)::bigint AS state FROM submissions WHERE user_id = $1";

export class PostgresSubmissions implements SubmissionStore {
  constructor(private readonly database: PostgresDatabase) {}

  private nextState(tx: Tx, userId: number): Promise<number> {
    return lockedNextState(tx, STATE, userId);
  }

  private async stateOf(userId: number): Promise<number> {
    return Number((await this.database.read<{ state: string }>(STATE, [userId]))[0]?.state ?? 0);
  }

  async list(userId: number): Promise<{ state: number; submissions: StoredSubmission[] }> {
    return this.database.tx(async (tx) => {
      const state = Number((await tx.client.query<{ state: string }>(STATE, [userId])).rows[0]?.state ?? 0);
      const rows = await tx.client.query<SubmissionRow>(
        "SELECT * FROM submissions WHERE user_id = $1 AND NOT destroyed ORDER BY id",
        [userId],
      );
      return { state, submissions: rows.rows.map(toSubmission) };
    });
  }

  async create(
    userId: number,
    fields: SubmissionFields,
  ): Promise<{ state: number; submission: StoredSubmission }> {
    const values = submissionValues(fields);
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      const result = await tx.client.query<SubmissionRow>(
        `INSERT INTO submissions (user_id, message_id, identity_id, email_id, thread_id, envelope, send_at,
                                  delivery_status, canceled, created_state, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
        [userId, ...values, state],
      );
      return { state, submission: toSubmission(result.rows[0]!) };
    });
  }

  destroy(userId: number, id: number): Promise<{ state: number }> {
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      const result = await tx.client.query(
        "UPDATE submissions SET destroyed = true, state = $1 WHERE id = $2 AND user_id = $3 AND NOT destroyed",
        [state, id, userId],
      );
      if (result.rowCount === 0) throw new StoreError("not-found", `submission ${id} does not exist`);
      return { state };
    });
  }

  async changes(userId: number, sinceState: number): Promise<IdentityChanges | null> {
    const state = await this.stateOf(userId);
    if (sinceState > state) return null;
    // Read after the state: a change committed in between shows up here and again next time, never lost.
    const rows = await this.database.read<SubmissionRow>(
      `SELECT id, created_state, destroyed FROM submissions
        WHERE user_id = $1 AND state > $2 AND state <= $3 ORDER BY id`,
      [userId, sinceState, state],
    );
    return identityChangesOf(rows, sinceState, state);
  }

  async recordDelivery(messageId: string, recipient: string, status: DeliveryStatus): Promise<void> {
    const [found] = await this.database.read<{ user_id: string }>(
      "SELECT user_id FROM submissions WHERE message_id = $1 AND NOT destroyed",
      [messageId],
    );
    if (found === undefined) return;
    await this.database.tx(async (tx) => {
      const state = await this.nextState(tx, Number(found.user_id));
      // jsonb_set only where the recipient is one of the submission's: others are not its to report.
      await tx.client.query(
        `UPDATE submissions
            SET delivery_status = jsonb_set(delivery_status::jsonb, ARRAY[$2::text], $3::jsonb)::text,
                state = $4
          WHERE message_id = $1 AND NOT destroyed AND delivery_status::jsonb ? $2`,
        [messageId, recipient.toLowerCase(), JSON.stringify(status), state],
      );
    });
  }

  markCanceled(
    userId: number,
    id: number,
    deliveryStatus: Record<string, DeliveryStatus>,
  ): Promise<{ state: number }> {
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      const result = await tx.client.query(
        `UPDATE submissions SET canceled = true, delivery_status = $1, state = $2
          WHERE id = $3 AND user_id = $4 AND NOT destroyed`,
        [JSON.stringify(deliveryStatus), state, id, userId],
      );
      if (result.rowCount === 0) throw new StoreError("not-found", `submission ${id} does not exist`);
      return { state };
    });
  }
}
