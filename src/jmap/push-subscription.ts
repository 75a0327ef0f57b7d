// PushSubscription/get and /set (RFC 8620 §7.2): where a user's devices want StateChanges POSTed. Not
// tied to an account (no accountId, no state); a created subscription is sent a PushVerification and is
// pushed to only once the client sets the code it received. The HTTP side is PushSender's.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { StoreError } from "../store/errors.js";
import type { PushKeys, PushSubscriptionRecord, Store } from "../store/types.js";
import { CORE } from "./capabilities.js";
import { utcDate } from "./email-methods.js";
import { invalidArguments, MethodError } from "./errors.js";
import { readIds } from "./get-ids.js";
import { attempt, invalidProperty, readSetArguments, refuse, resolveId, SetResults } from "./set.js";
import type { Json, JsonObject, Method } from "./types.js";
import { readPushKeys } from "./web-push.js";

/** What the methods need of the push delivery (src/http/push-sender.ts). */
export interface PushSender {
  /** Null when pushes may go to the URL; otherwise why not (scheme, a private address). */
  checkUrl(url: URL): Promise<string | null>;
  /** POSTs the PushVerification (RFC 8620 §7.2.2) in the background; a failure is logged. */
  sendVerification(subscription: PushSubscriptionRecord, code: string): void;
  /** The user's subscriptions changed (verified, types, destroyed): push from what they are now. */
  subscriptionsChanged(userId: number): void;
}

export interface PushSubscriptionOptions {
  store: Pick<Store, "pushSubscriptions">;
  sender: PushSender;
  maxObjectsInGet: number;
  maxObjectsInSet: number;
  now?: () => Date;
}

/** Subscriptions one user may hold at once: one per device, with room for stale ones. */
export const MAX_SUBSCRIPTIONS_PER_USER = 50;
/** The longest a subscription lives before its client must extend it (the server's choice, §7.2). */
export const MAX_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;

/** url and keys may hold a device's secrets: /get never returns them (RFC 8620 §7.2.1). */
const PROPERTIES = ["id", "deviceClientId", "verificationCode", "expires", "types"];
const PRIVATE_PROPERTIES = new Set(["url", "keys"]);
const CREATE_PROPERTIES = new Set(["deviceClientId", "url", "keys", "verificationCode", "expires", "types"]);
const IMMUTABLE = new Set(["id", "deviceClientId", "url", "keys"]);

export function hashCode(code: string): string {
  return createHash("sha256").update(code).digest("base64url");
}

function toObject(record: PushSubscriptionRecord): Record<string, Json> {
  return {
    id: record.id,
    deviceClientId: record.deviceClientId,
    verificationCode: record.verificationCode,
    expires: utcDate(record.expires),
    types: record.types,
  };
}

export function pushSubscriptionGet(options: PushSubscriptionOptions): Method {
  const now = options.now ?? (() => new Date());
  return {
    capability: CORE,
    needsAccount: false,
    writes: false,
    async run(args, context) {
      if (args.accountId !== undefined) throw invalidArguments("PushSubscription/get takes no accountId");
      const ids = readIds(args, options.maxObjectsInGet, "PushSubscription/get", context);
      const { properties } = args;
      if (properties !== undefined && properties !== null) {
        if (!Array.isArray(properties) || properties.some((name) => typeof name !== "string")) {
          throw invalidArguments('"properties" must be null or an array of property names');
        }
        const secret = properties.filter((name) => PRIVATE_PROPERTIES.has(name as string));
        if (secret.length > 0) {
          throw new MethodError(
            "forbidden",
            `${secret.join(", ")} of a push subscription are never returned`,
          );
        }
        const unknown = properties.filter((name) => !PROPERTIES.includes(name as string));
        if (unknown.length > 0) {
          throw invalidArguments(`PushSubscription has no properties ${unknown.join(", ")}`);
        }
      }
      const wanted = new Set(["id", ...((properties as string[] | null | undefined) ?? PROPERTIES)]);
      const all = await options.store.pushSubscriptions.listPushSubscriptions(context.account.userId, now());
      const byId = new Map(all.map((record) => [record.id, record]));
      const found = ids === null ? all : ids.flatMap((id) => byId.get(id) ?? []);
      return {
        list: found.map((record) =>
          Object.fromEntries(Object.entries(toObject(record)).filter(([name]) => wanted.has(name))),
        ),
        notFound: ids === null ? [] : ids.filter((id) => !byId.has(id)),
      };
    },
  };
}

function readTypes(value: Json | undefined): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((type) => typeof type !== "string")) {
    invalidProperty("types", "types must be null or a list of data type names");
  }
  return [...new Set(value as string[])];
}

/** The expiry the server keeps: at most MAX_EXPIRY_MS away; a time already past is refused. */
function readExpires(value: Json | undefined, now: Date): Date {
  const latest = new Date(now.getTime() + MAX_EXPIRY_MS);
  if (value === undefined || value === null) return latest;
  const time = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (
    typeof value !== "string" ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) ||
    Number.isNaN(time)
  ) {
    invalidProperty("expires", "expires must be null or a UTCDate");
  }
  if (time <= now.getTime()) invalidProperty("expires", "expires is in the past");
  return new Date(Math.min(time, latest.getTime()));
}

