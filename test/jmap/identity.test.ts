// Identity/get, /changes and /set (RFC 8621 §6) over a real SQLite store: the default identity, which
// stays; identities made, changed and destroyed and reported by /changes; forbiddenFrom for an address
// submission would refuse, and the argument errors.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { MethodError } from "../../src/jmap/errors.js";
import { identityChanges, identityGet, identitySet } from "../../src/jmap/identity.js";
import type { AccountContext, JsonObject } from "../../src/jmap/types.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { account as fixtureAccount, methodContext } from "./fixtures.js";

const CREDENTIALS = { passwordHash: "x", scramSha256: "x" };
const isError = (type: string) => (error: unknown) => error instanceof MethodError && error.type === type;

describe("Identity", () => {
  let store: Store;
  let dataDir: string;
  let account: AccountContext;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-identity-"));
    store = await openSqliteStore({ dataDir, logger: pino({ level: "silent" }) });
    await store.directory.addDomain("example.org");
    const user = await store.directory.addUser("ann@example.org", CREDENTIALS);
    await store.directory.addUser("bob@example.org", CREDENTIALS);
    await store.directory.addAlias("sales@example.org", "ann@example.org");
    account = { ...fixtureAccount, userId: user.id, address: user.address };
  });
  after(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const context = () => ({ ...methodContext(), account });
  const get = (args: JsonObject = {}) => identityGet(store, 5).run({ accountId: "A7", ...args }, context());
  const changes = (args: JsonObject) => identityChanges(store).run({ accountId: "A7", ...args }, context());
  const set = (args: JsonObject, ctx = context()) =>
    identitySet(store, 5).run({ accountId: "A7", ...args }, ctx);

  test("Identity/get: the own address first, a stable id, every property; ids and properties", async () => {
    const first = await get({ ids: null });
    const [identity] = first.list as [JsonObject];
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
    assert.deepEqual(await get(), first);
    const some = await get({ ids: [identity.id as string, "Inope"], properties: ["email"] });
    assert.deepEqual(some.list, [{ id: identity.id, email: account.address }]);
    assert.deepEqual(some.notFound, ["Inope"]);
    await assert.rejects(get({ properties: ["signature"] }), isError("invalidArguments"));
    await assert.rejects(get({ ids: "all" }), isError("invalidArguments"));
    await assert.rejects(get({ ids: ["a", "b", "c", "d", "e", "f"] }), isError("requestTooLarge"));
  });

  test("Identity/set creates an alias identity, updates and destroys it; /changes follows", async () => {
    const { state: start } = await get();
    const ctx = context();
    const made = await set(
      {
        create: { k1: { name: "Sales", email: "sales@example.org", textSignature: "-- Sales" } },
      },
      ctx,
    );
    const created = (made.created as JsonObject).k1 as JsonObject;
    assert.equal(created.mayDelete, true);
    const id = created.id as string;
    assert.equal(ctx.createdIds.get("k1"), id);
    assert.equal(made.oldState, start);
    const listed = (await get({ ids: [id] })).list as JsonObject[];
    assert.deepEqual(listed, [
      {
        id,
        name: "Sales",
        email: "sales@example.org",
        replyTo: null,
        bcc: null,
        textSignature: "-- Sales",
        htmlSignature: "",
        mayDelete: true,
      },
    ]);
    const afterCreate = await changes({ sinceState: start as string });
    assert.deepEqual(afterCreate.created, [id]);
    assert.equal(afterCreate.newState, made.newState);

    const updated = await set({ update: { [id]: { bcc: [{ name: null, email: "log@example.org" }] } } });
    assert.deepEqual(updated.updated, { [id]: null });
    assert.deepEqual((await changes({ sinceState: made.newState as string })).updated, [id]);
    const immutable = await set({ update: { [id]: { email: "ann@example.org" } } });
    assert.equal(((immutable.notUpdated as JsonObject)[id] as JsonObject).type, "invalidProperties");

    const gone = await set({ destroy: [id] });
    assert.deepEqual(gone.destroyed, [id]);
    assert.deepEqual((await changes({ sinceState: updated.newState as string })).destroyed, [id]);
    assert.deepEqual((await get({ ids: [id] })).notFound, [id]);
  });

  test("forbiddenFrom for another user's or a foreign address; the default identity stays", async () => {
    const refused = await set({
      create: {
        bob: { email: "bob@example.org" },
        far: { email: "someone@elsewhere.example" },
        bad: { email: "ann@example.org", mayDelete: true },
      },
    });
    const notCreated = refused.notCreated as Record<string, JsonObject>;
    assert.equal(notCreated.bob?.type, "forbiddenFrom");
    assert.equal(notCreated.far?.type, "forbiddenFrom");
    assert.equal(notCreated.bad?.type, "invalidProperties");
    assert.equal(refused.created, null);
    const { list } = await get();
    const own = (list as JsonObject[])[0]?.id as string;
    const kept = await set({ update: { [own]: { name: "x" } }, destroy: [own, "S999"] });
    assert.equal(((kept.notUpdated as JsonObject)[own] as JsonObject).type, "forbidden");
    assert.equal(((kept.notDestroyed as JsonObject)[own] as JsonObject).type, "forbidden");
    assert.equal(((kept.notDestroyed as JsonObject).S999 as JsonObject).type, "notFound");
    assert.equal(((await get()).list as JsonObject[])[0]?.email, account.address);
  });

  test("Identity/changes: a future or malformed state cannot be calculated", async () => {
    const { state } = await get();
    const none = await changes({ sinceState: state as string });
    assert.deepEqual([none.created, none.updated, none.destroyed], [[], [], []]);
    await assert.rejects(changes({ sinceState: "i999999" }), isError("cannotCalculateChanges"));
    await assert.rejects(changes({ sinceState: "nope" }), isError("cannotCalculateChanges"));
    await assert.rejects(changes({}), isError("invalidArguments"));
    await assert.rejects(set({ ifInState: "i999999" }), isError("stateMismatch"));
  });
});
