// The retry policy: when a temporarily failed entry is tried again, when it has waited too long, and
// which notices its sender asked for (RFC 3461 §4.1 NOTIFY).

import type { QueueEntry, RecipientDsn } from "../store/types.js";
import type { RelayConfig } from "./config.js";

/** The wait after attempt number `attempts` (1 = the first attempt) failed. */
export function retryDelay(schedule: readonly number[], attempts: number): number {
  if (schedule.length === 0) throw new Error("the retry schedule is empty; give at least one delay");
  const index = Math.min(Math.max(attempts, 1), schedule.length) - 1;
  return schedule[index] ?? schedule[schedule.length - 1] ?? 0;
}

/**
 * When the entry began to be tried: its release (RFC 4865) when it was held, else when it was queued.
 * A message held for a week is not "too old" at its first attempt.
 */
export function queuedSince(entry: QueueEntry): Date {
  return entry.holdUntil !== null && entry.holdUntil > entry.createdAt ? entry.holdUntil : entry.createdAt;
}

export function hasExpired(entry: QueueEntry, config: RelayConfig, now: Date): boolean {
  return now.getTime() - queuedSince(entry).getTime() >= config.maxAge;
}

/** RFC 3461 §4.1: without NOTIFY the MTA reports failures and, at its discretion, delays. */
export function wantsNotice(dsn: RecipientDsn, kind: "SUCCESS" | "FAILURE" | "DELAY"): boolean {
  if (!dsn.notify || dsn.notify.length === 0) return kind !== "SUCCESS";
  return dsn.notify.includes(kind);
}

export function dueForDelayNotice(entry: QueueEntry, config: RelayConfig, now: Date): boolean {
  return (
    !entry.delayNotified &&
    now.getTime() - queuedSince(entry).getTime() >= config.delayNotice &&
    wantsNotice(entry.dsn, "DELAY")
  );
}
