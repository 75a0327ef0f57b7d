/** SORT's order (RFC 5256 §3, RFC 5957): the criteria in turn, then the sequence number. */

import type { SortCriterion, SortKey } from "../protocol/command.js";
import type { SortFacts } from "./facts.js";

function compareStrings(a: string, b: string): number {
  // Code point order of the case-folded forms; an empty string (a missing field) sorts first.
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBy(key: SortKey, a: SortFacts, b: SortFacts): number {
  switch (key) {
    case "ARRIVAL":
      return a.internalDate - b.internalDate;
    case "DATE":
      return a.sentDate - b.sentDate;
    case "SIZE":
      return a.size - b.size;
    case "SUBJECT":
      return compareStrings(a.inputs.subject.text, b.inputs.subject.text);
    case "FROM":
      return compareStrings(a.inputs.fromMailbox, b.inputs.fromMailbox);
    case "TO":
      return compareStrings(a.inputs.toMailbox, b.inputs.toMailbox);
    case "CC":
      return compareStrings(a.inputs.ccMailbox, b.inputs.ccMailbox);
    case "DISPLAYFROM":
      return compareStrings(a.inputs.displayFrom, b.inputs.displayFrom);
    case "DISPLAYTO":
      return compareStrings(a.inputs.displayTo, b.inputs.displayTo);
  }
}

export function sortMessages(
  messages: readonly SortFacts[],
  criteria: readonly SortCriterion[],
): SortFacts[] {
  return [...messages].sort((a, b) => {
    for (const { key, reverse } of criteria) {
      const order = compareBy(key, a, b);
      if (order !== 0) return reverse ? -order : order;
    }
    // RFC 5256 §3: messages equal by every criterion keep their mailbox order, REVERSE or not.
    return a.seq - b.seq;
  });
}
