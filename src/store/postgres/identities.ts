// The identities part of the PostgreSQL store (src/store/identities.ts says what it keeps).

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
import type { PostgresDatabase, Tx } from "./database.js";

/** The user's identity state: the highest change number of their identities and of their display name. */
export const IDENTITY_STATE = `SELECT greatest(
    (SELECT coalesce(max(state), 0) FROM identities WHERE user_id = $1),
    (SELECT name_state FROM users WHERE id = $1), 0)::bigint AS state`;
const STATE = IDENTITY_STATE;

/**
 * The next state of a part kept with per-user change numbers (`stateSql` reads the current one), with
 * the user's row locked so that concurrent writers number their changes apart.
 */
export async function lockedNextState(tx: Tx, stateSql: string, userId: number): Promise<number> {
  await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [userId]);
  const result = await tx.client.query<{ state: string }>(stateSql, [userId]);
  return Number(result.rows[0]?.state ?? 0) + 1;
}

export class PostgresIdentities implements IdentityStore {
  constructor(private readonly database: PostgresDatabase) {}

  private nextState(tx: Tx, userId: number): Promise<number> {
    return lockedNextState(tx, STATE, userId);
  }

  async list(userId: number): Promise<{ state: number; identities: StoredIdentity[] }> {
    const rows = await this.database.read<IdentityRow & { user_state: string }>(
      `SELECT i.*, (${STATE}) AS user_state FROM identities i
        WHERE i.user_id = $1 AND NOT i.destroyed ORDER BY i.id`,
      [userId],
    );
    const state =
      rows[0] !== undefined
        ? Number(rows[0].user_state)
        : Number((await this.database.read<{ state: string }>(STATE, [userId]))[0]?.state ?? 0);
    return { state, identities: rows.map(toIdentity) };
  }

  async create(userId: number, fields: IdentityFields): Promise<{ state: number; identity: StoredIdentity }> {
    const checked = checkIdentityFields(fields) as IdentityFields;
    if (checked.email === undefined) throw new StoreError("invalid", "an identity needs an email");
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      const result = await tx.client.query<IdentityRow>(
        `INSERT INTO identities (user_id, name, email, reply_to, bcc, text_signature, html_signature,
                                 created_state, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *`,
        [userId, ...identityValues(checked), state],
      );
      tx.events.push({ kind: "identities", userId });
      return { state, identity: toIdentity(result.rows[0]!) };
    });
  }

  async update(userId: number, id: number, fields: Partial<IdentityFields>): Promise<{ state: number }> {
    const checked = checkIdentityFields(fields);
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      const next = { ...toIdentity(await this.live(tx, userId, id)), ...checked };
      await tx.client.query(
        `UPDATE identities SET name = $1, email = $2, reply_to = $3, bcc = $4, text_signature = $5,
                               html_signature = $6, state = $7 WHERE id = $8`,
        [...identityValues(next), state, id],
      );
      tx.events.push({ kind: "identities", userId });
      return { state };
    });
  }

  destroy(userId: number, id: number): Promise<{ state: number }> {
    return this.database.tx(async (tx) => {
      const state = await this.nextState(tx, userId);
      await this.live(tx, userId, id);
      await tx.client.query("UPDATE identities SET destroyed = true, state = $1 WHERE id = $2", [state, id]);
      tx.events.push({ kind: "identities", userId });
      return { state };
    });
  }

  async changes(userId: number, sinceState: number): Promise<IdentityChanges | null> {
    const state = Number((await this.database.read<{ state: string }>(STATE, [userId]))[0]?.state ?? 0);
    if (sinceState > state) return null;
    // Read after the state: a change committed in between shows up here and again next time, never lost.
    const rows = await this.database.read<IdentityRow>(
      "SELECT * FROM identities WHERE user_id = $1 AND state > $2 AND state <= $3 ORDER BY id",
      [userId, sinceState, state],
    );
    const named = await this.database.read<{ name_state: string }>(
      "SELECT name_state FROM users WHERE id = $1",
      [userId],
    );
    return identityChangesOf(rows, sinceState, state, Number(named[0]?.name_state ?? 0));
  }

  private async live(tx: Tx, userId: number, id: number): Promise<IdentityRow> {
    const result = await tx.client.query<IdentityRow>(
      "SELECT * FROM identities WHERE id = $1 AND user_id = $2 AND NOT destroyed",
      [id, userId],
    );
    if (result.rows[0] === undefined) throw new StoreError("not-found", `identity ${id} does not exist`);
    return result.rows[0];
  }
}
