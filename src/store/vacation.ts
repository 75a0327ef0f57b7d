// Vacation auto-replies (JMAP VacationResponse, RFC 8621 §8; Sieve vacation, RFC 5230): each user's
// setting, and the log of whom the user's responder answered when, for RFC 3834 §2's once-per-period rule.

import type { VacationSetting } from "../mail/auto-reply.js";

export type { VacationSetting };

/** The setting of a user who never set one: disabled and empty. */
export const NO_VACATION: VacationSetting = Object.freeze({
  isEnabled: false,
  fromDate: null,
  toDate: null,
  subject: null,
  textBody: null,
  htmlBody: null,
});

export interface VacationStore {
  /** The user's setting; a user who never set one has a disabled, empty one. */
  getVacation(userId: number): Promise<VacationSetting>;
  setVacation(userId: number, setting: VacationSetting): Promise<void>;
  /**
   * Records an auto-reply from the user to `sender` (compared lower-cased) at `at`, unless one was
   * recorded less than `period` milliseconds before: true when recorded, and so the reply may go. One
   * atomic step, so two deliveries at once (or on two nodes) cannot both answer (RFC 3834 §2).
   */
  claimReply(userId: number, sender: string, at: Date, period: number): Promise<boolean>;
}
