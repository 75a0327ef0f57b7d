// One JMAP account per user for now: its id is derived from the user id, so it is stable for the user's
// life and never reused while the user exists.

import type { AuthenticatedUser } from "../auth/types.js";
import { CORE, MAIL, QUOTA, SIEVE, SUBMISSION, VACATION_RESPONSE } from "./capabilities.js";
import type { AccountContext } from "./types.js";

export function accountIdFor(userId: number): string {
  return `A${userId}`;
}

export function accountFor(user: AuthenticatedUser): AccountContext {
  return {
    accountId: accountIdFor(user.userId),
    userId: user.userId,
    address: user.address,
    isReadOnly: false,
    capabilities: new Set([CORE, MAIL, SUBMISSION, VACATION_RESPONSE, QUOTA, SIEVE]),
  };
}
