// Store contract, parts `spamScans` and `greylist`: rspamd's verdict kept with its message (and gone
// with it), greylisting triplets by key with pruning by last sighting.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith } from "./support.js";

export function describeFilterContract(context: ContractContext): void {
  describe("spamScans", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    test("a scan is kept with its message, replaced by a later one, and goes with the message", async () => {
      const { inbox } = await context.freshUser();
      const { blob, uid } = await context.deliverTo(inbox.id, "scanned");
      assert.equal(await store.spamScans.getScan(blob.id), undefined);
      const scannedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const scan = {
        score: 6.8,
        requiredScore: 15,
        action: "add header",
        symbols: ["RDNS_NONE", "MID_RHS_NOT_FQDN"],
        scannedAt,
      };
      await store.spamScans.recordScan(blob.id, scan);
      assert.deepEqual(await store.spamScans.getScan(blob.id), scan);
      await store.spamScans.recordScan(blob.id, { ...scan, score: -1.5, action: "no action", symbols: [] });
      assert.deepEqual(await store.spamScans.getScan(blob.id), {
        ...scan,
        score: -1.5,
        action: "no action",
        symbols: [],
      });
      await store.messages.updateFlags(inbox.id, [uid], "add", ["\\Deleted"]);
      await store.messages.expunge(inbox.id, [uid]);
      assert.equal(await store.spamScans.getScan(blob.id), undefined);
    });

    test("a scan of a message that does not exist is refused and records nothing", async () => {
      const id = `NOSUCH${randomBytes(7).toString("hex").toUpperCase()}`;
      await rejectsWith(
        store.spamScans.recordScan(id, {
          score: 1,
          requiredScore: 15,
          action: "no action",
          symbols: [],
          scannedAt: new Date(),
        }),
        "not-found",
      );
      assert.equal(await store.spamScans.getScan(id), undefined);
    });
  });

  describe("greylist", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    test("triplets are kept by key, replaced whole, and pruned by last sighting", async () => {
      const tag = randomBytes(4).toString("hex");
      const old = `192.0.2.0/24 a@${tag}.example b@example.org`;
      const fresh = `2001:0db8:0000:0001::/64 a@${tag}.example b@example.org`;
      assert.equal(await store.greylist.getTriplet(old), undefined);
      const first = new Date("2026-01-01T00:00:00Z");
      const later = new Date("2026-01-01T00:06:00Z");
      await store.greylist.putTriplet(old, { firstSeen: first, lastSeen: first, passed: false });
      await store.greylist.putTriplet(old, { firstSeen: first, lastSeen: later, passed: true });
      assert.deepEqual(await store.greylist.getTriplet(old), {
        firstSeen: first,
        lastSeen: later,
        passed: true,
      });
      const now = new Date("2026-03-01T00:00:00Z");
      await store.greylist.putTriplet(fresh, { firstSeen: now, lastSeen: now, passed: false });
      assert.ok((await store.greylist.pruneTriplets(new Date("2026-02-01T00:00:00Z"))) >= 1);
      assert.equal(await store.greylist.getTriplet(old), undefined);
      assert.deepEqual(await store.greylist.getTriplet(fresh), {
        firstSeen: now,
        lastSeen: now,
        passed: false,
      });
    });
  });
}
