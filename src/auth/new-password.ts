// What a new password must be, wherever it is set (the CLI's prompt, the web admin): a bound and a
// floor, and nothing SASLprep forbids, since no client could then log in with it.

import { ProhibitedStringError, prepareStored } from "./saslprep.js";

/** Longest password accepted, in characters (typed) or bytes (piped): a bound, not a policy. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Shortest new password accepted, in characters: below this, guessing over SMTP AUTH, POP3 and IMAP
 * (even throttled) is within reach of anyone on the internet.
 */
export const MIN_PASSWORD_LENGTH = 8;

/** Why a new password is refused ("it has 7 characters, fewer than 8"), or null when it will do. */
export function newPasswordProblem(password: string): string | null {
  if (password === "") return "it is empty";
  if (Buffer.byteLength(password) > MAX_PASSWORD_LENGTH) {
    return `it is longer than ${MAX_PASSWORD_LENGTH} bytes`;
  }
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `it has ${length} character${length === 1 ? "" : "s"}, fewer than ${MIN_PASSWORD_LENGTH}`;
  }
  try {
    prepareStored(password);
  } catch (error) {
    if (!(error instanceof ProhibitedStringError)) throw error;
    return error.message;
  }
  return null;
}
