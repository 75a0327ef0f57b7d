// SASLprep (RFC 4013), the stringprep profile for user names and passwords that SCRAM (RFC 5802 §2.2)
// and PLAIN (RFC 4616 §2) ask for, through a maintained implementation of its tables.

import { saslprep } from "@mongodb-js/saslprep";

export class ProhibitedStringError extends Error {
  constructor() {
    super(
      "it contains a character SASLprep (RFC 4013 §2.3) forbids in passwords: a control or private-use character, an unassigned code point, or right-to-left text mixed with left-to-right",
    );
    this.name = "ProhibitedStringError";
  }
}

/**
 * A string prepared for storing (a new password). RFC 3454 §7 refuses unassigned code points here,
 * since a later Unicode version could map them differently and lock the user out.
 */
export function prepareStored(value: string): string {
  try {
    return saslprep(value, { allowUnassigned: false });
  } catch {
    throw new ProhibitedStringError();
  }
}

/** A string prepared for comparing (a login): unassigned code points pass (RFC 3454 §7). Null when prohibited. */
export function prepareQuery(value: string): string | null {
  try {
    return saslprep(value, { allowUnassigned: true });
  } catch {
    return null;
  }
}
