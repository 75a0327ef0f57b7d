// Quota (RFC 9425) over a fake quotas part: the object, the states that rebuild earlier Quotas, and the
// errors of each method.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CORE, MAIL, QUOTA } from "../../src/jmap/capabilities.js";
import { quotaChanges, quotaGet, quotaQuery, quotaQueryChanges } from "../../src/jmap/quota.js";
import type { JsonObject, MethodContext } from "../../src/jmap/types.js";
import type { StorageQuota } from "../../src/store/types.js";
import { account } from "./fixtures.js";

function setup() {
  const now: StorageQuota = { limit: 1000, used: 100 };
  const store = {
    quotas: {
      getQuota: async () => ({ ...now }),
      getLimit: async () => now.limit,
      setQuota: async () => undefined,
    },
  };
  const context = (using = [CORE, MAIL, QUOTA]): MethodContext => ({
    account,
    using: new Set(using),
    createdIds: new Map(),
  });
  const run = (method: ReturnType<typeof quotaGet>, args: JsonObject, using?: string[]) =>
    method.run({ accountId: "A7", ...args }, context(using));
  return { now, store, run };
}

describe("Quota methods", () => {
  test("get: one octets Quota named after the account; none without a limit or without mail", async () => {
    const s = setup();
    const got = await s.run(quotaGet(s.store, 10), {});
    assert.deepEqual(got.list, [
      {
        id: "storage",
        resourceType: "octets",
        used: 100,
        hardLimit: 1000,
        scope: "account",
        name: "a@example.org",
        types: ["Email"],
        warnLimit: null,
        softLimit: null,
        description: "Mail storage: the size of every message in every mailbox",
      },
    ]);
    assert.deepEqual((await s.run(quotaGet(s.store, 10), {}, [CORE, QUOTA])).list, []);
    s.now.limit = null;
    const none = await s.run(quotaGet(s.store, 10), { ids: ["storage"] });
    assert.deepEqual(none.list, []);
    assert.deepEqual(none.notFound, ["storage"]);
    await assert.rejects(s.run(quotaGet(s.store, 10), { properties: ["size"] }), {
      type: "invalidArguments",
    });
  });

  test("changes: usage alone is updatedProperties [used]; a new limit is a change of any property; a limit set or removed creates or destroys", async () => {
    const s = setup();
    const changes = quotaChanges(s.store);
    const first = (await s.run(quotaGet(s.store, 10), {})).state as string;
    assert.deepEqual(await s.run(changes, { sinceState: first }), {
      accountId: "A7",
      oldState: first,
      newState: first,
      hasMoreChanges: false,
      created: [],
      updated: [],
      destroyed: [],
      updatedProperties: null,
    });
    s.now.used = 300;
    const used = await s.run(changes, { sinceState: first });
    assert.deepEqual([used.updated, used.updatedProperties], [["storage"], ["used"]]);
    s.now.limit = 2000;
    const limit = await s.run(changes, { sinceState: first });
    assert.deepEqual([limit.updated, limit.updatedProperties], [["storage"], null]);
    s.now.limit = null;
    const removed = await s.run(changes, { sinceState: first });
    assert.deepEqual([removed.destroyed, removed.created], [["storage"], []]);
    s.now.limit = 10;
    const created = await s.run(changes, { sinceState: removed.newState as string });
    assert.deepEqual(created.created, ["storage"]);
    await assert.rejects(s.run(changes, { sinceState: "q1" }), { type: "cannotCalculateChanges" });
    await assert.rejects(s.run(changes, {}), { type: "invalidArguments" });
  });

  test("query: name, scope, resourceType and type conditions under AND/OR/NOT; sorts by name or used", async () => {
    const s = setup();
    const query = quotaQuery(s.store);
    const ids = async (filter: JsonObject) => (await s.run(query, { filter })).ids;
    assert.deepEqual(await ids({ name: "example" }), ["storage"]);
    assert.deepEqual(await ids({ scope: ["domain", "global"] }), []);
    assert.deepEqual(await ids({ resourceType: "count" }), []);
    assert.deepEqual(await ids({ operator: "NOT", conditions: [{ type: "Calendar" }] }), ["storage"]);
    assert.deepEqual(
      await ids({ operator: "OR", conditions: [{ type: "Calendar" }, { scope: ["account"] }] }),
      ["storage"],
    );
    assert.deepEqual((await s.run(query, { sort: [{ property: "used", isAscending: false }] })).ids, [
      "storage",
    ]);
    await assert.rejects(s.run(query, { sort: [{ property: "hardLimit" }] }), { type: "unsupportedSort" });
    await assert.rejects(s.run(query, { filter: { size: 1 } }), { type: "unsupportedFilter" });
    await assert.rejects(s.run(query, { filter: { scope: "account" } }), { type: "unsupportedFilter" });
  });

  test("queryChanges: a moved Quota is removed and added again; one leaving the results is removed", async () => {
    const s = setup();
    const query = quotaQuery(s.store);
    const queryChanges = quotaQueryChanges(s.store);
    const queryState = (await s.run(query, {})).queryState as string;
    const same = await s.run(queryChanges, { sinceQueryState: queryState });
    assert.deepEqual([same.removed, same.added], [[], []]);
    s.now.used = 999;
    const moved = await s.run(queryChanges, { sinceQueryState: queryState, calculateTotal: true });
    assert.deepEqual(
      [moved.removed, moved.added, moved.total],
      [["storage"], [{ id: "storage", index: 0 }], 1],
    );
    s.now.limit = null;
    const left = await s.run(queryChanges, { sinceQueryState: queryState });
    assert.deepEqual([left.removed, left.added], [["storage"], []]);
    await assert.rejects(s.run(queryChanges, { sinceQueryState: queryState, maxChanges: 0 }), {
      type: "invalidArguments",
    });
    await assert.rejects(s.run(queryChanges, { sinceQueryState: "nope" }), {
      type: "cannotCalculateChanges",
    });
  });
});
