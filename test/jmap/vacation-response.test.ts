// VacationResponse/get and /set (RFC 8621 §8) over an in-memory vacation part: the singleton, its state,
// patches and their refusals, and create/destroy refused with the "singleton" SetError.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { MethodError } from "../../src/jmap/errors.js";
import type { JsonObject } from "../../src/jmap/types.js";
import {
  type VacationJmapStore,
  vacationResponseGet,
  vacationResponseSet,
} from "../../src/jmap/vacation-response.js";
import { NO_VACATION, type VacationSetting } from "../../src/store/types.js";
import { methodContext } from "./fixtures.js";

function memoryStore(): VacationJmapStore & { settings: Map<number, VacationSetting> } {
  const settings = new Map<number, VacationSetting>();
  return {
    settings,
    vacation: {
      getVacation: async (userId) => settings.get(userId) ?? NO_VACATION,
      setVacation: async (userId, setting) => {
        settings.set(userId, setting);
      },
      claimReply: async () => true,
    },
  };
}

const isError = (type: string) => (error: unknown) => error instanceof MethodError && error.type === type;

describe("VacationResponse", () => {
  let store: ReturnType<typeof memoryStore>;
  const get = (args: JsonObject = {}) =>
    vacationResponseGet(store, 5).run({ accountId: "A7", ...args }, methodContext());
  const set = (args: JsonObject) =>
    vacationResponseSet(store, 5).run({ accountId: "A7", ...args }, methodContext());

  beforeEach(() => {
    store = memoryStore();
  });

  test("/get: the one singleton, disabled and empty until set; properties; notFound", async () => {
    const all = await get({ ids: null });
    // The store's empty setting, which has no dates to write as UTCDates.
    assert.deepEqual(all.list, [{ id: "singleton", ...NO_VACATION }]);
    assert.deepEqual(all.notFound, []);
    assert.match(all.state as string, /^v[A-Za-z0-9_-]{16}$/);
    const some = await get({ ids: ["singleton", "other"], properties: ["isEnabled"] });
    assert.deepEqual(some.list, [{ id: "singleton", isEnabled: false }]);
    assert.deepEqual(some.notFound, ["other"]);
    assert.deepEqual((await get({ ids: ["other"] })).list, []);
    await assert.rejects(get({ properties: ["body"] }), isError("invalidArguments"));
  });

  test("/set update: patched, stored for this user, the state moves", async () => {
    const before = await get();
    const result = await set({
      ifInState: before.state as string,
      update: {
        singleton: {
          isEnabled: true,
          fromDate: "2026-12-20T00:00:00Z",
          toDate: "2027-01-04T08:30:00.250Z",
          subject: "Away",
          textBody: "Back in January.",
        },
      },
    });
    assert.deepEqual(result.updated, { singleton: null });
    assert.equal(result.notUpdated, null);
    assert.equal(result.oldState, before.state);
    assert.notEqual(result.newState, before.state);
    assert.deepEqual(store.settings.get(7), {
      isEnabled: true,
      fromDate: new Date("2026-12-20T00:00:00Z"),
      toDate: new Date("2027-01-04T08:30:00.250Z"),
      subject: "Away",
      textBody: "Back in January.",
      htmlBody: null,
    });
    const after = await get();
    assert.equal(after.state, result.newState);
    assert.deepEqual((after.list as JsonObject[])[0], {
      id: "singleton",
      isEnabled: true,
      fromDate: "2026-12-20T00:00:00Z",
      toDate: "2027-01-04T08:30:00.250Z",
      subject: "Away",
      textBody: "Back in January.",
      htmlBody: null,
    });
    // A stale ifInState refuses the whole call.
    await assert.rejects(
      set({ ifInState: before.state as string, update: { singleton: { isEnabled: false } } }),
      isError("stateMismatch"),
    );
  });

  test("/set refuses bad values property by property and changes nothing", async () => {
    const bad: Array<[JsonObject, string]> = [
      [{ isEnabled: "yes" }, "isEnabled"],
      [{ fromDate: "2026-12-20T00:00:00+01:00" }, "fromDate"],
      [{ toDate: "tomorrow" }, "toDate"],
      [{ subject: 42 }, "subject"],
      [{ id: "other" }, "id"],
      [{ isEnabled: true, body: "x" }, "body"],
    ];
    for (const [patch, property] of bad) {
      const result = await set({ update: { singleton: patch } });
      const error = (result.notUpdated as JsonObject).singleton as JsonObject;
      assert.equal(error.type, "invalidProperties", property);
      assert.deepEqual(error.properties, [property]);
      assert.equal(result.oldState, result.newState);
    }
    assert.equal(store.settings.size, 0);
  });

  test("/set: create and destroy are refused as singleton; another id is notFound", async () => {
    const result = await set({
      create: { c1: { isEnabled: true } },
      update: { other: { isEnabled: true } },
      destroy: ["singleton", "other"],
    });
    assert.equal(((result.notCreated as JsonObject).c1 as JsonObject).type, "singleton");
    assert.equal(((result.notUpdated as JsonObject).other as JsonObject).type, "notFound");
    assert.equal(((result.notDestroyed as JsonObject).singleton as JsonObject).type, "singleton");
    assert.equal(((result.notDestroyed as JsonObject).other as JsonObject).type, "notFound");
    assert.equal(result.created, null);
    assert.equal(result.destroyed, null);
    assert.equal(store.settings.size, 0);
  });
});
