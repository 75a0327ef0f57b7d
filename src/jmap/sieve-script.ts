// SieveScript/get, /changes, /query, /set and /validate (RFC 9661): the user's Sieve scripts, the same
// ones ManageSieve, `mailroom sieve` and delivery use (the store's sieveScripts part). Every write goes
// through the script service (sieve-scripts/service.ts) that ManageSieve uses, so names, size, count
// and validity follow one set of rules whichever protocol writes. A script's content travels as a blob
// (§2.2): /set and /validate read the blob the client uploaded, and a script's own blobId is worked out
// from its text (blob-parts.ts), so it differs from the uploaded one and /set reports it.

import type { ScriptRefusal, ScriptService } from "../sieve-scripts/service.js";
import type { Changes } from "../store/emails.js";
import { StoreError } from "../store/errors.js";
import { MAX_SCRIPT_NAME } from "../store/sieve-scripts.js";
import type { Store, StoredSieveScript } from "../store/types.js";
import { readUserBlob, scriptBlobId } from "./blob-parts.js";
import { SIEVE } from "./capabilities.js";
import { readMaxChanges } from "./changes.js";
import { invalidArguments, MethodError } from "./errors.js";
import { compileFilter } from "./filter.js";
import { type ListedType, listedGet, stateString } from "./listed.js";
import { applyWindow, readWindow } from "./query-window.js";
import {
  attempt,
  checkState,
  invalidProperty,
  readSetArguments,
  refuse,
  resolveId,
  SetRefusal,
  SetResults,
  setError,
} from "./set.js";
import type { Json, JsonObject, Method } from "./types.js";

export type SieveJmapStore = Pick<Store, "sieveScripts" | "blobs">;

export interface SieveJmapDeps {
  store: SieveJmapStore;
  scripts: ScriptService;
}

const PROPERTIES = ["id", "name", "blobId", "isActive"] as const;

const TYPE: ListedType = {
  name: "SieveScript",
  capability: SIEVE,
  properties: PROPERTIES,
  stateLetter: "s",
  idOf: (id) => `S${id}`,
};

function toObject(script: StoredSieveScript): JsonObject {
  return {
    id: TYPE.idOf(script.id),
    name: script.name,
    blobId: scriptBlobId(script),
    isActive: script.active,
  };
}

function storedIdOf(id: string | null): number | null {
  return id !== null && /^S[1-9][0-9]{0,15}$/.test(id) ? Number(id.slice(1)) : null;
}

async function scriptsOf(store: SieveJmapStore, userId: number) {
  const { state, scripts } = await store.sieveScripts.listScriptsWithState(userId);
  return { state: stateString(TYPE, state), scripts, list: scripts.map(toObject) };
}

/** The account's SieveScript state string now (for push). */
export async function sieveScriptState(store: Pick<Store, "sieveScripts">, userId: number): Promise<string> {
  return stateString(TYPE, await store.sieveScripts.scriptState(userId));
}

export function sieveScriptGet(deps: SieveJmapDeps, maxObjects: number): Method {
  return listedGet(TYPE, maxObjects, (userId) => scriptsOf(deps.store, userId));
}

const STATE_PATTERN = new RegExp(`^${TYPE.stateLetter}(0|[1-9][0-9]{0,15})$`);

/**
 * RFC 8620 §5.2, which RFC 9661 §2 takes as it is: at most maxChanges ids, the rest on the next call
 * (hasMoreChanges); cannotCalculateChanges for a state this account never had, or when one write touched
 * more scripts than maxChanges (an activation moves two).
 */
