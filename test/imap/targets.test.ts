// resolveTargets (src/imap/commands/targets.ts) walks the view range by range; these check it names the
// messages, in the order and once each, that testing every message against the set names.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CommandRefused } from "../../src/imap/commands/context.js";
import { resolveTargets, type Target } from "../../src/imap/commands/targets.js";
import { inSequenceSet } from "../../src/imap/protocol/sequence.js";
import type { SequenceSet } from "../../src/imap/search/types.js";
import { SelectedMailbox } from "../../src/imap/selected.js";
import type { Mailbox, MailboxMessage } from "../../src/store/types.js";

function view(uids: readonly number[]): SelectedMailbox {
  const mailbox = { id: 1, uidValidity: 1, uidNext: (uids.at(-1) ?? 0) + 1, highestModseq: 1 } as Mailbox;
  const messages = uids.map((uid) => ({ uid, flags: [], modseq: 1 }) as unknown as MailboxMessage);
  return new SelectedMailbox(mailbox, false, messages, null);
}

/** What every message tested against the set gives. */
function naive(
  selected: SelectedMailbox,
  set: SequenceSet,
  uid: boolean,
  saved: ReadonlySet<number>,
): Target[] {
  const max = uid ? selected.maxUid : selected.exists;
  return selected.messages
    .map((m, i) => ({ seq: i + 1, uid: m.uid }))
    .filter((t) => (set.kind === "saved" ? saved.has(t.uid) : inSequenceSet(set, uid ? t.uid : t.seq, max)));
}

const uidList = fc
  .uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 25 })
  .map((u) => u.sort((a, b) => a - b));
const number = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constant("*" as const));
const ranges = fc.array(fc.record({ start: number, end: number }), { minLength: 1, maxLength: 5 });

describe("resolveTargets", () => {
  test("UID sets: overlapping, reversed and * ranges name each message once, in mailbox order", () => {
    fc.assert(
      fc.property(uidList, ranges, (uids, r) => {
        const selected = view(uids);
        const set: SequenceSet = { kind: "ranges", ranges: r };
        assert.deepEqual(
          resolveTargets(selected, set, true, new Set()),
          naive(selected, set, true, new Set()),
        );
      }),
      { numRuns: 500 },
    );
  });

  test("message-number sets: the same, or refused when a number is beyond the mailbox", () => {
    fc.assert(
      fc.property(uidList, ranges, (uids, r) => {
        const selected = view(uids);
        const set: SequenceSet = { kind: "ranges", ranges: r };
        const beyond = r.some(({ start, end }) => [start, end].some((n) => n !== "*" && n > uids.length));
        if (beyond) assert.throws(() => resolveTargets(selected, set, false, new Set()), CommandRefused);
        else
          assert.deepEqual(
            resolveTargets(selected, set, false, new Set()),
            naive(selected, set, false, new Set()),
          );
      }),
      { numRuns: 500 },
    );
  });

  test("$ names the saved UIDs still in the view, in mailbox order", () => {
    fc.assert(
      fc.property(uidList, fc.array(fc.integer({ min: 1, max: 60 })), (uids, saved) => {
        const selected = view(uids);
        const set: SequenceSet = { kind: "saved" };
        const savedSet = new Set(saved);
        assert.deepEqual(resolveTargets(selected, set, true, savedSet), naive(selected, set, true, savedSet));
      }),
    );
  });
});
