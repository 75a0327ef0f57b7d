// The script service ManageSieve and JMAP Sieve share, over a real SQLite store: each refusal, in the
// order the rules are applied, and that a script replacing one of the same name needs no more room.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptService } from "../../src/sieve-scripts/service.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { CREDENTIALS, silentLogger, withTempDir } from "../store/helpers.js";

const bytes = (text: string) => Buffer.from(text, "utf8");

test("names, size, UTF-8, validity and count are refused as data; put replaces, create does not", () =>
  withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      await store.directory.addDomain("example.org");
      const user = await store.directory.addUser("ann@example.org", CREDENTIALS);
      const scripts = new ScriptService(store, { maxScriptSize: 64, maxScripts: 2 });
      assert.deepEqual(scripts.checkSource(bytes("keep;")), { source: "keep;" });
      assert.deepEqual(scripts.checkSource(bytes(`#${"x".repeat(64)}`)), { kind: "too-large", limit: 64 });
      assert.deepEqual(scripts.checkSource(Buffer.from([0x6b, 0xff])), { kind: "not-utf8" });
      const invalid = scripts.checkSource(bytes("fileinto;"));
      assert.equal("kind" in invalid && invalid.kind, "invalid");

      assert.deepEqual(await scripts.put(user.id, "", bytes("keep;")), { kind: "bad-name" });
      assert.deepEqual(await scripts.create(user.id, "a\u0007", bytes("keep;")), { kind: "bad-name" });
      assert.equal(await scripts.put(user.id, "a", bytes("keep;")), null);
      const b = await scripts.create(user.id, "b", bytes("discard;"));
      assert.ok(!("kind" in b));
      assert.deepEqual(await scripts.create(user.id, "c", bytes("keep;")), { kind: "too-many", limit: 2 });
      assert.deepEqual(await scripts.room(user.id, "c", 10), { kind: "too-many", limit: 2 });
      // Replacing a script by its name takes no more room.
      assert.equal(await scripts.room(user.id, "a", 10), null);
      assert.equal(await scripts.put(user.id, "a", bytes("stop;")), null);
      assert.equal((await store.sieveScripts.getScript(user.id, "a"))?.source, "stop;");

      assert.deepEqual(await scripts.update(user.id, b.id, { name: "a" }), { kind: "exists" });
      assert.deepEqual(await scripts.update(user.id, 0, { name: "z" }), { kind: "not-found" });
      const refused = await scripts.update(user.id, b.id, { bytes: bytes("redirect;") });
      assert.equal(refused?.kind, "invalid");
      assert.equal(await scripts.update(user.id, b.id, { name: "bee", bytes: bytes("keep;") }), null);
      assert.deepEqual(await store.sieveScripts.getScript(user.id, "bee"), {
        name: "bee",
        source: "keep;",
        active: false,
      });
    } finally {
      await store.close();
    }
  }));