export function sieveScriptChanges(deps: SieveJmapDeps): Method {
  return {
    capability: SIEVE,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { sinceState } = args;
      if (typeof sinceState !== "string") throw invalidArguments('"sinceState" must be a state string');
      const maxChanges = readMaxChanges(args);
      const cannot = (why: string) =>
        new MethodError("cannotCalculateChanges", `${why}; fetch the scripts again with SieveScript/get`);
      if (!STATE_PATTERN.test(sinceState)) {
        throw cannot(`${JSON.stringify(sinceState)} is not a SieveScript state of this server`);
      }
      let changes: Changes;
      try {
        changes = await deps.store.sieveScripts.scriptChanges(
          context.account.userId,
          Number(sinceState.slice(1)),
          maxChanges,
        );
      } catch (error) {
        if (error instanceof StoreError && error.code === "cannot-calculate") throw cannot(error.message);
        throw error;
      }
      return {
        accountId: context.account.accountId,
        oldState: sinceState,
        newState: stateString(TYPE, changes.newState),
        hasMoreChanges: changes.hasMoreChanges,
        created: changes.created.map(TYPE.idOf),
        updated: changes.updated.map(TYPE.idOf),
        destroyed: changes.destroyed.map(TYPE.idOf),
      };
    },
  };
}

/** §2.5: name contains, isActive is. */
function scriptFilter(filter: Json | undefined) {
  return compileFilter<StoredSieveScript>(filter, (key, value) => {
    switch (key) {
      case "name":
        if (typeof value !== "string") throw new MethodError("unsupportedFilter", "name must be a string");
        return (script) => script.name.includes(value);
      case "isActive":
        if (typeof value !== "boolean")
          throw new MethodError("unsupportedFilter", "isActive must be true or false");
        return (script) => script.active === value;
      default:
        throw new MethodError(
          "unsupportedFilter",
          `SieveScript/query cannot filter on ${JSON.stringify(key)}`,
        );
    }
  });
}

type Compare = (a: StoredSieveScript, b: StoredSieveScript) => number;

/** §2.5: sorting by name and isActive; names compare by their code points, as the store lists them. */
function scriptSort(sort: Json | undefined): Compare {
  const comparators = sort === undefined || sort === null ? [] : sort;
  if (!Array.isArray(comparators)) throw invalidArguments('"sort" must be an array of comparators or null');
  const compares: Compare[] = comparators.map((comparator) => {
    if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator)) {
      throw invalidArguments("each comparator must be an object");
    }
    const direction = comparator.isAscending === false ? -1 : 1;
    switch (comparator.property) {
      case "name":
        return (a, b) => direction * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      case "isActive":
        return (a, b) => direction * (Number(a.active) - Number(b.active));
      default:
        throw new MethodError(
          "unsupportedSort",
          `SieveScript/query cannot sort by ${JSON.stringify(comparator.property)}; use name or isActive`,
        );
    }
  });
  return (a, b) => {
    for (const compare of compares) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return a.id - b.id;
  };
}

export function sieveScriptQuery(deps: SieveJmapDeps): Method {
  return {
    capability: SIEVE,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const window = readWindow(args);
      const matches = scriptFilter(args.filter);
      const compare = scriptSort(args.sort);
      const { state, scripts } = await scriptsOf(deps.store, context.account.userId);
      const ids = scripts
        .filter(matches)
        .sort(compare)
        .map((script) => TYPE.idOf(script.id));
      return {
        accountId: context.account.accountId,
        queryState: state,
        // RFC 9661 defines no SieveScript/queryChanges: a client with a handful of scripts queries again.
        canCalculateChanges: false,
        ...applyWindow(ids, window),
      };
    },
  };
}

/** A refusal of the shared script rules as the SetError RFC 9661 §2.4 names for it. */
function refuseScript(refusal: ScriptRefusal, existingId?: string): never {
  switch (refusal.kind) {
    case "bad-name":
      return invalidProperty(
        "name",
        `a script name is 1 to ${MAX_SCRIPT_NAME} octets of UTF-8 without control characters`,
      );
    case "too-large":
      return refuse("tooLarge", `a script may be at most ${refusal.limit} octets on this server`);
    case "not-utf8":
      return refuse("invalidSieve", "the script is not UTF-8");
    case "invalid":
      return refuse("invalidSieve", refusal.errors.map((error) => error.message).join("\n"));
    case "too-many":
      return refuse("overQuota", `an account keeps at most ${refusal.limit} scripts; destroy one first`);
    case "exists":
      throw new SetRefusal({
        ...setError("alreadyExists", "another script has that name"),
        ...(existingId === undefined ? {} : { existingId }),
      });
    case "not-found":
      return refuse("notFound", "there is no such script");
  }
}

