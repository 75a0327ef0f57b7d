// What every /set-shaped method shares (RFC 8620 §5.3, RFC 8621 §4.8): reading create/update/destroy
// within maxObjectsInSet, ifInState, "#creationId" ids, SetErrors, and maps that are null when empty.

import { quotaExceededBy } from "../store/quotas.js";
import type { Store } from "../store/types.js";
import { invalidArguments, MethodError } from "./errors.js";
import type { Json, JsonObject } from "./types.js";

/** A SetError (RFC 8620 §5.3): `properties` only for invalidProperties. */
export function setError(type: string, description: string, properties?: readonly string[]): JsonObject {
  return { type, description, ...(properties === undefined ? {} : { properties: [...properties] }) };
}

/** One refusal of one object: what a create, update or destroy throws to land in its not* map. */
export class SetRefusal extends Error {
  constructor(readonly error: JsonObject) {
    super(String(error.description));
    this.name = "SetRefusal";
  }
}

export function refuse(type: string, description: string, properties?: readonly string[]): never {
  throw new SetRefusal(setError(type, description, properties));
}

/**
 * Refuses, with RFC 8620 §5.3's overQuota, an addition of `size` octets that would take the user past
 * their storage limit — the same limit IMAP APPEND and SMTP delivery keep.
 */
export async function requireRoom(store: Pick<Store, "quotas">, userId: number, size: number): Promise<void> {
  const quota = await quotaExceededBy(store.quotas, userId, size);
  if (quota !== null) {
    refuse(
      "overQuota",
      `this would take the account over its ${quota.limit}-octet quota (${quota.used} in use); destroy some mail first`,
    );
  }
}

export function invalidProperty(property: string, description: string): never {
  refuse("invalidProperties", description, [property]);
}

/** A map argument of objects (create, update, Email/import's emails); empty when null or absent. */
export function objectMap(args: JsonObject, key: string): Map<string, JsonObject> {
  const value = args[key];
  if (value === undefined || value === null) return new Map();
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidArguments(`"${key}" must be null or an object`);
  }
  const entries = Object.entries(value);
  for (const [id, object] of entries) {
    if (object === null || typeof object !== "object" || Array.isArray(object)) {
      throw invalidArguments(`"${key}/${id}" must be an object`);
    }
  }
  return new Map(entries as Array<[string, JsonObject]>);
}

/** The ifInState argument: null or a state string. */
export function readIfInState(args: JsonObject): string | null {
  const { ifInState } = args;
  if (ifInState === undefined || ifInState === null) return null;
  if (typeof ifInState !== "string") throw invalidArguments('"ifInState" must be null or a state string');
  return ifInState;
}

/** RFC 8620 §5.3: a client's ifInState that is not the current state refuses the whole call. */
export function checkState(ifInState: string | null, state: string): void {
  if (ifInState !== null && ifInState !== state) {
    throw new MethodError(
      "stateMismatch",
      `ifInState is ${ifInState} but the state is ${state}; fetch the changes and try again`,
    );
  }
}

export function checkSetSize(count: number, maxObjectsInSet: number, method: string): void {
  if (count > maxObjectsInSet) {
    throw new MethodError(
      "requestTooLarge",
      `${method} names ${count} objects; at most ${maxObjectsInSet} are allowed (maxObjectsInSet)`,
    );
  }
}

export interface SetArguments {
  ifInState: string | null;
  create: Map<string, JsonObject>;
  update: Map<string, JsonObject>;
  destroy: string[];
}

export function readSetArguments(args: JsonObject, maxObjectsInSet: number, method: string): SetArguments {
  const create = objectMap(args, "create");
  const update = objectMap(args, "update");
  const { destroy } = args;
  if (
    destroy !== undefined &&
    destroy !== null &&
    (!Array.isArray(destroy) || destroy.some((id) => typeof id !== "string"))
  ) {
    throw invalidArguments('"destroy" must be null or an array of ids');
  }
  const destroyed = [...new Set((destroy ?? []) as string[])];
  checkSetSize(create.size + update.size + destroyed.length, maxObjectsInSet, method);
  return { ifInState: readIfInState(args), create, update, destroy: destroyed };
}

/**
 * An id as a client may write it in a /set (RFC 8620 §5.3): "#" and a creation id of this request names
 * what that creation made. Null for a creation id nothing was created under.
 */
export function resolveId(id: string, createdIds: ReadonlyMap<string, string>): string | null {
  return id.startsWith("#") ? (createdIds.get(id.slice(1)) ?? null) : id;
}

/** RFC 8620 §5.3: created, updated, notCreated … are null when they hold nothing. */
export function orNull(map: JsonObject): JsonObject | null {
  return Object.keys(map).length > 0 ? map : null;
}

export function listOrNull(list: Json[]): Json[] | null {
  return list.length > 0 ? list : null;
}

/** Runs one create, update or destroy; its refusal goes into `failures` under its key. */
export async function attempt(failures: JsonObject, key: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof SetRefusal)) throw error;
    failures[key] = error.error;
  }
}

/** The six result maps of a /set, filled as it goes; `response` is its answer (RFC 8620 §5.3). */
export class SetResults {
  readonly created: JsonObject = {};
  readonly updated: JsonObject = {};
  readonly destroyed: string[] = [];
  readonly notCreated: JsonObject = {};
  readonly notUpdated: JsonObject = {};
  readonly notDestroyed: JsonObject = {};

  response(accountId: string, oldState: string, newState: string): JsonObject {
    return {
      accountId,
      oldState,
      newState,
      created: orNull(this.created),
      updated: orNull(this.updated),
      destroyed: listOrNull(this.destroyed),
      notCreated: orNull(this.notCreated),
      notUpdated: orNull(this.notUpdated),
      notDestroyed: orNull(this.notDestroyed),
    };
  }
}
