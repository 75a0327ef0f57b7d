// Identity/get and Identity/changes (RFC 8621 §6): one identity, the account's own address, with an id
// and a state that stay the same across calls, and the argument errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MethodError } from "../../src/jmap/errors.js";
import { identityChanges, identityGet } from "../../src/jmap/identity.js";
import type { JsonObject } from "../../src/jmap/types.js";
import { account, methodContext } from "./fixtures.js";

const get = (args: JsonObject = {}) => identityGet(5).run({ accountId: "A7", ...args }, methodContext());
const changes = (args: JsonObject) => identityChanges.run({ accountId: "A7", ...args }, methodContext());
const isError = (type: string) => (error: unknown) => error instanceof MethodError && error.type === type;

describe("Identity", () => {
  test("Identity/get: the own address, a stable id in the Id alphabet, every property", async () => {
    const first = await get({ ids: null });
    const list = first.list as JsonObject[];
    assert.equal(list.length, 1);
    const [identity] = list as [JsonObject];
    assert.match(identity.id as string, /^I[A-Za-z0-9_-]{12}$/);
    assert.deepEqual(identity, {
      id: identity.id,
      name: "",
      email: account.address,
      replyTo: null,
      bcc: null,
      textSignature: "",
      htmlSignature: "",
      mayDelete: false,
    });
    const again = await get();
    assert.deepEqual(again, first);
    const other = await identityGet(5).run(
      { accountId: "A8" },
      { ...methodContext(), account: { ...account, accountId: "A8", address: "b@example.org" } },
    );
    assert.notEqual((other.list as JsonObject[])[0]?.id, identity.id);
    assert.notEqual(other.state, first.state);
  });

  test("Identity/get with ids and properties; notFound; bad arguments", async () => {
    const { list } = await get();
    const id = (list as JsonObject[])[0]?.id as string;
    const some = await get({ ids: [id, "Inope"], properties: ["email"] });
    assert.deepEqual(some.list, [{ id, email: account.address }]);
    assert.deepEqual(some.notFound, ["Inope"]);
    await assert.rejects(get({ properties: ["signature"] }), isError("invalidArguments"));
    await assert.rejects(get({ ids: "all" }), isError("invalidArguments"));
    await assert.rejects(get({ ids: ["a", "b", "c", "d", "e", "f"] }), isError("requestTooLarge"));
  });

  test("Identity/changes: none since the current state; any other state cannot be calculated", async () => {
    const { state } = await get();
    assert.deepEqual(await changes({ sinceState: state as string }), {
      accountId: "A7",
      oldState: state,
      newState: state,
      hasMoreChanges: false,
      created: [],
      updated: [],
      destroyed: [],
    });
    await assert.rejects(changes({ sinceState: "i0" }), isError("cannotCalculateChanges"));
    await assert.rejects(changes({}), isError("invalidArguments"));
  });
});