export function sieveScriptSet(deps: SieveJmapDeps, maxObjectsInSet: number): Method {
  const { store, scripts } = deps;
  return {
    capability: SIEVE,
    needsAccount: true,
    writes: true,
    async run(args, context) {
      const { ifInState, create, update, destroy } = readSetArguments(
        args,
        maxObjectsInSet,
        "SieveScript/set",
      );
      const activate = args.onSuccessActivateScript ?? null;
      if (activate !== null && typeof activate !== "string") {
        throw invalidArguments('"onSuccessActivateScript" must be a script id or null');
      }
      const deactivate = args.onSuccessDeactivateScript ?? false;
      if (typeof deactivate !== "boolean") {
        throw invalidArguments('"onSuccessDeactivateScript" must be true, false or null');
      }
      const { account } = context;
      const userId = account.userId;
      const before = await scriptsOf(store, userId);
      checkState(ifInState, before.state);
      const results = new SetResults();
      const now = new Date();

      const readContent = async (blobId: Json | undefined): Promise<Uint8Array> => {
        if (typeof blobId !== "string") invalidProperty("blobId", "blobId must name an uploaded blob");
        const blob = await readUserBlob(store, userId, blobId, now);
        if (blob === null) {
          throw new SetRefusal({
            ...setError("blobNotFound", `there is no blob ${blobId}`),
            notFound: [blobId],
          });
        }
        return blob.bytes;
      };
      const existingIdOf = async (name: string) => {
        const found = (await store.sieveScripts.listScriptsWithState(userId)).scripts.find(
          (script) => script.name === name,
        );
        return found === undefined ? undefined : TYPE.idOf(found.id);
      };
      /** RFC 8620 §5.3: a server-set property may be sent back only with the value it has. */
      const checkServerSet = (object: JsonObject, current: JsonObject | null) => {
        for (const key of Object.keys(object)) {
          if (!(PROPERTIES as readonly string[]).includes(key))
            invalidProperty(key, `SieveScript has no property ${key}`);
        }
        if (object.id !== undefined && object.id !== current?.id)
          invalidProperty("id", "id is set by the server");
        // §2.1: isActive changes only through onSuccessActivateScript and onSuccessDeactivateScript.
        if (object.isActive !== undefined && object.isActive !== (current?.isActive ?? false)) {
          invalidProperty(
            "isActive",
            "activate with onSuccessActivateScript, deactivate with onSuccessDeactivateScript",
          );
        }
      };
      const readName = (value: Json | undefined): string | undefined => {
        if (value === undefined || value === null) return undefined;
        if (typeof value !== "string") invalidProperty("name", "name must be a string or null");
        return value;
      };

      for (const [creationId, object] of create) {
        await attempt(results.notCreated, creationId, async () => {
          checkServerSet(object, null);
          // §2.1: a script created without a name is given one.
          const name = readName(object.name) ?? (await freeName(store, userId));
          const created = await scripts.create(userId, name, await readContent(object.blobId));
          if ("kind" in created) refuseScript(created, await existingIdOf(name));
          const result = toObject(created);
          context.createdIds.set(creationId, result.id as string);
          results.created[creationId] = result;
        });
      }
      for (const [id, patch] of update) {
        await attempt(results.notUpdated, id, async () => {
          const storedId = storedIdOf(resolveId(id, context.createdIds));
          const current = before.list.find((object) => object.id === TYPE.idOf(storedId ?? 0)) ?? null;
          if (storedId === null) refuse("notFound", `there is no script ${id}`);
          checkServerSet(patch, current ?? { id: TYPE.idOf(storedId) });
          const name = readName(patch.name);
          const bytes = patch.blobId === undefined ? undefined : await readContent(patch.blobId);
          const refusal = await scripts.update(userId, storedId, { name, bytes });
          if (refusal !== null)
            refuseScript(refusal, name === undefined ? undefined : await existingIdOf(name));
          const after = (await store.sieveScripts.listScriptsWithState(userId)).scripts.find(
            (script) => script.id === storedId,
          );
          // The blob id follows the text, so a new text is a new blobId the client has to be told.
          results.updated[id] =
            bytes !== undefined && after !== undefined ? { blobId: scriptBlobId(after) } : null;
        });
      }
      for (const id of destroy) {
        await attempt(results.notDestroyed, id, async () => {
          const storedId = storedIdOf(resolveId(id, context.createdIds));
          if (storedId === null) refuse("notFound", `there is no script ${id}`);
          switch (await store.sieveScripts.destroyScript(userId, storedId)) {
            case "not-found":
              refuse("notFound", `there is no script ${id}`);
              break;
            case "active":
              // §2.4 (and RFC 5804 §2.10): deactivate it first, e.g. with onSuccessDeactivateScript.
              refuse("sieveIsActive", "the active script cannot be destroyed; deactivate it first");
              break;
            case "destroyed":
              results.destroyed.push(id);
          }
        });
      }

      // §2.4: activation and deactivation happen only when every create, update and destroy succeeded;
      // an id that names no script is ignored.
      const allSucceeded =
        Object.keys(results.notCreated).length === 0 &&
        Object.keys(results.notUpdated).length === 0 &&
        Object.keys(results.notDestroyed).length === 0;
      if (allSucceeded && activate !== null) {
        const target = storedIdOf(resolveId(activate, context.createdIds));
        if (target !== null) await store.sieveScripts.activateScriptById(userId, target);
      } else if (allSucceeded && deactivate) {
        await store.sieveScripts.activateScriptById(userId, null);
      }
      const after = await scriptsOf(store, userId);
      reportActivation(results, context.createdIds, before.scripts, after.scripts);
      return results.response(account.accountId, before.state, after.state);
    },
  };
}

