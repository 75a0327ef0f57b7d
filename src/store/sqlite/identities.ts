// The identities part of the SQLite store (src/store/identities.ts says what it keeps).

import {
  checkIdentityFields,
  type IdentityChanges,
  type IdentityFields,
  type IdentityRow,
  type IdentityStore,
  identityChangesOf,
  identityValues,
  type StoredIdentity,
  toIdentity,
} from "../identities.js";
import { StoreError } from "../types.js";
import type { SqliteDatabase } from "./database.js";

/**
 * The user's identity state: the highest change number of their identities and of their display name.
 * Binds the user id twice.
 */
export const SQLITE_IDENTITY_STATE = `SELECT max(
    coalesce((SELECT max(state) FROM identities WHERE user_id = ?), 0),
    coalesce((SELECT name_state FROM users WHERE id = ?), 0)) AS state`;

export class SqliteIdentities implements IdentityStore {
  constructor(private readonly database: SqliteDatabase) {}

  private stateOf(userId: number): number {
    return this.database.get<{ state: number }>(SQLITE_IDENTITY_STATE, userId, userId)!.state;
  }

  list(userId: number): Promise<{ state: number; identities: StoredIdentity[] }> {
    return this.database.read(() => ({
      state: this.stateOf(userId),
      identities: this.database
        .all<IdentityRow>("SELECT * FROM identities WHERE user_id = ? AND destroyed = 0 ORDER BY id", userId)
        .map(toIdentity),
    }));
  }

  create(userId: number, fields: IdentityFields): Promise<{ state: number; identity: StoredIdentity }> {
    return this.database.write((effects) => {
      const checked = checkIdentityFields(fields) as IdentityFields;
      if (checked.email === undefined) throw new StoreError("invalid", "an identity needs an email");
      const state = this.stateOf(userId) + 1;
      const row = this.database.get<IdentityRow>(
        `INSERT INTO identities (user_id, name, email, reply_to, bcc, text_signature, html_signature,
                                 created_state, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        userId,
        ...identityValues(checked),
        state,
        state,
      )!;
      effects.events.push({ kind: "identities", userId });
      return { state, identity: toIdentity(row) };
    });
  }

  update(userId: number, id: number, fields: Partial<IdentityFields>): Promise<{ state: number }> {
    return this.database.write((effects) => {
      const checked = checkIdentityFields(fields);
      const row = this.live(userId, id);
      const current = toIdentity(row);
      const next = { ...current, ...checked };
      const state = this.stateOf(userId) + 1;
      this.database.run(
        `UPDATE identities SET name = ?, email = ?, reply_to = ?, bcc = ?, text_signature = ?,
                               html_signature = ?, state = ? WHERE id = ?`,
        ...identityValues(next),
        state,
        id,
      );
      effects.events.push({ kind: "identities", userId });
      return { state };
    });
  }

  destroy(userId: number, id: number): Promise<{ state: number }> {
    return this.database.write((effects) => {
      this.live(userId, id);
      const state = this.stateOf(userId) + 1;
      this.database.run("UPDATE identities SET destroyed = 1, state = ? WHERE id = ?", state, id);
      effects.events.push({ kind: "identities", userId });
      return { state };
    });
  }

  changes(userId: number, sinceState: number): Promise<IdentityChanges | null> {
    return this.database.read(() => {
      const state = this.stateOf(userId);
      if (sinceState > state) return null;
      const rows = this.database.all<IdentityRow>(
        "SELECT * FROM identities WHERE user_id = ? AND state > ? ORDER BY id",
        userId,
        sinceState,
      );
      const named = this.database.get<{ name_state: number }>(
        "SELECT name_state FROM users WHERE id = ?",
        userId,
      );
      return identityChangesOf(rows, sinceState, state, named?.name_state ?? 0);
    });
  }

  private live(userId: number, id: number): IdentityRow {
    const row = this.database.get<IdentityRow>(
      "SELECT * FROM identities WHERE id = ? AND user_id = ? AND destroyed = 0",
      id,
      userId,
    );
    if (!row) throw new StoreError("not-found", `identity ${id} does not exist`);
    return row;
  }
}
