// Store contract, part `vacation`: auto-reply settings and the reply log.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeVacationContract(context: ContractContext): void {
  describe("vacation", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    test("a user without a setting has a disabled, empty one", async () => {
      const { user } = await freshUser();
      assert.deepEqual(await store.vacation.getVacation(user.id), {
        isEnabled: false,
        fromDate: null,
        toDate: null,
        subject: null,
        textBody: null,
        htmlBody: null,
      });
    });

    test("the setting is kept and replaced whole, per user", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const setting = {
        isEnabled: true,
        fromDate: new Date("2026-12-01T00:00:00.000Z"),
        toDate: new Date("2026-12-24T00:00:00.000Z"),
        subject: "Away",
        textBody: "Back on the 24th.",
        htmlBody: "<p>Back on the 24th.</p>",
      };
      await store.vacation.setVacation(user.id, setting);
      assert.deepEqual(await store.vacation.getVacation(user.id), setting);
      const cleared = { ...setting, isEnabled: false, fromDate: null, subject: null, htmlBody: null };
      await store.vacation.setVacation(user.id, cleared);
      assert.deepEqual(await store.vacation.getVacation(user.id), cleared);
      assert.equal((await store.vacation.getVacation(other.id)).isEnabled, false);
    });

    test("the reply log keeps the last reply per user and sender, case-insensitively", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      assert.equal(await store.vacation.lastReply(user.id, "bob@example.net"), null);
      const first = new Date("2026-12-01T10:00:00.000Z");
      const second = new Date("2026-12-09T10:00:00.000Z");
      await store.vacation.recordReply(user.id, "Bob@Example.NET", first);
      assert.deepEqual(await store.vacation.lastReply(user.id, "bob@example.net"), first);
      await store.vacation.recordReply(user.id, "bob@example.net", second);
      assert.deepEqual(await store.vacation.lastReply(user.id, "BOB@example.net"), second);
      assert.equal(await store.vacation.lastReply(other.id, "bob@example.net"), null);
    });
  });
}
