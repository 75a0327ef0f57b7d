/** Resolving a command's sequence set against the selected mailbox as the client knows it. */

import { inSequenceSet } from "../protocol/sequence.js";
import type { SequenceSet } from "../search/types.js";
import type { SelectedMailbox } from "../selected.js";
import { CommandRefused } from "./context.js";

export interface Target {
  seq: number;
  uid: number;
}

/**
 * The messages a set names, in mailbox order. A message number beyond the mailbox is a client error
 * (RFC 9051 §9 seq-number); a UID that does not exist is simply not there (§6.4.8).
 */
export function resolveTargets(
  view: SelectedMailbox,
  set: SequenceSet,
  uid: boolean,
  saved: ReadonlySet<number>,
): Target[] {
  const targets: Target[] = [];
  if (set.kind === "saved") {
    view.messages.forEach((m, i) => {
      if (saved.has(m.uid)) targets.push({ seq: i + 1, uid: m.uid });
    });
    return targets;
  }
  if (uid) {
    const max = view.maxUid;
    view.messages.forEach((m, i) => {
      if (inSequenceSet(set, m.uid, max)) targets.push({ seq: i + 1, uid: m.uid });
    });
    return targets;
  }
  const exists = view.exists;
  for (const range of set.ranges) {
    for (const n of [range.start, range.end]) {
      if (n !== "*" && n > exists) {
        throw new CommandRefused(
          exists === 0
            ? "the mailbox is empty, so no message number is valid"
            : `message number ${n} does not exist; the mailbox has ${exists} messages`,
        );
      }
    }
  }
  view.messages.forEach((m, i) => {
    if (inSequenceSet(set, i + 1, exists)) targets.push({ seq: i + 1, uid: m.uid });
  });
  return targets;
}
