// Identity/get, /changes and /set (RFC 8621 §6): the addresses the user sends as. The default identity,
// the account's own address with the directory's display name for the user (`mailroom user name`), is
// worked out from the account each time and cannot be changed or destroyed (mayDelete false), so a
// user always has one; the identities the user makes are kept by the store's identities part. Their
// email must be one port 587 lets the user send as (ownsAddress in src/delivery/route.ts: the own
// address, +tags of it, aliases reaching the user), else forbiddenFrom.

import { createHash } from "node:crypto";
import { ownsAddress } from "../delivery/route.js";
import { StoreError } from "../store/errors.js";
import type { IdentityAddress, IdentityFields, Store, StoredIdentity } from "../store/types.js";
import { SUBMISSION } from "./capabilities.js";
import { type ListedType, listedChanges, listedGet, stateString } from "./listed.js";
import {
  attempt,
  checkState,
  invalidProperty,
  readSetArguments,
  refuse,
  resolveId,
  SetResults,
} from "./set.js";
import type { AccountContext, Json, JsonObject, Method } from "./types.js";

export type IdentityMethodStore = Pick<Store, "identities" | "directory">;

const PROPERTIES = [
  "id",
  "name",
  "email",
  "replyTo",
  "bcc",
  "textSignature",
  "htmlSignature",
  "mayDelete",
] as const;

type IdentityObject = Record<(typeof PROPERTIES)[number], Json>;

/** Stable for the address, in the Id alphabet (RFC 8620 §1.2). */
function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 12);
}

/** `name`: the user's display name from the directory (`mailroom user name`), "" when none is kept. */
function defaultIdentity(account: Pick<AccountContext, "address">, name = ""): IdentityObject {
  return {
    id: defaultIdOf(account.address),
    name,
    email: account.address,
    replyTo: null,
    bcc: null,
    textSignature: "",
    htmlSignature: "",
    mayDelete: false,
  };
}

function defaultIdOf(address: string): string {
  return `I${hashOf(address)}`;
}

/** Stored identities are "S" and the row id: never a default identity's "I" and hash. */
function toObject(identity: StoredIdentity): IdentityObject {
  const { id, ...fields } = identity;
  return {
    id: TYPE.idOf(id),
    ...(fields as unknown as Record<string, Json>),
    mayDelete: true,
  } as IdentityObject;
}

function storedIdOf(id: string | null): number | null {
  return id !== null && /^S[1-9][0-9]{0,15}$/.test(id) ? Number(id.slice(1)) : null;
}

/** All of the user's identities, default first, and their state. */
export async function identitiesOf(
  store: IdentityMethodStore,
  account: Pick<AccountContext, "userId" | "address">,
): Promise<{ state: string; list: IdentityObject[] }> {
  const { state, identities } = await store.identities.list(account.userId);
  const user = await store.directory.getUserById(account.userId);
  return {
    state: stateString(TYPE, state),
    list: [defaultIdentity(account, user?.name ?? ""), ...identities.map(toObject)],
  };
}

/** The Identity state string (as Identity/get gives it), for push. */
export async function identityState(store: Pick<Store, "identities">, userId: number): Promise<string> {
  return stateString(TYPE, (await store.identities.list(userId)).state);
}

const TYPE: ListedType = {
  name: "Identity",
  capability: SUBMISSION,
  properties: PROPERTIES,
  stateLetter: "i",
  idOf: (id) => `S${id}`,
  // Its name is the directory's display name: the store moves the state when that changes.
  accountObjectId: defaultIdOf,
};

export function identityGet(store: IdentityMethodStore, maxObjects: number): Method {
  return listedGet(TYPE, maxObjects, (userId, address) => identitiesOf(store, { userId, address }));
}

/** RFC 8620 §5.2 from the store's identity changes. */
export function identityChanges(store: IdentityMethodStore): Method {
  return listedChanges(TYPE, (userId, since) => store.identities.changes(userId, since));
}

const SETTABLE = ["name", "email", "replyTo", "bcc", "textSignature", "htmlSignature"] as const;

