// Store contract, part `traces`: delivery timelines by message id, searched by recipient, sender and
// time, written with a delivery or on their own, pruned whole.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import type { Store, TraceEventInput } from "../../src/store/types.js";
import { type ContractContext, message, rejectsWith, writeBlob } from "./support.js";

const unique = (label: string) => `${label}-${randomBytes(4).toString("hex")}`;
const at = (iso: string) => new Date(iso);

export function describeTracesContract(context: ContractContext): void {
  describe("traces", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    test("events come back in time order, ties in recording order, with their data", async () => {
      const id = unique("m");
      await store.traces.record(id, [
        {
          at: at("2026-12-01T10:00:00.000Z"),
          kind: "session",
          sender: "Alice@Example.org",
          data: { helo: "x" },
        },
        {
          at: at("2026-12-01T10:00:00.000Z"),
          kind: "recipient",
          recipient: "Bob@Example.NET",
          data: { n: 1 },
        },
      ]);
      await store.traces.record(id, [
        {
          at: at("2026-12-01T10:05:00.000Z"),
          kind: "relay",
          recipient: "bob@example.net",
          data: { ok: true },
        },
        { at: at("2026-12-01T09:59:00.000Z"), kind: "early", data: {} },
      ]);
      const events = await store.traces.getTrace(id);
      assert.deepEqual(
        events.map((event) => [event.kind, event.recipient, event.data]),
        [
          ["early", null, {}],
          ["session", null, { helo: "x" }],
          ["recipient", "bob@example.net", { n: 1 }],
          ["relay", "bob@example.net", { ok: true }],
        ],
      );
      assert.ok(events.every((event) => event.messageId === id && event.at instanceof Date));
      assert.ok((events[1]?.seq ?? 0) < (events[2]?.seq ?? 0));
      assert.deepEqual(await store.traces.getTrace(unique("unknown")), []);
    });

    test("found by recipient, sender and time, newest first, bounded by the limit", async () => {
      const to = `${unique("rcpt")}@example.net`;
      const from = `${unique("from")}@example.org`;
      const ids = [unique("a"), unique("b"), unique("c")];
      await store.traces.recordMany([
        {
          messageId: ids[0]!,
          events: [{ at: at("2026-11-01T00:00:00Z"), kind: "session", sender: from, data: {} }],
        },
        {
          messageId: ids[0]!,
          events: [{ at: at("2026-11-01T00:00:01Z"), kind: "recipient", recipient: to, data: {} }],
        },
        {
          messageId: ids[1]!,
          events: [
            { at: at("2026-11-02T00:00:00Z"), kind: "session", sender: "other@example.org", data: {} },
            { at: at("2026-11-02T00:00:01Z"), kind: "recipient", recipient: to.toUpperCase(), data: {} },
          ],
        },
        {
          messageId: ids[2]!,
          events: [{ at: at("2026-11-03T00:00:00Z"), kind: "session", sender: from, data: {} }],
        },
      ]);
      const byTo = await store.traces.findTraces({ recipient: to, limit: 10 });
      assert.deepEqual(
        byTo.map((summary) => summary.messageId),
        [ids[1], ids[0]],
      );
      assert.equal(byTo[1]?.sender, from);
      assert.equal(byTo[1]?.firstAt.toISOString(), "2026-11-01T00:00:00.000Z");
      assert.equal(byTo[1]?.lastAt.toISOString(), "2026-11-01T00:00:01.000Z");
      const both = await store.traces.findTraces({ recipient: to.toUpperCase(), sender: from, limit: 10 });
      assert.deepEqual(
        both.map((summary) => summary.messageId),
        [ids[0]],
      );
      const bySender = await store.traces.findTraces({ sender: from.toUpperCase(), limit: 10 });
      assert.deepEqual(
        bySender.map((summary) => summary.messageId),
        [ids[2], ids[0]],
      );
      const recent = await store.traces.findTraces({
        recipient: to,
        since: at("2026-11-02T00:00:00Z"),
        limit: 10,
      });
      assert.deepEqual(
        recent.map((summary) => summary.messageId),
        [ids[1]],
      );
      assert.equal((await store.traces.findTraces({ recipient: to, limit: 1 })).length, 1);
      assert.deepEqual(
        await store.traces.findTraces({ recipient: `${unique("nobody")}@x.example`, limit: 5 }),
        [],
      );
    });

    /** Delivers a fresh message into a fresh user's INBOX with these trace events. */
    async function deliverTraced(trace: TraceEventInput[]) {
      const { inbox } = await context.freshUser();
      const blob = await writeBlob(store, message(unique("traced")));
      const result = await store.messages.deliver({
        blob,
        sender: "a@example.net",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: inbox.id }],
        queue: [],
        trace,
      });
      return { inbox, result };
    }

    test("events given with a delivery are committed with it", async () => {
      const { result } = await deliverTraced([
        { at: new Date(), kind: "mailbox", recipient: "user@x.example", sender: "a@example.net", data: {} },
      ]);
      const events = await store.traces.getTrace(result.messageId);
      assert.deepEqual(
        events.map((event) => event.kind),
        ["mailbox"],
      );
    });

    test("a trace event that cannot be written does not fail the delivery it came with", async () => {
      const { inbox, result } = await deliverTraced([
        { at: new Date(Number.NaN), kind: "mailbox", data: {} },
      ]);
      assert.equal(result.uids.length, 1);
      assert.deepEqual(await store.traces.getTrace(result.messageId), []);
      assert.equal((await store.messages.listMessages(inbox.id)).length, 1);
    });

    test("bad events are refused and change nothing", async () => {
      const id = unique("bad");
      await rejectsWith(
        store.traces.record(id, [{ at: new Date(Number.NaN), kind: "x", data: {} }]),
        "invalid",
      );
      await rejectsWith(store.traces.record(id, [{ at: new Date(), kind: "", data: {} }]), "invalid");
      await rejectsWith(store.traces.record("", [{ at: new Date(), kind: "x", data: {} }]), "invalid");
      assert.deepEqual(await store.traces.getTrace(id), []);
    });

    test("prune removes whole traces whose last event is older than the cutoff", async () => {
      const old = unique("old");
      const kept = unique("kept");
      await store.traces.record(old, [{ at: at("2001-01-01T00:00:00Z"), kind: "session", data: {} }]);
      await store.traces.record(kept, [{ at: at("2001-01-01T00:00:00Z"), kind: "session", data: {} }]);
      await store.traces.record(kept, [{ at: at("2001-03-01T00:00:00Z"), kind: "relay", data: {} }]);
      const removed = await store.traces.prune(at("2001-02-01T00:00:00Z"));
      assert.ok(removed >= 1);
      assert.deepEqual(await store.traces.getTrace(old), []);
      assert.deepEqual(
        (await store.traces.getTrace(kept)).map((event) => event.kind),
        ["session", "relay"],
      );
      assert.equal(await store.traces.prune(at("2001-02-01T00:00:00Z")), 0);
    });
  });
}
