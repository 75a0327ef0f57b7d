// The Sieve scripts part of the PostgreSQL store: table sieve_scripts, live rows and tombstones
// (src/store/sieve-scripts.ts says what it keeps). Every write locks the user's row first
// (lockedNextState), so a user's script writes run one at a time on every node: the name checks and the
// max_scripts count below cannot race, and no moment has two active scripts. Every write that changes
// something queues a "sieve" event (NOTIFY, so every node hears it) for JMAP push.

import type { Changes } from "../emails.js";
import {
  type SieveScript,
  type SieveScriptRow,
  type SieveScriptStore,
  type StoredSieveScript,
  scriptChangesOf,
  toScript,
  toStoredScript,
} from "../sieve-scripts.js";
import type { PostgresDatabase, Tx } from "./database.js";
import { lockedNextState } from "./identities.js";

const STATE = "SELECT coalesce(max(state), 0)::bigint AS state FROM sieve_scripts WHERE user_id = $1";
const LIVE = "user_id = $1 AND NOT destroyed";

async function byName(tx: Tx, userId: number, name: string): Promise<SieveScriptRow | undefined> {
  const result = await tx.client.query<SieveScriptRow>(
    `SELECT * FROM sieve_scripts WHERE ${LIVE} AND name = $2`,
    [userId, name],
  );
  return result.rows[0];
}

async function byId(tx: Tx, userId: number, id: number): Promise<SieveScriptRow | undefined> {
  const result = await tx.client.query<SieveScriptRow>(
    `SELECT * FROM sieve_scripts WHERE ${LIVE} AND id = $2`,
    [userId, id],
  );
  return result.rows[0];
}

export class PostgresSieveScripts implements SieveScriptStore {
  constructor(private readonly database: PostgresDatabase) {}

  /** Runs `work` with the user's row locked and the state its writes take; announces what changed. */
  private write<T>(
    userId: number,
    work: (tx: Tx, state: number) => Promise<{ result: T; changed: boolean }>,
  ): Promise<T> {
    return this.database.tx(async (tx) => {
      const { result, changed } = await work(tx, await lockedNextState(tx, STATE, userId));
      if (changed) tx.events.push({ kind: "sieve", userId });
      return result;
    });
  }

  /** Whether the user already keeps `maxScripts` live scripts (the user's row is locked). */
  private async full(tx: Tx, userId: number, maxScripts: number | undefined): Promise<boolean> {
    if (maxScripts === undefined) return false;
    const result = await tx.client.query<{ count: string }>(
      `SELECT count(*) AS count FROM sieve_scripts WHERE ${LIVE}`,
      [userId],
    );
    return Number(result.rows[0]?.count ?? 0) >= maxScripts;
  }

  private async insert(tx: Tx, userId: number, name: string, source: string, state: number) {
    const result = await tx.client.query<SieveScriptRow>(
      `INSERT INTO sieve_scripts (user_id, name, source, active, created_state, state)
       VALUES ($1, $2, $3, false, $4, $4) RETURNING *`,
      [userId, name, source, state],
    );
    return result.rows[0]!;
  }

  private async change(tx: Tx, id: number, name: string, source: string, state: number): Promise<void> {
    await tx.client.query("UPDATE sieve_scripts SET name = $2, source = $3, state = $4 WHERE id = $1", [
      id,
      name,
      source,
      state,
    ]);
  }

  /**
   * Marks active the script `id` (none for null); only rows whose mark changes take the new state.
   * True when one did.
   */
  private async activate(tx: Tx, userId: number, id: number | null, state: number): Promise<boolean> {
    const result = await tx.client.query(
      `UPDATE sieve_scripts SET active = (id IS NOT DISTINCT FROM $2::bigint), state = $3
        WHERE ${LIVE} AND active IS DISTINCT FROM (id IS NOT DISTINCT FROM $2::bigint)`,
      [userId, id, state],
    );
    return (result.rowCount ?? 0) > 0;
  }

  private async destroy(tx: Tx, id: number, state: number): Promise<void> {
    // The source goes: a tombstone only has to say that the id is gone.
    await tx.client.query(
      "UPDATE sieve_scripts SET destroyed = true, active = false, source = '', state = $2 WHERE id = $1",
      [id, state],
    );
  }

  putScript(userId: number, name: string, source: string, maxScripts?: number): Promise<"put" | "too-many"> {
    return this.write<"put" | "too-many">(userId, async (tx, state) => {
      const row = await byName(tx, userId, name);
      if (row === undefined) {
        if (await this.full(tx, userId, maxScripts)) return { result: "too-many", changed: false };
        await this.insert(tx, userId, name, source, state);
      } else await this.change(tx, Number(row.id), name, source, state);
      return { result: "put", changed: true };
    });
  }

  async getScript(userId: number, name: string): Promise<SieveScript | undefined> {
    const [row] = await this.database.read<SieveScriptRow>(
      `SELECT * FROM sieve_scripts WHERE ${LIVE} AND name = $2`,
      [userId, name],
    );
    return row === undefined ? undefined : toScript(row);
  }

