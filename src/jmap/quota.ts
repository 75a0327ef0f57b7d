// Quota/get, /changes, /query and /queryChanges (RFC 9425): the storage limit `mailroom user quota`
// sets, which IMAP QUOTA, SMTP's 552 5.2.2 and Email/import's overQuota enforce. An account has at most
// one Quota, in octets (IMAP reports the same limit in KiB). One without a limit has none: hardLimit is
// a mandatory UnsignedInt with no way to say "unlimited".
//
// The state is the limit and the usage themselves ("q<limit>.<used>", "qn" for no limit), so every
// earlier Quota can be rebuilt from its state: /changes and /queryChanges compare the two objects and
// need no history, and a changed usage alone is reported as updatedProperties ["used"] (§4.3).

import type { Store } from "../store/types.js";
import { MAIL, QUOTA } from "./capabilities.js";
import { checkUpToId, limitedQueryChanges, readMaxChanges } from "./changes.js";
import { invalidArguments, MethodError } from "./errors.js";
import { compileFilter } from "./filter.js";
import { readIds, readProperties } from "./get-ids.js";
import { applyWindow, readWindow } from "./query-window.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

export type QuotaJmapStore = Pick<Store, "quotas">;

const QUOTA_ID = "storage";
const PROPERTIES = [
  "id",
  "resourceType",
  "used",
  "hardLimit",
  "scope",
  "name",
  "types",
  "warnLimit",
  "softLimit",
  "description",
] as const;

interface Usage {
  limit: number;
  used: number;
}

function stateOf(usage: Usage | null): string {
  return usage === null ? "qn" : `q${usage.limit}.${usage.used}`;
}

/** The usage a state of ours names, null for "no quota"; undefined for a string we never gave. */
function usageOf(state: string): Usage | null | undefined {
  if (state === "qn") return null;
  const match = /^q(\d{1,15})\.(\d{1,15})$/.exec(state);
  return match ? { limit: Number(match[1]), used: Number(match[2]) } : undefined;
}

async function currentUsage(store: QuotaJmapStore, userId: number): Promise<Usage | null> {
  const { limit, used } = await store.quotas.getQuota(userId);
  return limit === null ? null : { limit, used };
}

/** What Quota/get would answer as its state now, for push. */
export async function quotaState(store: QuotaJmapStore, userId: number): Promise<string> {
  return stateOf(await currentUsage(store, userId));
}

/**
 * The Quota as this request may see it. Its one type is Email, a mail type: a client that did not ask
 * for the mail capability gets no Quota at all (RFC 9425 §4.1: types the client did not ask for are
 * left out, and a Quota left with none is not returned).
 */
function quotaObject(usage: Usage | null, context: MethodContext): JsonObject | null {
  if (usage === null || !context.using.has(MAIL)) return null;
  return {
    id: QUOTA_ID,
    resourceType: "octets",
    used: usage.used,
    hardLimit: usage.limit,
    scope: "account",
    name: context.account.address,
    types: ["Email"],
    warnLimit: null,
    softLimit: null,
    description: "Mail storage: the size of every message in every mailbox",
  };
}

function readSince(args: JsonObject, key: "sinceState" | "sinceQueryState", method: string): Usage | null {
  const value = args[key];
  if (typeof value !== "string") throw invalidArguments(`"${key}" must be a state string`);
  const usage = usageOf(value);
  if (usage === undefined) {
    throw new MethodError(
      "cannotCalculateChanges",
      `${JSON.stringify(value)} is not a state of this server; call ${method} again`,
    );
  }
  return usage;
}

export function quotaGet(store: QuotaJmapStore, maxObjects: number): Method {
  return {
    capability: QUOTA,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const wanted = readIds(args, maxObjects, "Quota/get", context);
      const keep = readProperties(args, PROPERTIES);
      const usage = await currentUsage(store, context.account.userId);
      const quota = quotaObject(usage, context);
      const found = quota !== null && (wanted === null || wanted.includes(QUOTA_ID));
      const shown =
        quota === null || keep === null
          ? quota
          : Object.fromEntries(Object.entries(quota).filter(([key]) => keep.has(key)));
      return {
        accountId: context.account.accountId,
        state: stateOf(usage),
        list: found && shown ? [shown] : [],
        notFound: (wanted ?? []).filter((id) => id !== QUOTA_ID || quota === null),
      };
    },
  };
}

