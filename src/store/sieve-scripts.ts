// Each user's Sieve scripts (RFC 5228), by name; at most one is active, the one delivery runs
// (issue 18). The store keeps source text only: callers check it with src/sieve's `check` first.

/** Longest script name in octets; RFC 5804 §1.6 lets the server choose, and 128 is Pigeonhole's. */
export const MAX_SCRIPT_NAME = 128;

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

export interface SieveScriptStore {
  /** Creates or replaces the script `name`; a replaced script keeps its active mark. */
  putScript(userId: number, name: string, source: string): Promise<void>;
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
}
