// SORT order and both THREAD algorithms (RFC 5256 §3, §4) on message facts, without a mailbox.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { baseSubject } from "../../../src/imap/sort/base-subject.js";
import type { SortFacts } from "../../../src/imap/sort/facts.js";
import { msgIds } from "../../../src/imap/sort/facts.js";
import { sortMessages } from "../../../src/imap/sort/sort.js";
import { threadMessages } from "../../../src/imap/sort/thread.js";

interface Spec {
  id?: string;
  refs?: string[];
  subject?: string;
  sent?: number;
  size?: number;
  from?: string;
}

/** Messages 1..n in mailbox order, sent an hour apart unless `sent` says otherwise. */
function messages(...specs: Spec[]): SortFacts[] {
  return specs.map((spec, i) => ({
    seq: i + 1,
    uid: (i + 1) * 10,
    size: spec.size ?? 100,
    internalDate: i * 1000,
    sentDate: spec.sent ?? i * 3_600_000,
    inputs: {
      sentDate: spec.sent ?? i * 3_600_000,
      subject: baseSubject(spec.subject ?? `subject ${i + 1}`),
      fromMailbox: spec.from ?? "",
      toMailbox: "",
      ccMailbox: "",
      displayFrom: spec.from ?? "",
      displayTo: "",
      messageId: spec.id ?? null,
      references: spec.refs ?? [],
    },
  }));
}

const seqOf = (m: SortFacts) => m.seq;

describe("THREAD=REFERENCES", () => {
  test("a reply chain is one list; a second reply to one message branches", () => {
    const list = messages(
      { id: "a@x" },
      { id: "b@x", refs: ["a@x"] },
      { id: "c@x", refs: ["a@x", "b@x"] },
      { id: "d@x", refs: ["a@x"] },
      { id: "e@x" },
    );
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "(1 (2 3)(4))(5)");
  });

  test("replies to a message not in the mailbox are gathered under a dummy; one reply is promoted", () => {
    const list = messages(
      { id: "b@x", refs: ["gone@x"] },
      { id: "c@x", refs: ["gone@x"] },
      { id: "d@x", refs: ["other-gone@x"] },
    );
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "((1)(2))(3)");
  });

  test("a truncated References is corrected by a later message's full chain, and loops are not made", () => {
    const list = messages(
      { id: "c@x", refs: ["b@x"] },
      { id: "a@x" },
      { id: "b@x", refs: ["a@x"] },
      // Claims to be its own ancestor's parent: the link that would make a loop is left out.
      { id: "z@x", refs: ["z@x"] },
    );
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "(2 3 1)(4)");
  });

  test("a repeated Message-ID: the first message keeps it, the second threads alone", () => {
    const list = messages({ id: "a@x" }, { id: "a@x" }, { id: "r@x", refs: ["a@x"] });
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "(1 3)(2)");
  });

  test("threads with the same base subject are merged: a reply under the original, two originals under a dummy", () => {
    const list = messages(
      { id: "a@x", subject: "Plans" },
      { id: "b@x", subject: "Re: Plans" },
      { id: "c@x", subject: "Lunch" },
      { id: "d@x", subject: "lunch" },
      { id: "e@x", subject: "" },
      { id: "f@x", subject: "" },
    );
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "(1 2)((3)(4))(5)(6)");
  });

  test("top-level threads and siblings go by sent date, ties by mailbox order", () => {
    const list = messages(
      { id: "a@x", sent: 5000 },
      { id: "b@x", sent: 1000 },
      { id: "c@x", refs: ["a@x"], sent: 9000 },
      { id: "d@x", refs: ["a@x"], sent: 7000 },
      { id: "e@x", sent: 1000 },
    );
    assert.equal(threadMessages(list, "REFERENCES", seqOf), "(2)(5)(1 (4)(3))");
  });

  test("a chain of 20,000 replies is threaded without running out of stack", () => {
    const specs: Spec[] = [];
    for (let i = 0; i < 20_000; i++) specs.push({ id: `m${i}@x`, refs: i === 0 ? [] : [`m${i - 1}@x`] });
    const answer = threadMessages(messages(...specs), "REFERENCES", seqOf);
    assert.equal(answer, `(${specs.map((_, i) => i + 1).join(" ")})`);
  });
});

describe("THREAD=ORDEREDSUBJECT", () => {
  test("messages of one base subject hang under the first sent; threads by their first message's date", () => {
    const list = messages(
      { subject: "b", sent: 10 },
      { subject: "Re: a", sent: 30 },
      { subject: "a", sent: 20 },
      { subject: "Re: b", sent: 40 },
      { subject: "a", sent: 50 },
      { subject: "c", sent: 5 },
    );
    assert.equal(threadMessages(list, "ORDEREDSUBJECT", seqOf), "(6)(1 4)(3 (2)(5))");
  });
});

describe("SORT", () => {
  test("criteria in turn, REVERSE on one key, then mailbox order even under REVERSE", () => {
    const list = messages(
      { size: 30, from: "b" },
      { size: 10, from: "a" },
      { size: 30, from: "a" },
      { size: 10, from: "a" },
    );
    const order = (criteria: Parameters<typeof sortMessages>[1]) => sortMessages(list, criteria).map(seqOf);
    assert.deepEqual(order([{ key: "SIZE", reverse: false }]), [2, 4, 1, 3]);
    assert.deepEqual(order([{ key: "SIZE", reverse: true }]), [1, 3, 2, 4]);
    assert.deepEqual(
      order([
        { key: "FROM", reverse: false },
        { key: "SIZE", reverse: true },
      ]),
      [3, 2, 4, 1],
    );
  });

  test("property: SORT is a permutation ordered by its key; THREAD names every message once", () => {
    const spec = fc.record({
      id: fc.option(fc.constantFrom("a@x", "b@x", "c@x", "d@x", "e@x"), { nil: undefined }),
      refs: fc.array(fc.constantFrom("a@x", "b@x", "c@x", "d@x", "e@x", "gone@x"), { maxLength: 4 }),
      subject: fc.constantFrom("", "x", "Re: x", "y", "[l] y", "Fwd: z"),
      sent: fc.integer({ min: 0, max: 5 }),
      size: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 25 }), fc.boolean(), (specs, reverse) => {
        const list = messages(...specs);
        const sorted = sortMessages(list, [{ key: "SIZE", reverse }]);
        assert.deepEqual(
          sorted.map(seqOf).sort((a, b) => a - b),
          list.map(seqOf),
        );
        for (let i = 1; i < sorted.length; i++) {
          const [a, b] = [sorted[i - 1] as SortFacts, sorted[i] as SortFacts];
          assert.ok(reverse ? a.size >= b.size : a.size <= b.size);
          if (a.size === b.size) assert.ok(a.seq < b.seq);
        }
        for (const algorithm of ["REFERENCES", "ORDEREDSUBJECT"] as const) {
          const answer = threadMessages(list, algorithm, seqOf);
          const numbers = (answer.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);
          assert.deepEqual(numbers, list.map(seqOf));
          assert.doesNotMatch(answer, /\(\)|\(\(\d+\)\)/, "no empty list, no dummy with one child");
        }
      }),
    );
  });
});

describe("msg-ids", () => {
  test("quoting, escapes, comments and white space do not make two ids differ (RFC 5256 §3)", () => {
    assert.deepEqual(msgIds('<"01KF8JCEOCBS0045PS"@xxx.yyy.com> (note) <a\\b@x>'), [
      "01KF8JCEOCBS0045PS@xxx.yyy.com",
      "ab@x",
    ]);
    assert.deepEqual(msgIds("<no-at-sign> junk"), []);
  });
});
