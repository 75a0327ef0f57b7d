/**
 * Sequence sets (RFC 9051 §9 sequence-set): "1,3:5,7:*", and "$" for the saved search result
 * (RFC 5182). The structure is shared with the search evaluator (src/imap/search/types.ts).
 */

import type { SequenceNumber, SequenceRange, SequenceSet } from "../search/types.js";
import type { PartialRange } from "./command.js";
import { type Cursor, ParseError } from "./cursor.js";

/** Upper bound on ranges in one set, so a hostile command cannot make us build a huge structure. */
const MAX_RANGES = 10_000;

function seqNumber(cursor: Cursor): SequenceNumber {
  if (cursor.accept("*")) return "*";
  return cursor.nzNumber("a message number (1 or more) or *");
}

export function parseSequenceSet(cursor: Cursor): SequenceSet {
  if (cursor.accept("$")) return { kind: "saved" };
  const ranges: SequenceRange[] = [];
  for (;;) {
    const start = seqNumber(cursor);
    const end = cursor.accept(":") ? seqNumber(cursor) : start;
    ranges.push({ start, end });
    if (ranges.length > MAX_RANGES) throw new ParseError("the sequence set has too many ranges");
    if (!cursor.accept(",")) return { kind: "ranges", ranges };
  }
}

/** Renders a set of numbers compactly: 1:3,5,7:9 (for COPYUID, APPENDUID, VANISHED, ESEARCH). */
export function formatSequence(numbers: readonly number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && (sorted[i + 1] as number) <= end + 1) {
      end = sorted[i + 1] as number;
      i++;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}

/** Like formatSequence but keeps the given order (COPYUID pairs source and destination by position). */
export function formatOrdered(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    const start = numbers[i] as number;
    let end = start;
    while (i + 1 < numbers.length && numbers[i + 1] === end + 1) {
      end = numbers[i + 1] as number;
      i++;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(",");
}

/**
 * True when `n` is in the set. `max` is the value of "*": the highest number in use. A range is
 * unordered (RFC 9051 §9: "4:2" is 2,3,4); `*` in an empty mailbox matches nothing.
 */
export function inSequenceSet(
  set: SequenceSet,
  n: number,
  max: number,
  saved?: ReadonlySet<number>,
): boolean {
  if (set.kind === "saved") return saved?.has(n) ?? false;
  for (const range of set.ranges) {
    const a = range.start === "*" ? max : range.start;
    const b = range.end === "*" ? max : range.end;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

/**
 * The items at positions `range.first`..`range.last` (1-based) of `items`, counted from the end when
 * `range.fromEnd` (RFC 9394 §3.1), in the items' order.
 */
export function partialWindow<T>(items: readonly T[], range: PartialRange): T[] {
  if (!range.fromEnd) return items.slice(range.first - 1, range.last);
  const n = items.length;
  return items.slice(Math.max(0, n - range.last), Math.max(0, n - range.first + 1));
}
