// The Sieve scripts part of the SQLite store: table sieve_scripts, live rows and tombstones
// (src/store/sieve-scripts.ts says what it keeps). Writes run one at a time (database.write), so reading
// the state and writing the next one cannot interleave with another writer.

import { identityChangesOf } from "../identities.js";
import {
  type SieveScript,
  type SieveScriptChanges,
  type SieveScriptRow,
  type SieveScriptStore,
  type StoredSieveScript,
  toScript,
  toStoredScript,
} from "../sieve-scripts.js";
import type { SqliteDatabase } from "./database.js";

const LIVE = "user_id = ? AND destroyed = 0";

export class SqliteSieveScripts implements SieveScriptStore {
  constructor(private readonly database: SqliteDatabase) {}

  private stateOf(userId: number): number {
    return this.database.get<{ state: number }>(
      "SELECT coalesce(max(state), 0) AS state FROM sieve_scripts WHERE user_id = ?",
      userId,
    )!.state;
  }

  private byName(userId: number, name: string): SieveScriptRow | undefined {
    return this.database.get<SieveScriptRow>(
      `SELECT * FROM sieve_scripts WHERE ${LIVE} AND name = ?`,
      userId,
      name,
    );
  }

  private byId(userId: number, id: number): SieveScriptRow | undefined {
    return this.database.get<SieveScriptRow>(
      `SELECT * FROM sieve_scripts WHERE ${LIVE} AND id = ?`,
      userId,
      id,
    );
  }

  private insert(userId: number, name: string, source: string): SieveScriptRow {
    const state = this.stateOf(userId) + 1;
    return this.database.get<SieveScriptRow>(
      `INSERT INTO sieve_scripts (user_id, name, source, active, created_state, state)
       VALUES (?, ?, ?, 0, ?, ?) RETURNING *`,
      userId,
      name,
      source,
      state,
      state,
    )!;
  }

  private change(userId: number, id: number, name: string, source: string): void {
    this.database.run(
      "UPDATE sieve_scripts SET name = ?, source = ?, state = ? WHERE id = ?",
      name,
      source,
      this.stateOf(userId) + 1,
      id,
    );
  }

  /** Marks active the script `id` (none for null); only rows whose mark changes take the new state. */
  private activate(userId: number, id: number | null): void {
    this.database.run(
      `UPDATE sieve_scripts SET active = (id IS ?), state = ?
        WHERE ${LIVE} AND active != (id IS ?)`,
      id,
      this.stateOf(userId) + 1,
      userId,
      id,
    );
  }

  private destroy(userId: number, id: number): void {
    // The source goes: a tombstone only has to say that the id is gone.
    this.database.run(
      "UPDATE sieve_scripts SET destroyed = 1, active = 0, source = '', state = ? WHERE id = ?",
      this.stateOf(userId) + 1,
      id,
    );
  }

  putScript(userId: number, name: string, source: string): Promise<void> {
    return this.database.write(() => {
      const row = this.byName(userId, name);
      if (row === undefined) this.insert(userId, name, source);
      else this.change(userId, Number(row.id), name, source);
    });
  }

  getScript(userId: number, name: string): Promise<SieveScript | undefined> {
    return this.database.read(() => {
      const row = this.byName(userId, name);
      return row === undefined ? undefined : toScript(row);
    });
  }

  listScripts(userId: number): Promise<SieveScript[]> {
    return this.database.read(() =>
      this.database
        .all<SieveScriptRow>(`SELECT * FROM sieve_scripts WHERE ${LIVE} ORDER BY name`, userId)
        .map(toScript),
    );
  }

  deleteScript(userId: number, name: string): Promise<boolean> {
    return this.database.write(() => {
      const row = this.byName(userId, name);
      if (row === undefined) return false;
      this.destroy(userId, Number(row.id));
      return true;
    });
  }

  renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists"> {
    return this.database.write(() => {
      const row = this.byName(userId, from);
      if (row === undefined) return "not-found";
      if (this.byName(userId, to) !== undefined) return "exists";
      this.change(userId, Number(row.id), to, row.source);
      return "renamed";
    });
  }

  activateScript(userId: number, name: string | null): Promise<boolean> {
    return this.database.write(() => {
      const row = name === null ? null : this.byName(userId, name);
      if (row === undefined) return false;
      this.activate(userId, row === null ? null : Number(row.id));
      return true;
    });
  }

  getActiveScript(userId: number): Promise<SieveScript | undefined> {
    return this.database.read(() => {
      const row = this.database.get<SieveScriptRow>(
        `SELECT * FROM sieve_scripts WHERE ${LIVE} AND active = 1`,
        userId,
      );
      return row === undefined ? undefined : toScript(row);
    });
  }

  listScriptsWithState(userId: number): Promise<{ state: number; scripts: StoredSieveScript[] }> {
    return this.database.read(() => ({
      state: this.stateOf(userId),
      scripts: this.database
        .all<SieveScriptRow>(`SELECT * FROM sieve_scripts WHERE ${LIVE} ORDER BY name`, userId)
        .map(toStoredScript),
    }));
  }

  createScript(userId: number, name: string, source: string): Promise<StoredSieveScript | "exists"> {
    return this.database.write(() => {
      if (this.byName(userId, name) !== undefined) return "exists";
      return toStoredScript(this.insert(userId, name, source));
    });
  }

  updateScript(
    userId: number,
    id: number,
    changes: { name?: string; source?: string },
  ): Promise<"updated" | "not-found" | "exists"> {
    return this.database.write(() => {
      const row = this.byId(userId, id);
      if (row === undefined) return "not-found";
      const name = changes.name ?? row.name;
      if (name !== row.name && this.byName(userId, name) !== undefined) return "exists";
      this.change(userId, id, name, changes.source ?? row.source);
      return "updated";
    });
  }

  destroyScript(userId: number, id: number): Promise<"destroyed" | "not-found" | "active"> {
    return this.database.write(() => {
      const row = this.byId(userId, id);
      if (row === undefined) return "not-found";
      if (row.active === 1) return "active";
      this.destroy(userId, id);
      return "destroyed";
    });
  }

  activateScriptById(userId: number, id: number | null): Promise<boolean> {
    return this.database.write(() => {
      if (id !== null && this.byId(userId, id) === undefined) return false;
      this.activate(userId, id);
      return true;
    });
  }

  scriptChanges(userId: number, sinceState: number): Promise<SieveScriptChanges | null> {
    return this.database.read(() => {
      const state = this.stateOf(userId);
      if (sinceState > state) return null;
      const rows = this.database.all<SieveScriptRow>(
        "SELECT * FROM sieve_scripts WHERE user_id = ? AND state > ? ORDER BY id",
        userId,
        sinceState,
      );
      return identityChangesOf(rows, sinceState, state);
    });
  }
}
