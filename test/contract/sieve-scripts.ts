// Store contract, part `sieveScripts`: each user's Sieve scripts by name, one active.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeSieveScriptsContract(context: ContractContext): void {
  describe("sieveScripts", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    test("scripts are kept by name, replaced whole, listed by name and deleted, per user", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const scripts = store.sieveScripts;
      assert.deepEqual(await scripts.listScripts(user.id), []);
      assert.equal(await scripts.getScript(user.id, "lists"), undefined);
      await scripts.putScript(user.id, "lists", "keep;");
      await scripts.putScript(user.id, "Spam", "discard;");
      await scripts.putScript(user.id, "lists", 'require "fileinto";\nfileinto "Lists";');
      assert.deepEqual(await scripts.getScript(user.id, "lists"), {
        name: "lists",
        source: 'require "fileinto";\nfileinto "Lists";',
        active: false,
      });
      assert.deepEqual(
        (await scripts.listScripts(user.id)).map((script) => script.name),
        ["Spam", "lists"],
      );
      assert.deepEqual(await scripts.listScripts(other.id), []);
      assert.equal(await scripts.deleteScript(user.id, "Spam"), true);
      assert.equal(await scripts.deleteScript(user.id, "Spam"), false);
      assert.deepEqual(
        (await scripts.listScripts(user.id)).map((script) => script.name),
        ["lists"],
      );
    });

    test("one script is active at a time; replacing keeps the mark, deleting drops it", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const scripts = store.sieveScripts;
      await scripts.putScript(user.id, "a", "keep;");
      await scripts.putScript(user.id, "b", "discard;");
      await scripts.putScript(other.id, "a", "stop;");
      assert.equal(await scripts.getActiveScript(user.id), undefined);
      assert.equal(await scripts.activateScript(user.id, "missing"), false);
      assert.equal(await scripts.activateScript(user.id, "a"), true);
      assert.equal((await scripts.getActiveScript(user.id))?.name, "a");
      assert.equal(await scripts.activateScript(user.id, "missing"), false);
      assert.equal((await scripts.getActiveScript(user.id))?.name, "a");
      assert.equal(await scripts.activateScript(user.id, "b"), true);
      assert.deepEqual(
        (await scripts.listScripts(user.id)).map((script) => [script.name, script.active]),
        [
          ["a", false],
          ["b", true],
        ],
      );
      assert.equal(await scripts.getActiveScript(other.id), undefined);
      await scripts.putScript(user.id, "b", "keep;");
      assert.deepEqual(await scripts.getActiveScript(user.id), { name: "b", source: "keep;", active: true });
      assert.equal(await scripts.activateScript(user.id, null), true);
      assert.equal(await scripts.getActiveScript(user.id), undefined);
      await scripts.activateScript(user.id, "a");
      await scripts.deleteScript(user.id, "a");
      assert.equal(await scripts.getActiveScript(user.id), undefined);
    });

    test("renameScript keeps source and active mark; a missing source or a taken name changes nothing", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const scripts = store.sieveScripts;
      await scripts.putScript(user.id, "old", "keep;");
      await scripts.putScript(user.id, "taken", "discard;");
      await scripts.putScript(other.id, "new", "stop;");
      await scripts.activateScript(user.id, "old");
      assert.equal(await scripts.renameScript(user.id, "missing", "x"), "not-found");
      assert.equal(await scripts.renameScript(user.id, "missing", "taken"), "not-found");
      assert.equal(await scripts.renameScript(user.id, "old", "taken"), "exists");
      assert.equal(await scripts.renameScript(user.id, "old", "new"), "renamed");
      assert.deepEqual(await scripts.getActiveScript(user.id), {
        name: "new",
        source: "keep;",
        active: true,
      });
      assert.equal(await scripts.getScript(user.id, "old"), undefined);
      assert.deepEqual(await scripts.getScript(other.id, "new"), {
        name: "new",
        source: "stop;",
        active: false,
      });
      assert.deepEqual(
        (await scripts.listScripts(user.id)).map((script) => script.name),
        ["new", "taken"],
      );
    });
  });
}