function readAddresses(property: string, value: Json | undefined): IdentityAddress[] | null | undefined {
  if (value === undefined || value === null) return value;
  if (
    !Array.isArray(value) ||
    value.some(
      (a) =>
        a === null ||
        typeof a !== "object" ||
        Array.isArray(a) ||
        typeof a.email !== "string" ||
        (a.name !== undefined && a.name !== null && typeof a.name !== "string"),
    )
  ) {
    invalidProperty(property, `${property} must be null or a list of EmailAddress objects`);
  }
  return (value as JsonObject[]).map((a) => ({
    name: (a.name as string | null) ?? null,
    email: a.email as string,
  }));
}

/** The settable properties of `object`, checked; server-set ones refused (RFC 8620 §5.3). */
function readFields(object: JsonObject, creating: boolean): Partial<IdentityFields> {
  const fields: Partial<IdentityFields> = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === "id" || key === "mayDelete") invalidProperty(key, `${key} is set by the server`);
    if (!(SETTABLE as readonly string[]).includes(key))
      invalidProperty(key, `Identity has no property ${key}`);
    if (key === "replyTo" || key === "bcc") fields[key] = readAddresses(key, value);
    else if (typeof value !== "string") invalidProperty(key, `${key} must be a string`);
    else fields[key as "name" | "email" | "textSignature" | "htmlSignature"] = value;
  }
  // RFC 8621 §6: email is immutable once the identity exists.
  if (!creating && fields.email !== undefined) invalidProperty("email", "an identity's email cannot change");
  if (creating && fields.email === undefined) invalidProperty("email", "an identity needs an email");
  return fields;
}

export function identitySet(store: IdentityMethodStore, maxObjectsInSet: number): Method {
  return {
    capability: SUBMISSION,
    needsAccount: true,
    writes: true,
    async run(args, context) {
      const { ifInState, create, update, destroy } = readSetArguments(args, maxObjectsInSet, "Identity/set");
      const { account } = context;
      const oldState = (await identitiesOf(store, account)).state;
      checkState(ifInState, oldState);
      const results = new SetResults();
      const storeRefusal = (error: unknown): never => {
        if (error instanceof StoreError && error.code === "invalid")
          refuse("invalidProperties", error.message);
        if (error instanceof StoreError && error.code === "not-found") refuse("notFound", error.message);
        throw error;
      };
      const defaultId = defaultIdentity(account).id;

      for (const [creationId, object] of create) {
        await attempt(results.notCreated, creationId, async () => {
          const fields = readFields(object, true);
          if (!(await ownsAddress(store, fields.email as string, account))) {
            refuse("forbiddenFrom", `${account.address} may not send as ${fields.email}`);
          }
          const { identity } = await store.identities
            .create(account.userId, {
              name: "",
              replyTo: null,
              bcc: null,
              textSignature: "",
              htmlSignature: "",
              ...fields,
            } as IdentityFields)
            .catch(storeRefusal);
          const id = `S${identity.id}`;
          context.createdIds.set(creationId, id);
          results.created[creationId] = { id, mayDelete: true };
        });
      }
      for (const [id, patch] of update) {
        await attempt(results.notUpdated, id, async () => {
          const storedId = storedIdOf(resolveId(id, context.createdIds));
          if (resolveId(id, context.createdIds) === defaultId) {
            refuse("forbidden", "the account's own identity cannot be changed; create another");
          }
          if (storedId === null) refuse("notFound", `there is no identity ${id}`);
          await store.identities
            .update(account.userId, storedId, readFields(patch, false))
            .catch(storeRefusal);
          results.updated[id] = null;
        });
      }
      for (const id of destroy) {
        await attempt(results.notDestroyed, id, async () => {
          const resolved = resolveId(id, context.createdIds);
          if (resolved === defaultId) refuse("forbidden", "the account's own identity cannot be destroyed");
          const storedId = storedIdOf(resolved);
          if (storedId === null) refuse("notFound", `there is no identity ${id}`);
          await store.identities.destroy(account.userId, storedId).catch(storeRefusal);
          results.destroyed.push(id);
        });
      }
      const newState = (await identitiesOf(store, account)).state;
      return results.response(account.accountId, oldState, newState);
    },
  };
}
