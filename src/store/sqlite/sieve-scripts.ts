// The Sieve scripts part of the SQLite store: table sieve_scripts.

import type { SieveScript, SieveScriptStore } from "../types.js";
import type { SqliteDatabase } from "./database.js";

interface ScriptRow {
  name: string;
  source: string;
  active: number;
}

const toScript = (row: ScriptRow): SieveScript => ({
  name: row.name,
  source: row.source,
  active: row.active === 1,
});

export class SqliteSieveScripts implements SieveScriptStore {
  constructor(private readonly database: SqliteDatabase) {}

  putScript(userId: number, name: string, source: string): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `INSERT INTO sieve_scripts (user_id, name, source, active) VALUES (?, ?, ?, 0)
         ON CONFLICT (user_id, name) DO UPDATE SET source = excluded.source`,
        userId,
        name,
        source,
      );
    });
  }

  getScript(userId: number, name: string): Promise<SieveScript | undefined> {
    return this.database.read(() => {
      const row = this.database.get<ScriptRow>(
        "SELECT name, source, active FROM sieve_scripts WHERE user_id = ? AND name = ?",
        userId,
        name,
      );
      return row === undefined ? undefined : toScript(row);
    });
  }

  listScripts(userId: number): Promise<SieveScript[]> {
    return this.database.read(() =>
      this.database
        .all<ScriptRow>(
          "SELECT name, source, active FROM sieve_scripts WHERE user_id = ? ORDER BY name",
          userId,
        )
        .map(toScript),
    );
  }

  deleteScript(userId: number, name: string): Promise<boolean> {
    return this.database.write(
      () =>
        this.database.run("DELETE FROM sieve_scripts WHERE user_id = ? AND name = ?", userId, name)
          .changes === 1,
    );
  }

  renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists"> {
    return this.database.write(() => {
      const exists = (name: string) =>
        this.database.get("SELECT 1 FROM sieve_scripts WHERE user_id = ? AND name = ?", userId, name) !==
        undefined;
      if (!exists(from)) return "not-found";
      if (exists(to)) return "exists";
      this.database.run("UPDATE sieve_scripts SET name = ? WHERE user_id = ? AND name = ?", to, userId, from);
      return "renamed";
    });
  }

  activateScript(userId: number, name: string | null): Promise<boolean> {
    return this.database.write(() => {
      if (name !== null) {
        const found = this.database.get(
          "SELECT 1 FROM sieve_scripts WHERE user_id = ? AND name = ?",
          userId,
          name,
        );
        if (found === undefined) return false;
      }
      this.database.run("UPDATE sieve_scripts SET active = (name IS ?) WHERE user_id = ?", name, userId);
      return true;
    });
  }

  getActiveScript(userId: number): Promise<SieveScript | undefined> {
    return this.database.read(() => {
      const row = this.database.get<ScriptRow>(
        "SELECT name, source, active FROM sieve_scripts WHERE user_id = ? AND active = 1",
        userId,
      );
      return row === undefined ? undefined : toScript(row);
    });
  }
}
