// Each user's Sieve scripts (RFC 5228), by name; at most one is active, the one delivery runs
// (issue 18). The store keeps source text only: callers check it with src/sieve's `check` first
// (src/sieve-scripts/service.ts, which ManageSieve and JMAP share). Each script also has a stable id,
// and every write takes the user's next script state, stamped on the rows it changed; destroyed scripts
// stay as tombstones, so that JMAP SieveScript/changes (RFC 9661 §2.3, RFC 8620 §5.2) can tell what
// changed whichever protocol made the change.

import { checkSince, pageChanges, summarise } from "./change-pages.js";
import type { Changes } from "./emails.js";

/**
 * Longest script name in octets. RFC 5804 §1.6 has servers accept names of up to 128 characters, which
 * take up to 512 octets in UTF-8, and RFC 9661 §1.2.1 makes 512 the least maxSizeScriptName may be.
 */
export const MAX_SCRIPT_NAME = 512;

/**
 * Whether `name` may name a script: 1 to MAX_SCRIPT_NAME octets of UTF-8 without the characters RFC
 * 5804 §1.6 forbids (controls, DEL, C1 controls, line and paragraph separators).
 */
export function isScriptName(name: string): boolean {
  return (
    name !== "" &&
    !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name) &&
    Buffer.byteLength(name) <= MAX_SCRIPT_NAME
  );
}

export interface SieveScript {
  name: string;
  source: string;
  active: boolean;
}

/** A script with its id, as JMAP names it. */
export interface StoredSieveScript extends SieveScript {
  id: number;
}

export interface SieveScriptStore {
  /**
   * Creates or replaces the script `name`; a replaced script keeps its active mark. "too-many", and
   * nothing written, when it would be a new script beyond `maxScripts`: counted in the write's own
   * transaction, so writers racing from ManageSieve and JMAP cannot pass the limit together.
   */
  putScript(userId: number, name: string, source: string, maxScripts?: number): Promise<"put" | "too-many">;
  getScript(userId: number, name: string): Promise<SieveScript | undefined>;
  /** The user's scripts by name. */
  listScripts(userId: number): Promise<SieveScript[]>;
  /** True when it existed. */
  deleteScript(userId: number, name: string): Promise<boolean>;
  /**
   * Renames a script, keeping its source and active mark, in one step (ManageSieve RENAMESCRIPT, RFC
   * 5804 §2.11.1): "not-found" when `from` does not exist, "exists" when `to` does; nothing changes then.
   */
  renameScript(userId: number, from: string, to: string): Promise<"renamed" | "not-found" | "exists">;
  /** Makes `name` the one active script (false, and nothing changed, when it does not exist); null deactivates all. */
  activateScript(userId: number, name: string | null): Promise<boolean>;
  getActiveScript(userId: number): Promise<SieveScript | undefined>;

  // By id, for JMAP Sieve (RFC 9661).
  /** The user's scripts by name, with their ids, and the state they are at (0 before any write). */
  listScriptsWithState(userId: number): Promise<{ state: number; scripts: StoredSieveScript[] }>;
  /** The state alone (0 before any write), for push: no script text is read. */
  scriptState(userId: number): Promise<number>;
  /** A new, inactive script; "exists" when the user has one by that name, "too-many" as putScript. */
  createScript(
    userId: number,
    name: string,
    source: string,
    maxScripts?: number,
  ): Promise<StoredSieveScript | "exists" | "too-many">;
  /** Renames and/or replaces a script in one step, keeping its active mark. */
  updateScript(
    userId: number,
    id: number,
    changes: { name?: string; source?: string },
  ): Promise<"updated" | "not-found" | "exists">;
  /** "active": the active script is not destroyed (RFC 9661 §2.4, as RFC 5804 §2.10 for DELETESCRIPT). */
  destroyScript(userId: number, id: number): Promise<"destroyed" | "not-found" | "active">;
  /** As activateScript, by id. */
  activateScriptById(userId: number, id: number | null): Promise<boolean>;
  /**
   * What changed after `sinceState`, at most `maxChanges` ids (RFC 8620 §5.2); StoreError
   * "cannot-calculate" for a state in the future or a single write that touched more than maxChanges.
   */
  scriptChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes>;
}

/** The row as both backends keep it. */
export interface SieveScriptRow {
  id: number | string;
  name: string;
  source: string;
  active: number | boolean;
  created_state: number | string;
  state: number | string;
  destroyed: number | boolean;
}

export function toStoredScript(row: SieveScriptRow): StoredSieveScript {
  return {
    id: Number(row.id),
    name: row.name,
    source: row.source,
    active: row.active === true || row.active === 1,
  };
}

export function toScript(row: SieveScriptRow): SieveScript {
  const { id: _id, ...script } = toStoredScript(row);
  return script;
}

/**
 * The changes after `since` from the user's rows changed after it (tombstones included), paged as the
 * mail types' are: a row keeps only its last change, so a page ends at a state every id it names is
 * complete at (change-pages.ts). The user's history reaches back to state 0: tombstones are never purged.
 */
export function scriptChangesOf(
  rows: readonly SieveScriptRow[],
  since: number,
  state: number,
  maxChanges?: number,
): Changes {
  checkSince(since, state, 0, maxChanges);
  const records = rows.map((row) => ({
    id: Number(row.id),
    createdModseq: Number(row.created_state),
    modseq: Number(row.state),
    live: !(row.destroyed === true || row.destroyed === 1),
  }));
  return pageChanges(summarise(records), since, state, maxChanges);
}
