// VacationResponse/get and /set (RFC 8621 §8): the user's one vacation setting, which delivery answers
// mail with (delivery/vacation.ts). There is exactly one object, "singleton": it can be read and
// updated, never created or destroyed (§8: those are refused with a "singleton" SetError).

import { createHash } from "node:crypto";
import type { Store, VacationSetting } from "../store/types.js";
import { VACATION_RESPONSE } from "./capabilities.js";
import { UTC_DATE } from "./email-import.js";
import { readIds, readProperties } from "./get-ids.js";
import {
  attempt,
  checkState,
  invalidProperty,
  readSetArguments,
  refuse,
  SetResults,
  setError,
} from "./set.js";
import type { Json, JsonObject, Method } from "./types.js";

export type VacationJmapStore = Pick<Store, "vacation">;

const SINGLETON = "singleton";
const PROPERTIES = ["id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody"] as const;

/** RFC 8620 §1.4 UTCDate, fractions only when there are any. */
function utcDate(date: Date | null): string | null {
  return date === null ? null : date.toISOString().replace(/\.000Z$/, "Z");
}

function toJmap(setting: VacationSetting): JsonObject {
  return {
    id: SINGLETON,
    isEnabled: setting.isEnabled,
    fromDate: utcDate(setting.fromDate),
    toDate: utcDate(setting.toDate),
    subject: setting.subject,
    textBody: setting.textBody,
    htmlBody: setting.htmlBody,
  };
}

/**
 * A hash of the setting: it moves exactly when the setting does, with no counter to keep. Coming back
 * to an earlier setting gives its earlier state, which is harmless here: there is no /changes, and a
 * state names the same content whenever it recurs.
 */
function stateOf(setting: VacationSetting): string {
  return `v${createHash("sha256")
    .update(JSON.stringify(toJmap(setting)))
    .digest("base64url")
    .slice(0, 16)}`;
}

export function vacationResponseGet(store: VacationJmapStore, maxObjects: number): Method {
  return {
    capability: VACATION_RESPONSE,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const wanted = readIds(args, maxObjects, "VacationResponse/get", context);
      const keep = readProperties(args, PROPERTIES);
      const setting = await store.vacation.getVacation(context.account.userId);
      const object = toJmap(setting);
      const shown =
        keep === null ? object : Object.fromEntries(Object.entries(object).filter(([key]) => keep.has(key)));
      return {
        accountId: context.account.accountId,
        state: stateOf(setting),
        list: wanted === null || wanted.includes(SINGLETON) ? [shown] : [],
        notFound: (wanted ?? []).filter((id) => id !== SINGLETON),
      };
    },
  };
}

function readDate(property: string, value: Json): Date | null {
  if (value === null) return null;
  const time = typeof value === "string" && UTC_DATE.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    invalidProperty(property, `${property} must be null or a UTCDate like "2026-12-24T00:00:00Z"`);
  }
  return new Date(time);
}

function readText(property: string, value: Json): string | null {
  if (value !== null && typeof value !== "string")
    invalidProperty(property, `${property} must be null or a string`);
  return value;
}

/** The setting with a patch applied (RFC 8620 §5.3: each key a property, here all at the top level). */
function patched(setting: VacationSetting, patch: JsonObject): VacationSetting {
  const next = { ...setting };
  for (const [property, value] of Object.entries(patch)) {
    switch (property) {
      case "id":
        if (value !== SINGLETON) invalidProperty("id", "id is immutable");
        break;
      case "isEnabled":
        if (typeof value !== "boolean") invalidProperty("isEnabled", "isEnabled must be true or false");
        next.isEnabled = value;
        break;
      case "fromDate":
      case "toDate":
        next[property] = readDate(property, value);
        break;
      case "subject":
      case "textBody":
      case "htmlBody":
        next[property] = readText(property, value);
        break;
      default:
        invalidProperty(property, `VacationResponse has no property ${JSON.stringify(property)}`);
    }
  }
  return next;
}

export function vacationResponseSet(store: VacationJmapStore, maxObjectsInSet: number): Method {
  return {
    capability: VACATION_RESPONSE,
    needsAccount: true,
    writes: true,
    async run(args, context) {
      const set = readSetArguments(args, maxObjectsInSet, "VacationResponse/set");
      const { userId } = context.account;
      let setting = await store.vacation.getVacation(userId);
      const oldState = stateOf(setting);
      checkState(set.ifInState, oldState);
      const results = new SetResults();
      for (const key of set.create.keys()) {
        results.notCreated[key] = setError("singleton", "there is only the one VacationResponse; update it");
      }
      for (const [id, patch] of set.update) {
        await attempt(results.notUpdated, id, async () => {
          if (id !== SINGLETON) refuse("notFound", `the one VacationResponse is "${SINGLETON}"`);
          const next = patched(setting, patch);
          await store.vacation.setVacation(userId, next);
          setting = next;
          results.updated[id] = null;
        });
      }
      for (const id of set.destroy) {
        results.notDestroyed[id] =
          id === SINGLETON
            ? setError("singleton", "the VacationResponse cannot be destroyed; set isEnabled to false")
            : setError("notFound", `the one VacationResponse is "${SINGLETON}"`);
      }
      return results.response(context.account.accountId, oldState, stateOf(setting));
    },
  };
}
