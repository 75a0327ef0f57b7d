// Checks of caller-supplied values that every backend makes the same way, so both refuse bad input with
// the same "invalid" StoreError and the same words.

import { type SpecialUse, StoreError } from "./types.js";

export const SPECIAL_USES: ReadonlySet<string> = new Set<SpecialUse>([
  "\\Drafts",
  "\\Sent",
  "\\Trash",
  "\\Junk",
  "\\Archive",
  "\\All",
  "\\Flagged",
]);

export function invalid(message: string): never {
  throw new StoreError("invalid", message);
}

export function requireCount(value: unknown, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    invalid(`${what} must be a whole number of at least ${min}, not ${String(value)}`);
  }
  return value as number;
}

export function requireDate(value: unknown, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) invalid(`${what} must be a valid date`);
  return value;
}