/**
 * §2.4: the script that became active is reported with isActive true, in created or updated; the one
 * that stopped being active in updated with isActive false.
 */
function reportActivation(
  results: SetResults,
  createdIds: ReadonlyMap<string, string>,
  before: StoredSieveScript[],
  after: StoredSieveScript[],
): void {
  const wasActive = before.find((script) => script.active)?.id ?? null;
  const isActive = after.find((script) => script.active)?.id ?? null;
  if (wasActive === isActive) return;
  const mark = (storedId: number, active: boolean) => {
    const id = TYPE.idOf(storedId);
    const creationId = [...createdIds].find(([key, value]) => value === id && key in results.created)?.[0];
    if (creationId !== undefined) {
      (results.created[creationId] as JsonObject).isActive = active;
      return;
    }
    const previous = results.updated[id];
    results.updated[id] = {
      ...(previous !== null && typeof previous === "object" ? previous : {}),
      isActive: active,
    };
  };
  if (wasActive !== null) mark(wasActive, false);
  if (isActive !== null) mark(isActive, true);
}

/** The first of "script", "script-2", "script-3" … that the user has no script by. */
async function freeName(store: SieveJmapStore, userId: number): Promise<string> {
  const { scripts } = await store.sieveScripts.listScriptsWithState(userId);
  const taken = new Set(scripts.map((script) => script.name));
  let name = "script";
  for (let n = 2; taken.has(name); n++) name = `script-${n}`;
  return name;
}

/** §2.6: whether a blob holds a script this server would store, without storing it. */
export function sieveScriptValidate(deps: SieveJmapDeps): Method {
  return {
    capability: SIEVE,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { blobId } = args;
      if (typeof blobId !== "string") throw invalidArguments('"blobId" must be the id of a blob');
      const blob = await readUserBlob(deps.store, context.account.userId, blobId, new Date());
      let error: JsonObject | null = null;
      if (blob === null) {
        error = { ...setError("blobNotFound", `there is no blob ${blobId}`), notFound: [blobId] };
      } else {
        const checked = deps.scripts.checkSource(blob.bytes);
        if (!("source" in checked)) {
          try {
            refuseScript(checked);
          } catch (refusal) {
            error = (refusal as SetRefusal).error;
          }
        }
      }
      return { accountId: context.account.accountId, error };
    },
  };
}
