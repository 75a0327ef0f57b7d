// Store contract, part `sieveScripts`: each user's Sieve scripts by name, one active; by id with a
// state and changes for JMAP Sieve.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

/** No changes, at `state`. */
function unchanged(state: number) {
  return { created: [], updated: [], destroyed: [], newState: state, hasMoreChanges: false };
}

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
      assert.deepEqual(await scripts.scriptChanges(user.id, 0), unchanged(0));
      await assert.rejects(scripts.scriptChanges(user.id, 1), { code: "cannot-calculate" });
      const a = await scripts.createScript(user.id, "a", "keep;");
      assert.ok(typeof a !== "string");
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
        ...unchanged(first.state),
        created: [a.id, b.id],
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
      assert.ok(second.newState > first.state);
      assert.deepEqual(second, { ...unchanged(second.newState), updated: [a.id, b.id] });

      assert.equal(await scripts.destroyScript(user.id, b.id), "active");
      assert.equal(await scripts.activateScriptById(user.id, a.id), true);
      assert.equal((await scripts.getActiveScript(user.id))?.name, "c");
      assert.equal(await scripts.destroyScript(user.id, b.id), "destroyed");
      assert.equal(await scripts.destroyScript(user.id, b.id), "not-found");
      const third = await scripts.scriptChanges(user.id, second.newState);
      assert.deepEqual(third, { ...unchanged(third.newState), updated: [a.id], destroyed: [b.id] });
      // A name freed by a destroy can be taken again, by a new id.
      const again = await scripts.createScript(user.id, "b", "keep;");
      assert.ok(typeof again !== "string" && again.id !== b.id);
      assert.equal(await scripts.activateScriptById(user.id, null), true);
      assert.equal(await scripts.getActiveScript(user.id), undefined);
      const last = await scripts.scriptChanges(user.id, 0);
      assert.deepEqual(last, { ...unchanged(last.newState), created: [a.id, again.id] });
      // Writes by name count too: ManageSieve's changes reach JMAP clients.
      const before = (await scripts.listScriptsWithState(user.id)).state;
      await scripts.renameScript(user.id, "c", "d");
      await scripts.deleteScript(user.id, "b");
      assert.deepEqual(await scripts.scriptChanges(user.id, before), {
        ...unchanged((await scripts.listScriptsWithState(user.id)).state),
        updated: [a.id],
        destroyed: [again.id],
      });
    });

    test("changes page by maxChanges; a write touching more ids than maxChanges cannot be paged", async () => {
      const { user } = await freshUser();
      const scripts = store.sieveScripts;
      const ids: number[] = [];
      for (const name of ["a", "b", "c"]) {
        const created = await scripts.createScript(user.id, name, "keep;");
        assert.ok(typeof created !== "string");
        ids.push(created.id);
      }
      const first = await scripts.scriptChanges(user.id, 0, 2);
      assert.deepEqual(first.created, ids.slice(0, 2));
      assert.equal(first.hasMoreChanges, true);
      const rest = await scripts.scriptChanges(user.id, first.newState, 2);
      assert.deepEqual(rest, { ...unchanged(rest.newState), created: ids.slice(2) });
      assert.equal(rest.newState, (await scripts.listScriptsWithState(user.id)).state);
      await assert.rejects(scripts.scriptChanges(user.id, 0, 0), { code: "invalid" });
      // Switching the active script moves two rows in one state: never split across pages.
      await scripts.activateScriptById(user.id, ids[0]!);
      const before = (await scripts.listScriptsWithState(user.id)).state;
      await scripts.activateScriptById(user.id, ids[1]!);
      await assert.rejects(scripts.scriptChanges(user.id, before, 1), { code: "cannot-calculate" });
      assert.deepEqual((await scripts.scriptChanges(user.id, before, 2)).updated, ids.slice(0, 2));
    });

    test("max_scripts is counted inside the write: racing creations never pass it", async () => {
      const { user } = await freshUser();
      const scripts = store.sieveScripts;
      const names = Array.from({ length: 12 }, (_, n) => `s${n}`);
      const results = await Promise.all([
        ...names.slice(0, 6).map((name) => scripts.createScript(user.id, name, "keep;", 4)),
        ...names.slice(6).map((name) => scripts.putScript(user.id, name, "keep;", 4)),
      ]);
      assert.equal(results.filter((result) => result !== "too-many").length, 4);
      assert.equal((await scripts.listScripts(user.id)).length, 4);
      // Replacing a script by name is no new script: allowed at the limit.
      const kept = (await scripts.listScripts(user.id))[0]!.name;
      assert.equal(await scripts.putScript(user.id, kept, "discard;", 4), "put");
      assert.equal(await scripts.createScript(user.id, kept, "stop;", 4), "exists");
    });
  });
}
