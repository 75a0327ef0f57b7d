// The Sieve scripts part of the SQLite store: table sieve_scripts, live rows and tombstones
// (src/store/sieve-scripts.ts says what it keeps). Writes run one at a time (database.write), so reading
// the state or the script count and writing cannot interleave with another writer. Every write that
// changes something publishes a "sieve" event, which JMAP push turns into a SieveScript StateChange.

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
import type { Effects, SqliteDatabase } from "./database.js";

const LIVE = "user_id = ? AND destroyed = 0";

export class SqliteSieveScripts implements SieveScriptStore {
  constructor(private readonly database: SqliteDatabase) {}

  /** database.write, announcing the change when `work` reports one. */
  private write<T>(userId: number, work: () => { result: T; changed: boolean }): Promise<T> {
    return this.database.write((effects: Effects) => {
      const { result, changed } = work();
      if (changed) effects.events.push({ kind: "sieve", userId });
      return result;
    });
  }

  /** Whether the user already keeps `maxScripts` live scripts. */
  private full(userId: number, maxScripts: number | undefined): boolean {
    if (maxScripts === undefined) return false;
    const { count } = this.database.get<{ count: number }>(
      `SELECT count(*) AS count FROM sieve_scripts WHERE ${LIVE}`,
      userId,
    )!;
    return count >= maxScripts;
  }

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

  /**
   * Marks active the script `id` (none for null); only rows whose mark changes take the new state.
   * True when one did.
   */
  private activate(userId: number, id: number | null): boolean {
    return (
      this.database.run(
        `UPDATE sieve_scripts SET active = (id IS ?), state = ?
        WHERE ${LIVE} AND active != (id IS ?)`,
        id,
        this.stateOf(userId) + 1,
        userId,
        id,
      ).changes > 0
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

  putScript(userId: number, name: string, source: string, maxScripts?: number): Promise<"put" | "too-many"> {
    return this.write(userId, () => {
      const row = this.byName(userId, name);
      if (row === undefined) {
        if (this.full(userId, maxScripts)) return { result: "too-many", changed: false };
        this.insert(userId, name, source);
      } else this.change(userId, Number(row.id), name, source);
      return { result: "put", changed: true };
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
    return this.write(userId, () => {
      const row = this.byName(userId, name);
      if (row === undefined) return { result: false, changed: false };
      this.destroy(userId, Number(row.id));
      return { result: true, changed: true };
    });
  }

  renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists"> {
    return this.write(userId, () => {
      const row = this.byName(userId, from);
      if (row === undefined) return { result: "not-found", changed: false };
      if (this.byName(userId, to) !== undefined) return { result: "exists", changed: false };
      this.change(userId, Number(row.id), to, row.source);
      return { result: "renamed", changed: true };
    });
  }

  activateScript(userId: number, name: string | null): Promise<boolean> {
    return this.write(userId, () => {
      const row = name === null ? null : this.byName(userId, name);
      if (row === undefined) return { result: false, changed: false };
      return { result: true, changed: this.activate(userId, row === null ? null : Number(row.id)) };
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

  scriptState(userId: number): Promise<number> {
    return this.database.read(() => this.stateOf(userId));
  }

  createScript(
    userId: number,
    name: string,
    source: string,
    maxScripts?: number,
  ): Promise<StoredSieveScript | "exists" | "too-many"> {
    return this.write<StoredSieveScript | "exists" | "too-many">(userId, () => {
      if (this.byName(userId, name) !== undefined) return { result: "exists", changed: false };
      if (this.full(userId, maxScripts)) return { result: "too-many", changed: false };
      return { result: toStoredScript(this.insert(userId, name, source)), changed: true };
    });
  }

  updateScript(
    userId: number,
    id: number,
    changes: { name?: string; source?: string },
  ): Promise<"updated" | "not-found" | "exists"> {
    return this.write(userId, () => {
      const row = this.byId(userId, id);
      if (row === undefined) return { result: "not-found", changed: false };
      const name = changes.name ?? row.name;
      if (name !== row.name && this.byName(userId, name) !== undefined)
        return { result: "exists", changed: false };
      this.change(userId, id, name, changes.source ?? row.source);
      return { result: "updated", changed: true };
    });
  }

  destroyScript(userId: number, id: number): Promise<"destroyed" | "not-found" | "active"> {
    return this.write(userId, () => {
      const row = this.byId(userId, id);
      if (row === undefined) return { result: "not-found", changed: false };
      if (row.active === 1) return { result: "active", changed: false };
      this.destroy(userId, id);
      return { result: "destroyed", changed: true };
    });
  }

  activateScriptById(userId: number, id: number | null): Promise<boolean> {
    return this.write(userId, () => {
      if (id !== null && this.byId(userId, id) === undefined) return { result: false, changed: false };
      return { result: true, changed: this.activate(userId, id) };
    });
  }

  scriptChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.database.read(() => {
      const state = this.stateOf(userId);
      const rows = this.database.all<SieveScriptRow>(
        "SELECT * FROM sieve_scripts WHERE user_id = ? AND state > ? ORDER BY id",
        userId,
        sinceState,
      );
      return scriptChangesOf(rows, sinceState, state, maxChanges);
    });
  }
}
