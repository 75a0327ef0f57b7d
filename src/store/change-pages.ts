// Changes since a state, computed the same way on every backend from what the rows keep: each mailbox
// entry its creation MODSEQ and last MODSEQ, each expunge (and mailbox tombstone) the MODSEQ it happened
// at. Only the last change of a live row is known, so a page ends at a MODSEQ below which every id it
// names is complete, and the next page (from that state) picks up the rest (RFC 8620 §5.2).

import type { Changes, Thread } from "./emails.js";
import { StoreError } from "./errors.js";

/** One row's word on an id: a live row (its last change) or a record of its removal. */
export interface ChangeRecord {
  id: number;
  createdModseq: number;
  modseq: number;
  live: boolean;
}

/** What the records say of one id, after `since`. */
export interface ChangeSummary {
  createdModseq: number;
  /** The earliest change after `since` the rows still know of. */
  firstChange: number;
  live: boolean;
  /** When not live: the MODSEQ it went at. */
  destroyedAt: number;
}

export function summarise(records: Iterable<ChangeRecord>): Map<number, ChangeSummary> {
  const summaries = new Map<number, ChangeSummary>();
  for (const record of records) {
    const known = summaries.get(record.id);
    if (known === undefined) {
      summaries.set(record.id, {
        createdModseq: record.createdModseq,
        firstChange: record.modseq,
        live: record.live,
        destroyedAt: record.live ? 0 : record.modseq,
      });
      continue;
    }
    known.createdModseq = Math.min(known.createdModseq, record.createdModseq);
    known.firstChange = Math.min(known.firstChange, record.modseq);
    known.live ||= record.live;
    if (!record.live) known.destroyedAt = Math.max(known.destroyedAt, record.modseq);
  }
  return summaries;
}

/** Checks a since state against the account's state and the oldest one its history reaches. */
export function checkSince(since: number, state: number, floor: number, maxChanges?: number): void {
  if (!Number.isSafeInteger(since) || since < 0) {
    throw new StoreError("invalid", `state ${String(since)} is not a state this store gave`);
  }
  if (maxChanges !== undefined && (!Number.isSafeInteger(maxChanges) || maxChanges < 1)) {
    throw new StoreError("invalid", `maxChanges must be a positive integer, not ${String(maxChanges)}`);
  }
  if (since > state) throw new StoreError("cannot-calculate", `state ${since} is newer than the account's`);
  if (since < floor) {
    throw new StoreError("cannot-calculate", `changes before state ${floor} are not kept; resynchronise`);
  }
}

export function pageChanges(
  summaries: ReadonlyMap<number, ChangeSummary>,
  since: number,
  state: number,
  maxChanges?: number,
): Changes {
  const keyed = [...summaries].map(([id, summary]) => ({
    id,
    summary,
    // A creation after `since` is when the id first matters, whatever happened to it later.
    key: summary.createdModseq > since ? summary.createdModseq : summary.firstChange,
  }));
  keyed.sort((a, b) => a.key - b.key || a.id - b.id);
  let taken = keyed.length;
  let upTo = state;
  if (maxChanges !== undefined && keyed.length > maxChanges) {
    // Ids of one MODSEQ go together: a state between them does not exist.
    taken = maxChanges;
    while (taken > 0 && keyed[taken - 1]?.key === keyed[taken]?.key) taken--;
    if (taken === 0) {
      throw new StoreError(
        "cannot-calculate",
        `a single change touched more than ${maxChanges} ids; ask for more changes at once`,
      );
    }
    upTo = (keyed[taken - 1] as { key: number }).key;
  }
  const changes: Changes = {
    created: [],
    updated: [],
    destroyed: [],
    newState: upTo,
    hasMoreChanges: taken < keyed.length,
  };
  for (const { id, summary } of keyed.slice(0, taken)) {
    const created = summary.createdModseq > since;
    const destroyed = !summary.live && summary.destroyedAt <= upTo;
    if (created && destroyed) continue;
    if (created) changes.created.push(id);
    else if (destroyed) changes.destroyed.push(id);
    else changes.updated.push(id);
  }
  return changes;
}

/** A removed email as the expunge history keeps it. */
export interface RemovedEmail {
  emailId: number;
  threadId: number;
  createdModseq: number;
  modseq: number;
}

/**
 * Thread changes from email rows: `born` the live emails created after `since`, `removed` the expunge
 * records after it, `liveIds` every email id live now among those, `oldestLive` the earliest creation
 * among each candidate thread's live emails. A thread existed at `since` when one of its emails did.
 */
export function threadSummaries(
  born: ReadonlyArray<{ threadId: number; createdModseq: number }>,
  removed: readonly RemovedEmail[],
  liveIds: ReadonlySet<number>,
  oldestLive: ReadonlyMap<number, number>,
): Map<number, ChangeSummary> {
  const summaries = new Map<number, ChangeSummary>();
  const touch = (threadId: number, change: number): ChangeSummary => {
    let summary = summaries.get(threadId);
    if (summary === undefined) {
      const live = oldestLive.get(threadId);
      summary = {
        createdModseq: live ?? Number.POSITIVE_INFINITY,
        firstChange: change,
        live: live !== undefined,
        destroyedAt: 0,
      };
      summaries.set(threadId, summary);
    }
    summary.firstChange = Math.min(summary.firstChange, change);
    return summary;
  };
  for (const email of born) touch(email.threadId, email.createdModseq);
  for (const email of removed) {
    // Moved, not gone: the thread's emails stay the same.
    if (liveIds.has(email.emailId)) continue;
    const summary = touch(email.threadId, email.modseq);
    summary.createdModseq = Math.min(summary.createdModseq, email.createdModseq);
    if (!summary.live) summary.destroyedAt = Math.max(summary.destroyedAt, email.modseq);
  }
  return summaries;
}

/** A row as the backends read it for changes: live (an entry, a mailbox) or removed (its record). */
export interface ChangeRow {
  id: number;
  created_modseq: number;
  modseq: number;
}

export function changeRecords(live: readonly ChangeRow[], gone: readonly ChangeRow[]): ChangeRecord[] {
  const toRecord = (row: ChangeRow, isLive: boolean): ChangeRecord => ({
    id: row.id,
    createdModseq: row.created_modseq,
    modseq: row.modseq,
    live: isLive,
  });
  return [...live.map((row) => toRecord(row, true)), ...gone.map((row) => toRecord(row, false))];
}

/** Rows in receivedAt order to threads, in the order of their first rows. */
export function groupThreads(rows: ReadonlyArray<{ thread_id: number; email_id: number }>): Thread[] {
  const threads = new Map<number, Thread>();
  for (const row of rows) {
    let thread = threads.get(row.thread_id);
    if (thread === undefined) {
      thread = { threadId: row.thread_id, emailIds: [] };
      threads.set(row.thread_id, thread);
    }
    thread.emailIds.push(row.email_id);
  }
  return [...threads.values()];
}
