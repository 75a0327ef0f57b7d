import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MAX_ALIAS_DEPTH, resolveRecipient, splitAddress, stripPlusTag } from "../../src/delivery/route.js";
import type { Store } from "../../src/store/types.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

describe("address helpers", () => {
  test("splitAddress splits at the last @ and refuses empty sides", () => {
    assert.deepEqual(splitAddress("a@b.org"), { local: "a", domain: "b.org" });
    assert.deepEqual(splitAddress('"x@y"@b.org'), { local: '"x@y"', domain: "b.org" });
    assert.equal(splitAddress("nodomain"), null);
    assert.equal(splitAddress("@b.org"), null);
    assert.equal(splitAddress("a@"), null);
  });

  test("stripPlusTag keeps what is before the first +", () => {
    assert.equal(stripPlusTag("alice+news"), "alice");
    assert.equal(stripPlusTag("alice+a+b"), "alice");
    assert.equal(stripPlusTag("alice"), null);
    assert.equal(stripPlusTag("+news"), null);
  });
});

describe("resolveRecipient against the SQLite store", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  const names = async (address: string): Promise<{ users: string[]; remote: string[]; local: boolean }> => {
    const resolution = await resolveRecipient(store, address);
    return {
      users: resolution.users.map((user) => user.address),
      remote: resolution.remote,
      local: resolution.localDomain,
    };
  };

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    await store.directory.addDomain("example.org");
    await store.directory.addDomain("example.net");
    for (const user of ["alice", "bob", "carol"])
      await store.directory.addUser(`${user}@example.org`, dummyCredentials);
    await store.directory.addAlias("team@example.org", "alice@example.org");
    await store.directory.addAlias("team@example.org", "bob@example.org");
    await store.directory.addAlias("first@example.org", "second@example.org");
    await store.directory.addAlias("second@example.org", "carol@example.org");
    await store.directory.addAlias("loop1@example.org", "loop2@example.org");
    await store.directory.addAlias("loop2@example.org", "loop1@example.org");
    await store.directory.addAlias("ring1@example.org", "ring2@example.org");
    await store.directory.addAlias("ring2@example.org", "ring1@example.org");
    await store.directory.addAlias("ring2@example.org", "alice@example.org");
    await store.directory.addAlias("fwd@example.org", "someone@remote.test");
    await store.directory.addAlias("fwd@example.org", "bob@example.org");
    await store.directory.addAlias("both@example.org", "alice@example.org");
    await store.directory.addAlias("both@example.org", "team@example.org");
    await store.directory.addAlias("bob+special@example.org", "carol@example.org");
    await store.directory.addAlias("@example.net", "carol@example.org");
  });
  after(() => cleanup());

  test("an exact user, whatever the case", async () => {
    assert.deepEqual(await names("Alice@Example.ORG"), {
      users: ["alice@example.org"],
      remote: [],
      local: true,
    });
  });

  test("an alias with several destinations reaches each", async () => {
    assert.deepEqual((await names("team@example.org")).users, ["alice@example.org", "bob@example.org"]);
  });

  test("an alias chain is followed to the end", async () => {
    assert.deepEqual((await names("first@example.org")).users, ["carol@example.org"]);
  });

  test("an alias loop with nobody in it resolves to nobody, without hanging", async () => {
    assert.deepEqual(await names("loop1@example.org"), { users: [], remote: [], local: true });
  });

  test("a loop that also reaches a user delivers to that user once", async () => {
    assert.deepEqual((await names("ring1@example.org")).users, ["alice@example.org"]);
  });

  test("an alias may forward to another domain", async () => {
    assert.deepEqual(await names("fwd@example.org"), {
      users: ["bob@example.org"],
      remote: ["someone@remote.test"],
      local: true,
    });
  });

  test("a user reached twice is listed once", async () => {
    assert.deepEqual((await names("both@example.org")).users, ["alice@example.org", "bob@example.org"]);
  });

  test("user+tag goes to the user, and +tags work on aliases too", async () => {
    assert.deepEqual((await names("alice+news@example.org")).users, ["alice@example.org"]);
    assert.deepEqual((await names("team+x@example.org")).users, ["alice@example.org", "bob@example.org"]);
  });

  test("an exact tagged address beats plus-addressing", async () => {
    assert.deepEqual((await names("bob+special@example.org")).users, ["carol@example.org"]);
    assert.deepEqual((await names("bob+other@example.org")).users, ["bob@example.org"]);
  });

  test("the catch-all takes unknown addresses of its domain only", async () => {
    assert.deepEqual((await names("anyone@example.net")).users, ["carol@example.org"]);
    assert.deepEqual((await names("anyone+tag@example.net")).users, ["carol@example.org"]);
    assert.deepEqual(await names("nobody@example.org"), { users: [], remote: [], local: true });
    assert.deepEqual(await names("nobody+tag@example.org"), { users: [], remote: [], local: true });
  });

  test("an address on another domain is remote", async () => {
    assert.deepEqual(await names("Someone@Elsewhere.test"), {
      users: [],
      remote: ["someone@elsewhere.test"],
      local: false,
    });
  });

  test("addresses the store cannot hold are nobody (local) or remote, not errors", async () => {
    assert.deepEqual(await names('"john doe"@example.org'), { users: [], remote: [], local: true });
    assert.deepEqual(await names('"john doe"@example.net'), {
      users: ["carol@example.org"],
      remote: [],
      local: true,
    });
    assert.deepEqual(await names("x@[192.0.2.1]"), { users: [], remote: ["x@[192.0.2.1]"], local: false });
  });

  test("an address without a domain reaches nobody", async () => {
    assert.deepEqual(await names("postmaster"), { users: [], remote: [], local: false });
  });

  test("chains deeper than the bound are cut and reported", async () => {
    const hops = MAX_ALIAS_DEPTH + 2;
    for (let i = 0; i < hops; i++)
      await store.directory.addAlias(`deep${i}@example.org`, `deep${i + 1}@example.org`);
    await store.directory.addAlias(`deep${hops}@example.org`, "alice@example.org");
    const resolution = await resolveRecipient(store, "deep0@example.org");
    assert.deepEqual(resolution.users, []);
    assert.equal(resolution.truncated.length, 1);
    const shallow = await resolveRecipient(store, `deep${hops - MAX_ALIAS_DEPTH + 1}@example.org`);
    assert.deepEqual(
      shallow.users.map((user) => user.address),
      ["alice@example.org"],
    );
    assert.deepEqual(shallow.truncated, []);
  });
});
