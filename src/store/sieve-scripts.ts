// Each user's Sieve scripts (RFC 5228), by name; at most one is active, the one delivery runs
// (issue 18). The store keeps source text only: callers check it with src/sieve's `check` first.

export interface SieveScript {
  name: string;
  source: string;
  active: boolean;
}

export interface SieveScriptStore {
  /** Creates or replaces the script `name`; a replaced script keeps its active mark. */
  putScript(userId: number, name: string, source: string): Promise<void>;
  getScript(userId: number, name: string): Promise<SieveScript | undefined>;
  /** The user's scripts by name. */
  listScripts(userId: number): Promise<SieveScript[]>;
  /** True when it existed. */
  deleteScript(userId: number, name: string): Promise<boolean>;
  /** Makes `name` the one active script (false, and nothing changed, when it does not exist); null deactivates all. */
  activateScript(userId: number, name: string | null): Promise<boolean>;
  getActiveScript(userId: number): Promise<SieveScript | undefined>;
}