export function quotaChanges(store: QuotaJmapStore): Method {
  return {
    capability: QUOTA,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const before = readSince(args, "sinceState", "Quota/get");
      readMaxChanges(args);
      const now = await currentUsage(store, context.account.userId);
      const old = quotaObject(before, context);
      const current = quotaObject(now, context);
      const moved = old !== null && current !== null && stateOf(before) !== stateOf(now);
      return {
        accountId: context.account.accountId,
        oldState: args.sinceState as string,
        newState: stateOf(now),
        hasMoreChanges: false,
        created: old === null && current !== null ? [QUOTA_ID] : [],
        updated: moved ? [QUOTA_ID] : [],
        destroyed: old !== null && current === null ? [QUOTA_ID] : [],
        updatedProperties: moved && before?.limit === now?.limit ? ["used"] : null,
      };
    },
  };
}

/** §4.4: name contains, scope one of, resourceType equals, types contains. */
function quotaFilter(filter: Json | undefined) {
  return compileFilter<JsonObject>(filter, (key, value) => {
    switch (key) {
      case "name":
        if (typeof value !== "string") throw new MethodError("unsupportedFilter", "name must be a string");
        return (quota) => (quota.name as string).includes(value);
      case "scope":
        if (!Array.isArray(value) || value.some((each) => typeof each !== "string"))
          throw new MethodError("unsupportedFilter", "scope must be a list of strings");
        return (quota) => value.includes(quota.scope as string);
      case "resourceType":
        if (typeof value !== "string")
          throw new MethodError("unsupportedFilter", "resourceType must be a string");
        return (quota) => quota.resourceType === value;
      case "type":
        if (typeof value !== "string") throw new MethodError("unsupportedFilter", "type must be a string");
        return (quota) => (quota.types as string[]).includes(value);
      default:
        throw new MethodError("unsupportedFilter", `Quota/query cannot filter on ${JSON.stringify(key)}`);
    }
  });
}

/** §4.4: sorting by name and used. With one Quota per account there is no order to make, only to check. */
function checkSort(sort: Json | undefined): void {
  const comparators = sort === undefined || sort === null ? [] : sort;
  if (!Array.isArray(comparators)) throw invalidArguments('"sort" must be an array of comparators or null');
  for (const comparator of comparators) {
    if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator)) {
      throw invalidArguments("each comparator must be an object");
    }
    if (comparator.property !== "name" && comparator.property !== "used") {
      throw new MethodError(
        "unsupportedSort",
        `Quota/query cannot sort by ${JSON.stringify(comparator.property)}; use name or used`,
      );
    }
  }
}

function queryIds(quota: JsonObject | null, args: JsonObject): string[] {
  const matches = quotaFilter(args.filter);
  checkSort(args.sort);
  return quota !== null && matches(quota) ? [QUOTA_ID] : [];
}

export function quotaQuery(store: QuotaJmapStore): Method {
  return {
    capability: QUOTA,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const window = readWindow(args);
      const usage = await currentUsage(store, context.account.userId);
      const ids = queryIds(quotaObject(usage, context), args);
      return {
        accountId: context.account.accountId,
        queryState: stateOf(usage),
        canCalculateChanges: true,
        ...applyWindow(ids, window),
      };
    },
  };
}

export function quotaQueryChanges(store: QuotaJmapStore): Method {
  return {
    capability: QUOTA,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const before = readSince(args, "sinceQueryState", "Quota/query");
      const maxChanges = readMaxChanges(args);
      checkUpToId(args);
      const now = await currentUsage(store, context.account.userId);
      const oldIds = queryIds(quotaObject(before, context), args);
      const ids = queryIds(quotaObject(now, context), args);
      // A Quota whose state moved may have moved in the order: removed, and added again if it still
      // matches (RFC 8620 §5.6); one that left the results is removed.
      const changed = new Set(stateOf(before) === stateOf(now) ? [] : [...oldIds, ...ids]);
      const changes = limitedQueryChanges(ids, changed, maxChanges);
      return {
        accountId: context.account.accountId,
        oldQueryState: args.sinceQueryState as string,
        newQueryState: stateOf(now),
        ...(args.calculateTotal === true ? { total: ids.length } : {}),
        removed: changes.removed,
        added: changes.added,
      };
    },
  };
}
