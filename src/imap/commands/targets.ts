/** Resolving a command's sequence set against the selected mailbox as the client knows it. */

import type { SequenceSet } from "../search/types.js";
import type { SelectedMailbox, ViewMessage } from "../selected.js";
import { CommandRefused } from "./context.js";

export interface Target {
  seq: number;
  uid: number;
}

/**
 * The messages a set names, in mailbox order, each once. A message number beyond the mailbox is a client
 * error (RFC 9051 §9 seq-number); a UID that does not exist is simply not there (§6.4.8). Found range by
 * range through the view's UID order, so a chunk of a large mailbox costs its own size, not the mailbox's.
 */
export function resolveTargets(
  view: SelectedMailbox,
  set: SequenceSet,
  uid: boolean,
  saved: ReadonlySet<number>,
): Target[] {
  const messages = view.messages;
  const targets: Target[] = [];
  if (set.kind === "saved") {
    const indexes: number[] = [];
    for (const savedUid of saved) {
      const index = view.indexOf(savedUid);
      if (index >= 0) indexes.push(index);
    }
    indexes.sort((a, b) => a - b);
    for (const i of indexes) targets.push({ seq: i + 1, uid: (messages[i] as ViewMessage).uid });
    return targets;
  }
  if (uid) {
    for (const [low, high] of mergedRanges(set, view.maxUid)) {
      for (let i = view.firstIndexFrom(low); i < messages.length; i++) {
        const found = (messages[i] as ViewMessage).uid;
        if (found > high) break;
        targets.push({ seq: i + 1, uid: found });
      }
    }
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
  for (const [low, high] of mergedRanges(set, exists)) {
    for (let seq = Math.max(low, 1); seq <= high; seq++) {
      targets.push({ seq, uid: (messages[seq - 1] as ViewMessage).uid });
    }
  }
  return targets;
}

/**
 * The set's ranges as ascending, disjoint [low, high] pairs, "*" standing for `max` (RFC 9051 §9: a range
 * is unordered, "4:2" is 2,3,4). Overlapping ranges are joined, so no message is named twice.
 */
function mergedRanges(set: Extract<SequenceSet, { kind: "ranges" }>, max: number): Array<[number, number]> {
  const ranges = set.ranges.map(({ start, end }): [number, number] => {
    const a = start === "*" ? max : start;
    const b = end === "*" ? max : end;
    return a <= b ? [a, b] : [b, a];
  });
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}
