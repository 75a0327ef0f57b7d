// The /changes and /queryChanges methods (RFC 8620 §5.2, §5.6) of every type: the store says what was
// created, updated and destroyed since a state; this turns its numbers into the type's ids and its
// refusals into cannotCalculateChanges.

import { StoreError } from "../store/errors.js";
import type { Changes } from "../store/types.js";
import { MAIL } from "./capabilities.js";
import { invalidArguments, MethodError } from "./errors.js";
import { parseState, stateOf } from "./ids.js";
import { type QueryChanges, queryChangesOf } from "./query-changes.js";
import type { JsonObject, Method } from "./types.js";

/** The maxChanges of /changes and /queryChanges (RFC 8620 §5.2, §5.6): a positive integer, or none. */
export function readMaxChanges(args: JsonObject): number | undefined {
  const { maxChanges } = args;
  if (maxChanges === undefined || maxChanges === null) return undefined;
  if (typeof maxChanges !== "number" || !Number.isInteger(maxChanges) || maxChanges < 1) {
    throw invalidArguments('"maxChanges" must be a positive integer or null');
  }
  return maxChanges;
}

/** upToId of /queryChanges: checked, and not used (§5.6 lets a server report changes past it). */
export function checkUpToId(args: JsonObject): void {
  const { upToId } = args;
  if (upToId !== undefined && upToId !== null && typeof upToId !== "string") {
    throw invalidArguments('"upToId" must be null or an id');
  }
}

/** removed/added for the new result and the changed ids, or tooManyChanges past maxChanges. */
export function limitedQueryChanges(
  ids: readonly string[],
  changed: ReadonlySet<string>,
  maxChanges: number | undefined,
): QueryChanges {
  const changes = queryChangesOf(ids, changed);
  const count = changes.removed.length + changes.added.length;
  if (maxChanges !== undefined && count > maxChanges) {
    throw new MethodError("tooManyChanges", `${count} changes exceed maxChanges ${maxChanges}`);
  }
  return changes;
}

/** A state this server gave; anything else cannot be calculated from (RFC 8620 §5.2, §5.6). */
function sinceOf(state: string): number {
  const since = parseState(state);
  if (since === null) {
    throw new MethodError("cannotCalculateChanges", `${JSON.stringify(state)} is not a state of this server`);
  }
  return since;
}

/** The store's "cannot-calculate" (a truncated history, a future state) as the method error. */
async function calculated<T>(work: Promise<T>, redo: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof StoreError && error.code === "cannot-calculate") {
      throw new MethodError("cannotCalculateChanges", `${error.message}; ${redo}`);
    }
    throw error;
  }
}

export function changesMethod(options: {
  type: string;
  idOf(id: number): string;
  changes(userId: number, since: number, maxChanges?: number): Promise<Changes>;
  /** Mailbox/changes says which properties changed; null means "any of them" (RFC 8621 §2.2). */
  extra?: JsonObject;
}): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { sinceState } = args;
      if (typeof sinceState !== "string") throw invalidArguments('"sinceState" must be a state string');
      const maxChanges = readMaxChanges(args);
      const changes = await calculated(
        options.changes(context.account.userId, sinceOf(sinceState), maxChanges),
        `${options.type}/changes cannot tell; fetch everything again`,
      );
      return {
        accountId: context.account.accountId,
        oldState: sinceState,
        newState: stateOf(changes.newState),
        hasMoreChanges: changes.hasMoreChanges,
        created: changes.created.map(options.idOf),
        updated: changes.updated.map(options.idOf),
        destroyed: changes.destroyed.map(options.idOf),
        ...options.extra,
      };
    },
  };
}

/**
 * The /queryChanges methods (RFC 8620 §5.6) of every queryable type: the new result, then the ids whose
 * records changed since the old state (read after the result, so they cover every change it reflects),
 * turned into removed/added by query-changes.ts. upToId is checked and not used: §5.6 lets a server
 * report changes past it.
 */
export function queryChangesMethod(options: {
  type: string;
  /** The whole result (before any window) and the state it was read at. */
  result(args: JsonObject, userId: number): Promise<{ ids: string[]; state: number }>;
  /** The ids whose place in this query's result may have moved since `since`. */
  changed(args: JsonObject, userId: number, since: number, result: readonly string[]): Promise<Set<string>>;
}): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { sinceQueryState, calculateTotal } = args;
      if (typeof sinceQueryState !== "string") {
        throw invalidArguments('"sinceQueryState" must be a state string');
      }
      const maxChanges = readMaxChanges(args);
      checkUpToId(args);
      const since = sinceOf(sinceQueryState);
      const userId = context.account.userId;
      const { ids, state } = await options.result(args, userId);
      const changed = await calculated(
        options.changed(args, userId, since, ids),
        `${options.type}/queryChanges cannot tell; run ${options.type}/query again`,
      );
      const changes = limitedQueryChanges(ids, changed, maxChanges);
      return {
        accountId: context.account.accountId,
        oldQueryState: sinceQueryState,
        newQueryState: stateOf(state),
        ...(calculateTotal === true ? { total: ids.length } : {}),
        removed: changes.removed,
        added: changes.added,
      };
    },
  };
}
