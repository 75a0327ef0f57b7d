// Store contract, part `vacation`: auto-reply settings and the reply log.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { NO_VACATION, type Store } from "../../src/store/types.js";
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
      assert.deepEqual(await store.vacation.getVacation(user.id), NO_VACATION);
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

    test("a reply is claimed once per sender per period, case-insensitively, per user", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const week = 7 * 24 * 3600_000;
      const first = new Date("2026-12-01T10:00:00.000Z");
      const later = (ms: number) => new Date(first.getTime() + ms);
      assert.equal(await store.vacation.claimReply(user.id, "Bob@Example.NET", first, week), true);
      assert.equal(await store.vacation.claimReply(user.id, "bob@example.net", first, week), false);
      assert.equal(await store.vacation.claimReply(user.id, "BOB@example.net", later(week - 1), week), false);
      assert.equal(await store.vacation.claimReply(other.id, "bob@example.net", first, week), true);
      assert.equal(await store.vacation.claimReply(user.id, "carol@example.net", first, week), true);
      // The period runs from the last reply sent, not from the last refused claim.
      assert.equal(await store.vacation.claimReply(user.id, "bob@example.net", later(week), week), true);
      assert.equal(await store.vacation.claimReply(user.id, "bob@example.net", later(week + 1), week), false);
    });

    test("claims made at once: exactly one wins", async () => {
      const { user } = await freshUser();
      const at = new Date("2026-12-01T10:00:00.000Z");
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => store.vacation.claimReply(user.id, "dave@example.net", at, 60_000)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
    });
  });
}
