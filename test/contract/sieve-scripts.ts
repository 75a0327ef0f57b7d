// Store contract, part `sieveScripts`: each user's Sieve scripts by name, one active; by id with a
// state and changes for JMAP Sieve.
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
    test("scripts have ids; every write moves the state, and changes tell what it touched", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const scripts = store.sieveScripts;
      assert.deepEqual(await scripts.listScriptsWithState(user.id), { state: 0, scripts: [] });
      assert.deepEqual(await scripts.scriptChanges(user.id, 0), {
        state: 0,
        created: [],
        updated: [],
        destroyed: [],
      });
      assert.equal(await scripts.scriptChanges(user.id, 1), null);
      const a = await scripts.createScript(user.id, "a", "keep;");
      assert.ok(a !== "exists");
      assert.deepEqual(a, { id: a.id, name: "a", source: "keep;", active: false });
      assert.equal(await scripts.createScript(user.id, "a", "discard;"), "exists");
      await scripts.putScript(user.id, "b", "discard;");
      const first = await scripts.listScriptsWithState(user.id);
      const b = first.scripts.find((script) => script.name === "b")!;
      assert.deepEqual(
        first.scripts.map((script) => script.name),
        ["a", "b"],
      );
      assert.deepEqual(await scripts.scriptChanges(user.id, 0), {
        state: first.state,
        created: [a.id, b.id],
        updated: [],
        destroyed: [],
      });
      assert.equal((await scripts.listScriptsWithState(other.id)).state, 0);

      assert.equal(await scripts.updateScript(user.id, a.id, { name: "b" }), "exists");
      assert.equal(await scripts.updateScript(user.id, 0, { name: "c" }), "not-found");
      assert.equal(await scripts.updateScript(other.id, a.id, { name: "c" }), "not-found");
      assert.equal(await scripts.updateScript(user.id, a.id, { name: "c", source: "stop;" }), "updated");
      assert.deepEqual(await scripts.getScript(user.id, "c"), { name: "c", source: "stop;", active: false });
      assert.equal(await scripts.activateScriptById(user.id, 0), false);
      assert.equal(await scripts.activateScriptById(user.id, b.id), true);
      const second = await scripts.scriptChanges(user.id, first.state);
      assert.ok(second !== null && second.state > first.state);
      assert.deepEqual(second, { state: second.state, created: [], updated: [a.id, b.id], destroyed: [] });

      assert.equal(await scripts.destroyScript(user.id, b.id), "active");
      assert.equal(await scripts.activateScriptById(user.id, a.id), true);
      assert.equal((await scripts.getActiveScript(user.id))?.name, "c");
      assert.equal(await scripts.destroyScript(user.id, b.id), "destroyed");
      assert.equal(await scripts.destroyScript(user.id, b.id), "not-found");
      const third = await scripts.scriptChanges(user.id, second.state);
      assert.deepEqual(third, { state: third!.state, created: [], updated: [a.id], destroyed: [b.id] });
      // A name freed by a destroy can be taken again, by a new id.
      const again = await scripts.createScript(user.id, "b", "keep;");
      assert.ok(again !== "exists" && again.id !== b.id);
      assert.equal(await scripts.activateScriptById(user.id, null), true);
      assert.equal(await scripts.getActiveScript(user.id), undefined);
      const last = await scripts.scriptChanges(user.id, 0);
      assert.deepEqual(last, { state: last!.state, created: [a.id, again.id], updated: [], destroyed: [] });
      // Writes by name count too: ManageSieve's changes reach JMAP clients.
      const before = (await scripts.listScriptsWithState(user.id)).state;
      await scripts.renameScript(user.id, "c", "d");
      await scripts.deleteScript(user.id, "b");
      assert.deepEqual(await scripts.scriptChanges(user.id, before), {
        state: (await scripts.listScriptsWithState(user.id)).state,
        created: [],
        updated: [a.id],
        destroyed: [again.id],
      });
    });
  });
}