/** The created or updated answer names expires when the server chose another than the client's. */
function expiresAnswer(asked: Json | undefined, kept: Date): JsonObject {
  const shown = utcDate(kept);
  return asked === shown ? {} : { expires: shown };
}

export function pushSubscriptionSet(options: PushSubscriptionOptions): Method {
  const now = options.now ?? (() => new Date());
  const { store, sender } = options;
  return {
    capability: CORE,
    needsAccount: false,
    writes: false,
    async run(args, context) {
      if (args.accountId !== undefined) throw invalidArguments("PushSubscription/set takes no accountId");
      if (args.ifInState !== undefined) throw invalidArguments("PushSubscription/set takes no ifInState");
      const { create, update, destroy } = readSetArguments(
        args,
        options.maxObjectsInSet,
        "PushSubscription/set",
      );
      const userId = context.account.userId;
      const results = new SetResults();
      let changed = false;

      for (const [creationId, object] of create) {
        await attempt(results.notCreated, creationId, async () => {
          const unknown = Object.keys(object).filter((name) => !CREATE_PROPERTIES.has(name));
          if (unknown.length > 0) {
            refuse("invalidProperties", `cannot set ${unknown.join(", ")} on create`, unknown);
          }
          const { deviceClientId, url, verificationCode } = object;
          if (typeof deviceClientId !== "string" || deviceClientId === "" || deviceClientId.length > 255) {
            invalidProperty("deviceClientId", "deviceClientId must be a string of 1 to 255 characters");
          }
          let parsed: URL;
          try {
            parsed = new URL(String(url));
          } catch {
            invalidProperty("url", "url must be an absolute URL");
          }
          if (typeof url !== "string" || url.length > 2048)
            invalidProperty("url", "url must be a URL string");
          const refusal = await sender.checkUrl(parsed);
          if (refusal !== null) invalidProperty("url", refusal);
          let keys: PushKeys | null;
          try {
            keys = readPushKeys(object.keys);
          } catch (error) {
            invalidProperty("keys", (error as Error).message);
          }
          if (verificationCode !== undefined && verificationCode !== null) {
            invalidProperty(
              "verificationCode",
              "verificationCode is set by the client only after it is sent one",
            );
          }
          const expires = readExpires(object.expires, now());
          const code = randomBytes(16).toString("base64url");
          let record: PushSubscriptionRecord;
          try {
            record = await store.pushSubscriptions.createPushSubscription(
              userId,
              {
                id: randomBytes(12).toString("base64url"),
                deviceClientId,
                url,
                keys,
                verificationHash: hashCode(code),
                expires,
                types: readTypes(object.types),
              },
              { max: MAX_SUBSCRIPTIONS_PER_USER, now: now() },
            );
          } catch (error) {
            if (error instanceof StoreError && error.code === "full") {
              refuse("overQuota", `at most ${MAX_SUBSCRIPTIONS_PER_USER} push subscriptions per user`);
            }
            throw error;
          }
          context.createdIds.set(creationId, record.id);
          results.created[creationId] = { id: record.id, ...expiresAnswer(object.expires, expires) };
          sender.sendVerification(record, code);
        });
      }

      const held = new Map(
        (await store.pushSubscriptions.listPushSubscriptions(userId, now())).map((record) => [
          record.id,
          record,
        ]),
      );
      for (const [key, patch] of update) {
        await attempt(results.notUpdated, key, async () => {
          const id = resolveId(key, context.createdIds);
          const record = id === null ? undefined : held.get(id);
          if (record === undefined) refuse("notFound", `no push subscription ${key}`);
          const fixed = Object.keys(patch).filter((name) => IMMUTABLE.has(name));
          if (fixed.length > 0) {
            refuse("invalidProperties", `${fixed.join(", ")} cannot change; destroy and create anew`, fixed);
          }
          const unknown = Object.keys(patch).filter((name) => !PROPERTIES.includes(name));
          if (unknown.length > 0) refuse("invalidProperties", `no properties ${unknown.join(", ")}`, unknown);
          const change: { verificationCode?: string; expires?: Date; types?: string[] | null } = {};
          const answer: JsonObject = {};
          if ("verificationCode" in patch) {
            const code = patch.verificationCode;
            if (typeof code !== "string" || !sameHash(hashCode(code), record.verificationHash)) {
              invalidProperty("verificationCode", "this is not the verification code sent to the URL");
            }
            change.verificationCode = code;
          }
          if ("expires" in patch) {
            change.expires = readExpires(patch.expires, now());
            Object.assign(answer, expiresAnswer(patch.expires, change.expires));
          }
          if ("types" in patch) change.types = readTypes(patch.types);
          await store.pushSubscriptions.updatePushSubscription(userId, record.id, change);
          results.updated[key] = Object.keys(answer).length > 0 ? answer : null;
          changed = true;
        });
      }

      for (const key of destroy) {
        await attempt(results.notDestroyed, key, async () => {
          const id = resolveId(key, context.createdIds);
          if (id === null || !(await store.pushSubscriptions.destroyPushSubscription(userId, id))) {
            refuse("notFound", `no push subscription ${key}`);
          }
          results.destroyed.push(key);
          changed = true;
        });
      }

      if (changed) sender.subscriptionsChanged(userId);
      const { accountId: _, oldState: _old, newState: _new, ...response } = results.response("", "", "");
      return response;
    },
  };
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
