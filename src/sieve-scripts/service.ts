// The rules every way of writing a user's Sieve scripts keeps — ManageSieve (RFC 5804) and JMAP Sieve
// (RFC 9661) alike: a name is a script name (RFC 5804 §1.6), the text is UTF-8 within maxScriptSize and
// valid Sieve as the delivery engine reads it, and a user keeps at most maxScripts. Refusals are data;
// each protocol words them its own way (NO with a response code, a SetError).

import { check, type SieveError } from "../sieve/index.js";
import { isScriptName } from "../store/sieve-scripts.js";
import type { Store, StoredSieveScript } from "../store/types.js";

export interface ScriptLimits {
  /** Octets of one script ([managesieve] max_script_size). */
  maxScriptSize: number;
  /** Scripts one user keeps ([managesieve] max_scripts). */
  maxScripts: number;
}

export type ScriptRefusal =
  | { kind: "bad-name" }
  | { kind: "too-large"; limit: number }
  | { kind: "not-utf8" }
  | { kind: "invalid"; errors: SieveError[] }
  | { kind: "too-many"; limit: number }
  | { kind: "exists" }
  | { kind: "not-found" };

export type ScriptServiceStore = Pick<Store, "sieveScripts">;

const decoder = new TextDecoder("utf-8", { fatal: true });

export class ScriptService {
  constructor(
    private readonly store: ScriptServiceStore,
    readonly limits: ScriptLimits,
  ) {}

  /** The script's text, or why it cannot be stored: too large, not UTF-8 (RFC 5804 §1.6), or not valid. */
  checkSource(bytes: Uint8Array): { source: string } | ScriptRefusal {
    if (bytes.length > this.limits.maxScriptSize)
      return { kind: "too-large", limit: this.limits.maxScriptSize };
    let source: string;
    try {
      source = decoder.decode(bytes);
    } catch {
      return { kind: "not-utf8" };
    }
    const errors = check(source, { maxScriptSize: this.limits.maxScriptSize });
    return errors.length > 0 ? { kind: "invalid", errors } : { source };
  }

  /**
   * Whether a script of `size` octets may be stored under `name` (ManageSieve HAVESPACE): within
   * maxScriptSize, and within maxScripts unless it replaces a script of that name. A null name is a new
   * script. Only an answer for now: the writes below have the store count again inside their own
   * transaction, so two writers racing cannot both take the last place.
   */
  async room(userId: number, name: string | null, size: number): Promise<ScriptRefusal | null> {
    if (size > this.limits.maxScriptSize) return { kind: "too-large", limit: this.limits.maxScriptSize };
    const scripts = await this.store.sieveScripts.listScripts(userId);
    const replaces = name !== null && scripts.some((script) => script.name === name);
    if (!replaces && scripts.length >= this.limits.maxScripts) {
      return { kind: "too-many", limit: this.limits.maxScripts };
    }
    return null;
  }

  /** ManageSieve PUTSCRIPT: creates or replaces the script `name`. */
  async put(userId: number, name: string, bytes: Uint8Array): Promise<ScriptRefusal | null> {
    if (!isScriptName(name)) return { kind: "bad-name" };
    const checked = this.checkSource(bytes);
    if (!("source" in checked)) return checked;
    const put = await this.store.sieveScripts.putScript(userId, name, checked.source, this.limits.maxScripts);
    return put === "too-many" ? { kind: "too-many", limit: this.limits.maxScripts } : null;
  }

  /** A new script (JMAP SieveScript/set create): refused when the name is taken, not replaced. */
  async create(userId: number, name: string, bytes: Uint8Array): Promise<StoredSieveScript | ScriptRefusal> {
    if (!isScriptName(name)) return { kind: "bad-name" };
    const checked = this.checkSource(bytes);
    if (!("source" in checked)) return checked;
    const created = await this.store.sieveScripts.createScript(
      userId,
      name,
      checked.source,
      this.limits.maxScripts,
    );
    if (created === "too-many") return { kind: "too-many", limit: this.limits.maxScripts };
    return created === "exists" ? { kind: "exists" } : created;
  }

  /** Renames and/or replaces the script `id` (JMAP SieveScript/set update). */
  async update(
    userId: number,
    id: number,
    changes: { name?: string; bytes?: Uint8Array },
  ): Promise<ScriptRefusal | null> {
    if (changes.name !== undefined && !isScriptName(changes.name)) return { kind: "bad-name" };
    let source: string | undefined;
    if (changes.bytes !== undefined) {
      const checked = this.checkSource(changes.bytes);
      if (!("source" in checked)) return checked;
      source = checked.source;
    }
    const result = await this.store.sieveScripts.updateScript(userId, id, { name: changes.name, source });
    return result === "updated" ? null : { kind: result };
  }
}
