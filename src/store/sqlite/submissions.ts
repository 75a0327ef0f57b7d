// The submissions part of the SQLite store (src/store/submissions.ts says what it keeps).

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
import type { SqliteDatabase } from "./database.js";

export class SqliteSubmissions implements SubmissionStore {
  constructor(private readonly database: SqliteDatabase) {}

  private stateOf(userId: number): number {
    return this.database.get<{ state: number }>(
      "SELECT coalesce(max(state), 0) AS state FROM submissions WHERE user_id = ?",
      userId,
    )!.state;
  }

  list(userId: number): Promise<{ state: number; submissions: StoredSubmission[] }> {
    return this.database.read(() => ({
      state: this.stateOf(userId),
      submissions: this.database
        .all<SubmissionRow>(
          "SELECT * FROM submissions WHERE user_id = ? AND destroyed = 0 ORDER BY id",
          userId,
        )
        .map(toSubmission),
    }));
  }

  create(userId: number, fields: SubmissionFields): Promise<{ state: number; submission: StoredSubmission }> {
    return this.database.write(() => {
      const values = submissionValues(fields);
      const state = this.stateOf(userId) + 1;
      const row = this.database.get<SubmissionRow>(
        `INSERT INTO submissions (user_id, message_id, identity_id, email_id, thread_id, envelope, send_at,
                                  delivery_status, canceled, created_state, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        userId,
        ...values.map((value) => (typeof value === "boolean" ? Number(value) : value)),
        state,
        state,
      )!;
      return { state, submission: toSubmission(row) };
    });
  }

  destroy(userId: number, id: number): Promise<{ state: number }> {
    return this.database.write(() => {
      const live = this.database.get(
        "SELECT 1 FROM submissions WHERE id = ? AND user_id = ? AND destroyed = 0",
        id,
        userId,
      );
      if (!live) throw new StoreError("not-found", `submission ${id} does not exist`);
      const state = this.stateOf(userId) + 1;
      this.database.run("UPDATE submissions SET destroyed = 1, state = ? WHERE id = ?", state, id);
      return { state };
    });
  }

  changes(userId: number, sinceState: number): Promise<IdentityChanges | null> {
    return this.database.read(() => {
      const state = this.stateOf(userId);
      if (sinceState > state) return null;
      const rows = this.database.all<SubmissionRow>(
        "SELECT id, created_state, destroyed FROM submissions WHERE user_id = ? AND state > ? ORDER BY id",
        userId,
        sinceState,
      );
      return identityChangesOf(rows, sinceState, state);
    });
  }

  async recordDelivery(messageId: string, recipient: string, status: DeliveryStatus): Promise<void> {
    // Most relayed messages are no EmailSubmission's: a read answers that without a write transaction.
    const found = await this.database.read(() =>
      this.database.get("SELECT 1 FROM submissions WHERE message_id = ? AND destroyed = 0", messageId),
    );
    if (found === undefined) return;
    return this.database.write(() => {
      const row = this.database.get<SubmissionRow & { user_id: number }>(
        "SELECT * FROM submissions WHERE message_id = ? AND destroyed = 0",
        messageId,
      );
      if (!row) return;
      const statuses = JSON.parse(row.delivery_status) as Record<string, DeliveryStatus>;
      const key = recipient.toLowerCase();
      if (statuses[key] === undefined) return;
      statuses[key] = status;
      this.database.run(
        "UPDATE submissions SET delivery_status = ?, state = ? WHERE id = ?",
        JSON.stringify(statuses),
        this.stateOf(row.user_id) + 1,
        row.id,
      );
    });
  }

  markCanceled(
    userId: number,
    id: number,
    deliveryStatus: Record<string, DeliveryStatus>,
  ): Promise<{ state: number }> {
    return this.database.write(() => {
      const state = this.stateOf(userId) + 1;
      const result = this.database.run(
        `UPDATE submissions SET canceled = 1, delivery_status = ?, state = ?
          WHERE id = ? AND user_id = ? AND destroyed = 0`,
        JSON.stringify(deliveryStatus),
        state,
        id,
        userId,
      );
      if (result.changes === 0) throw new StoreError("not-found", `submission ${id} does not exist`);
      return { state };
    });
  }
}
