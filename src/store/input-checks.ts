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

/** Characters of a user's display name; a From: phrase far longer is no name anyone types. */
export const USER_NAME_LIMIT = 200;

/**
 * A user's display name as stored: trimmed, null when empty. Control characters (CR, LF and the rest)
 * are refused: the name goes into header fields a client writes (RFC 5322 §3.2.5 phrase), where a line
 * break would start a field of its own.
 */
export function userName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") invalid("a display name must be text");
  const name = value.trim();
  if (name === "") return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) invalid("a display name cannot contain control characters");
  if ([...name].length > USER_NAME_LIMIT) invalid(`a display name has at most ${USER_NAME_LIMIT} characters`);
  return name;
}
