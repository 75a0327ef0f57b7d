// The Sieve scripts part of the PostgreSQL store: table sieve_scripts.

import { type SieveScript, type SieveScriptStore, StoreError } from "../types.js";
import type { PostgresDatabase } from "./database.js";

export class PostgresSieveScripts implements SieveScriptStore {
  constructor(private readonly database: PostgresDatabase) {}

  async putScript(userId: number, name: string, source: string): Promise<void> {
    await this.database.read(
      `INSERT INTO sieve_scripts (user_id, name, source, active) VALUES ($1, $2, $3, false)
       ON CONFLICT (user_id, name) DO UPDATE SET source = excluded.source`,
      [userId, name, source],
    );
  }

  async getScript(userId: number, name: string): Promise<SieveScript | undefined> {
    const [row] = await this.database.read<SieveScript>(
      "SELECT name, source, active FROM sieve_scripts WHERE user_id = $1 AND name = $2",
      [userId, name],
    );
    return row;
  }

  listScripts(userId: number): Promise<SieveScript[]> {
    return this.database.read<SieveScript>(
      'SELECT name, source, active FROM sieve_scripts WHERE user_id = $1 ORDER BY name COLLATE "C"',
      [userId],
    );
  }

  async deleteScript(userId: number, name: string): Promise<boolean> {
    const rows = await this.database.read(
      "DELETE FROM sieve_scripts WHERE user_id = $1 AND name = $2 RETURNING 1",
      [userId, name],
    );
    return rows.length === 1;
  }

  async renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists"> {
    // The unique (user_id, name) key decides a race between two renames onto one name.
    try {
      const rows = await this.database.read(
        "UPDATE sieve_scripts SET name = $3 WHERE user_id = $1 AND name = $2 RETURNING 1",
        [userId, from, to],
      );
      return rows.length === 1 ? "renamed" : "not-found";
    } catch (err) {
      if (err instanceof StoreError && err.code === "exists") return "exists";
      throw err;
    }
  }

  async activateScript(userId: number, name: string | null): Promise<boolean> {
    // One statement, so that no moment has two active scripts and a missing name changes nothing.
    const rows = await this.database.read(
      `UPDATE sieve_scripts SET active = (name IS NOT DISTINCT FROM $2::text) WHERE user_id = $1
         AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM sieve_scripts WHERE user_id = $1 AND name = $2::text))
       RETURNING 1`,
      [userId, name],
    );
    return name === null || rows.length > 0;
  }

  async getActiveScript(userId: number): Promise<SieveScript | undefined> {
    const [row] = await this.database.read<SieveScript>(
      "SELECT name, source, active FROM sieve_scripts WHERE user_id = $1 AND active",
      [userId],
    );
    return row;
  }
}