  async listScripts(userId: number): Promise<SieveScript[]> {
    return (await this.listScriptsWithState(userId)).scripts.map(({ id: _id, ...script }) => script);
  }

  deleteScript(userId: number, name: string): Promise<boolean> {
    return this.write(userId, async (tx, state) => {
      const row = await byName(tx, userId, name);
      if (row === undefined) return { result: false, changed: false };
      await this.destroy(tx, Number(row.id), state);
      return { result: true, changed: true };
    });
  }

  renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists"> {
    return this.write<"renamed" | "not-found" | "exists">(userId, async (tx, state) => {
      const row = await byName(tx, userId, from);
      if (row === undefined) return { result: "not-found", changed: false };
      if ((await byName(tx, userId, to)) !== undefined) return { result: "exists", changed: false };
      await this.change(tx, Number(row.id), to, row.source, state);
      return { result: "renamed", changed: true };
    });
  }

  activateScript(userId: number, name: string | null): Promise<boolean> {
    return this.write(userId, async (tx, state) => {
      const row = name === null ? null : await byName(tx, userId, name);
      if (row === undefined) return { result: false, changed: false };
      const changed = await this.activate(tx, userId, row === null ? null : Number(row.id), state);
      return { result: true, changed };
    });
  }

  async getActiveScript(userId: number): Promise<SieveScript | undefined> {
    const [row] = await this.database.read<SieveScriptRow>(
      `SELECT * FROM sieve_scripts WHERE ${LIVE} AND active`,
      [userId],
    );
    return row === undefined ? undefined : toScript(row);
  }

  async listScriptsWithState(userId: number): Promise<{ state: number; scripts: StoredSieveScript[] }> {
    // One statement, so the scripts and the state are of the same moment.
    const rows = await this.database.read<SieveScriptRow & { user_state: string | null }>(
      `SELECT s.*, (${STATE}) AS user_state FROM (SELECT 1) one
         LEFT JOIN sieve_scripts s ON s.user_id = $1 AND NOT s.destroyed
        ORDER BY s.name COLLATE "C"`,
      [userId],
    );
    return {
      state: Number(rows[0]?.user_state ?? 0),
      scripts: rows.filter((row) => row.id !== null).map(toStoredScript),
    };
  }

  async scriptState(userId: number): Promise<number> {
    return Number((await this.database.read<{ state: string }>(STATE, [userId]))[0]?.state ?? 0);
  }

  createScript(
    userId: number,
    name: string,
    source: string,
    maxScripts?: number,
  ): Promise<StoredSieveScript | "exists" | "too-many"> {
    return this.write<StoredSieveScript | "exists" | "too-many">(userId, async (tx, state) => {
      if ((await byName(tx, userId, name)) !== undefined) return { result: "exists", changed: false };
      if (await this.full(tx, userId, maxScripts)) return { result: "too-many", changed: false };
      return { result: toStoredScript(await this.insert(tx, userId, name, source, state)), changed: true };
    });
  }

  updateScript(
    userId: number,
    id: number,
    changes: { name?: string; source?: string },
  ): Promise<"updated" | "not-found" | "exists"> {
    return this.write<"updated" | "not-found" | "exists">(userId, async (tx, state) => {
      const row = await byId(tx, userId, id);
      if (row === undefined) return { result: "not-found", changed: false };
      const name = changes.name ?? row.name;
      if (name !== row.name && (await byName(tx, userId, name)) !== undefined)
        return { result: "exists", changed: false };
      await this.change(tx, id, name, changes.source ?? row.source, state);
      return { result: "updated", changed: true };
    });
  }

  destroyScript(userId: number, id: number): Promise<"destroyed" | "not-found" | "active"> {
    return this.write<"destroyed" | "not-found" | "active">(userId, async (tx, state) => {
      const row = await byId(tx, userId, id);
      if (row === undefined) return { result: "not-found", changed: false };
      if (row.active === true) return { result: "active", changed: false };
      await this.destroy(tx, id, state);
      return { result: "destroyed", changed: true };
    });
  }

  activateScriptById(userId: number, id: number | null): Promise<boolean> {
    return this.write(userId, async (tx, state) => {
      if (id !== null && (await byId(tx, userId, id)) === undefined) return { result: false, changed: false };
      return { result: true, changed: await this.activate(tx, userId, id, state) };
    });
  }

  async scriptChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    const state = Number((await this.database.read<{ state: string }>(STATE, [userId]))[0]?.state ?? 0);
    // Read after the state: a change committed in between shows up here and again next time, never lost.
    const rows = await this.database.read<SieveScriptRow>(
      "SELECT * FROM sieve_scripts WHERE user_id = $1 AND state > $2 AND state <= $3 ORDER BY id",
      [userId, sinceState, state],
    );
    return scriptChangesOf(rows, sinceState, state, maxChanges);
  }
}
