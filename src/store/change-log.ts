// What both backends share about the change history (./changes.ts): the changes a transaction collects
// before it writes them, the state strings, and how rows read back become created/updated/destroyed.
//
// A state is "<seq>" (everything up to and including the user's change number seq) or, in the middle of
// a change too large for one answer, "<seq>:<object id>" (seq's rows up to that object, in id order).

import {
  CHANGE_TYPES,
  type ChangesResult,
  type ChangeType,
  DEFAULT_CHANGE_HISTORY,
  DEFAULT_MAX_CHANGES,
} from "./changes.js";
import { StoreError } from "./errors.js";

/** How a row records the change: created, updated, destroyed. */
export type ChangeKind = "c" | "u" | "d";

interface Span {
  first: ChangeKind;
  last: ChangeKind;
}

/** The changes of one transaction, per user; one row per object however often it changed. */
export class ChangeSet {
  private readonly byUser = new Map<number, Map<string, Span>>();

  record(userId: number, type: ChangeType, id: string | number, kind: ChangeKind): void {
    let objects = this.byUser.get(userId);
    if (objects === undefined) {
      objects = new Map();
      this.byUser.set(userId, objects);
    }
    const key = `${type}\u0000${id}`;
    const span = objects.get(key);
    if (span === undefined) objects.set(key, { first: kind, last: kind });
    else span.last = kind;
  }

  /** Per user in id order (so PostgreSQL transactions lock users' counters in one order): its rows. */
  rows(): Array<{ userId: number; rows: Array<{ type: ChangeType; id: string; kind: ChangeKind }> }> {
    const out = [];
    for (const userId of [...this.byUser.keys()].sort((a, b) => a - b)) {
      const rows = [];
      for (const [key, span] of this.byUser.get(userId) as Map<string, Span>) {
        const kind = netKind(span);
        if (kind === null) continue;
        const [type, id] = key.split("\u0000") as [ChangeType, string];
        rows.push({ type, id, kind });
      }
      if (rows.length > 0) out.push({ userId, rows });
    }
    return out;
  }
}

/** What a run of changes to one object amounts to; null when it neither existed before nor after. */
function netKind(span: Span): ChangeKind | null {
  const before = span.first !== "c";
  const after = span.last !== "d";
  if (before && after) return "u";
  if (before) return "d";
  return after ? "c" : null;
}

export interface StatePoint {
  seq: number;
  /** Set for a state inside change seq: its rows with object ids up to this one are included. */
  after: string | null;
}

export function formatState(point: StatePoint): string {
  return point.after === null ? String(point.seq) : `${point.seq}:${point.after}`;
}

function cannotCalculate(state: string): StoreError {
  return new StoreError(
    "cannotCalculateChanges",
    `the state "${state.slice(0, 64)}" is older than the change history kept or not from this store; fetch the objects again`,
  );
}

/** Parses a state a client sent, checking it against the kept history [floor, current]. */
export function parseState(state: unknown, floor: number, current: number): StatePoint {
  if (typeof state !== "string") throw new StoreError("invalid", "the state must be a string");
  const match = /^(0|[1-9][0-9]{0,14})(?::(.+))?$/s.exec(state);
  if (!match) throw cannotCalculate(state);
  const seq = Number(match[1]);
  const after = match[2] ?? null;
  // A state inside change seq needs seq's rows, which are gone once seq is at or below the floor.
  if (seq < floor || (after !== null && seq <= floor) || seq > current) throw cannotCalculate(state);
  return { seq, after };
}

/** The sequence number above which restartChangeHistory starts the history again. */
export function highestSeq(states: readonly string[]): number {
  if (!Array.isArray(states)) throw new StoreError("invalid", "restartChangeHistory needs a list of states");
  let highest = 0;
  for (const state of states) {
    const match = typeof state === "string" ? /^(0|[1-9][0-9]{0,14})(?::.+)?$/s.exec(state) : null;
    if (!match) throw new StoreError("invalid", `"${String(state).slice(0, 64)}" is not a change state`);
    highest = Math.max(highest, Number(match[1]));
  }
  return highest;
}

export function checkChangeType(type: unknown): ChangeType {
  if (!CHANGE_TYPES.includes(type as ChangeType)) {
    throw new StoreError("invalid", `"${String(type)}" is not a change type; use Email, Mailbox or Thread`);
  }
  return type as ChangeType;
}

export function checkMaxChanges(maxChanges: unknown): number {
  if (maxChanges === undefined) return DEFAULT_MAX_CHANGES;
  if (typeof maxChanges !== "number" || !Number.isSafeInteger(maxChanges) || maxChanges < 1) {
    throw new StoreError("invalid", "maxChanges must be a positive integer (RFC 8620 §5.2)");
  }
  return maxChanges;
}

export interface ChangeRow {
  seq: number;
  id: string;
  kind: ChangeKind;
}

/**
 * The answer from rows after the since point, in (seq, id) order, fetched with a limit of maxChanges + 1:
 * maxChanges rows name at most maxChanges objects, and one more says whether anything is left.
 */
export function summarise(
  sinceState: string,
  rows: readonly ChangeRow[],
  maxChanges: number,
  current: number,
): ChangesResult {
  const hasMoreChanges = rows.length > maxChanges;
  const taken = hasMoreChanges ? rows.slice(0, maxChanges) : rows;
  const spans = new Map<string, Span>();
  for (const row of taken) {
    const span = spans.get(row.id);
    if (span === undefined) spans.set(row.id, { first: row.kind, last: row.kind });
    else span.last = row.kind;
  }
  const result: ChangesResult = {
    oldState: sinceState,
    newState: String(current),
    hasMoreChanges,
    created: [],
    updated: [],
    destroyed: [],
  };
  for (const [id, span] of spans) {
    const kind = netKind(span);
    if (kind === "c") result.created.push(id);
    else if (kind === "u") result.updated.push(id);
    else if (kind === "d") result.destroyed.push(id);
  }
  if (hasMoreChanges) {
    const last = taken.at(-1) as ChangeRow;
    const next = rows[maxChanges] as ChangeRow;
    result.newState = formatState({ seq: last.seq, after: next.seq === last.seq ? last.id : null });
  }
  return result;
}

/** After a write, whether the user's history is long enough to be trimmed back to `keep` states. */
export function trimFloor(seq: number, floor: number, keep: number): number | null {
  // Trimming only once a quarter more than `keep` has built up keeps the DELETE off most writes.
  return seq - floor > keep + Math.ceil(keep / 4) ? seq - keep : null;
}

/** The changeHistory store option, checked at open. */
export function checkChangeHistory(value: unknown): number {
  if (value === undefined) return DEFAULT_CHANGE_HISTORY;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new StoreError(
      "invalid",
      "changeHistory must be a positive whole number of states to keep per user",
    );
  }
  return value;
}
