/** SORT's order (RFC 5256 §3, RFC 5957): the criteria in turn, then the sequence number. */

import type { SortCriterion, SortKey } from "../protocol/command.js";
import type { SortFacts } from "./facts.js";

type Compare = (a: SortFacts, b: SortFacts) => number;

function byString(value: (m: SortFacts) => string): Compare {
  // Code point order of the case-folded forms; an empty string (a missing field) sorts first.
  return (a, b) => {
    const x = value(a);
    const y = value(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

const COMPARE: Record<SortKey, Compare> = {
  ARRIVAL: (a, b) => a.internalDate - b.internalDate,
  DATE: (a, b) => a.sentDate - b.sentDate,
  SIZE: (a, b) => a.size - b.size,
  SUBJECT: byString((m) => m.inputs.subject.text),
  FROM: byString((m) => m.inputs.fromMailbox),
  TO: byString((m) => m.inputs.toMailbox),
  CC: byString((m) => m.inputs.ccMailbox),
  DISPLAYFROM: byString((m) => m.inputs.displayFrom),
  DISPLAYTO: byString((m) => m.inputs.displayTo),
};

export function sortMessages(
  messages: readonly SortFacts[],
  criteria: readonly SortCriterion[],
): SortFacts[] {
  // One comparison function made for the whole sort, not a walk through the criteria per comparison.
  // RFC 5256 §3: messages equal by every criterion keep their mailbox order, REVERSE or not.
  let compare: Compare = (a, b) => a.seq - b.seq;
  for (let i = criteria.length - 1; i >= 0; i--) {
    const { key, reverse } = criteria[i] as SortCriterion;
    const first = COMPARE[key];
    const then = compare;
    compare = reverse ? (a, b) => first(b, a) || then(a, b) : (a, b) => first(a, b) || then(a, b);
  }
  return [...messages].sort(compare);
}
