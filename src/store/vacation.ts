// Vacation auto-replies (JMAP VacationResponse, RFC 8621 §8; Sieve vacation, RFC 5230): each user's
// setting, and the log of whom the user's responder answered when, for RFC 3834 §2's once-per-period rule.

import type { VacationSetting } from "../mail/auto-reply.js";

export type { VacationSetting };

export interface VacationStore {
  /** The user's setting; a user who never set one has a disabled, empty one. */
  getVacation(userId: number): Promise<VacationSetting>;
  setVacation(userId: number, setting: VacationSetting): Promise<void>;
  /** When the user last auto-replied to `sender` (compared lower-cased); null if never. */
  lastReply(userId: number, sender: string): Promise<Date | null>;
  recordReply(userId: number, sender: string, at: Date): Promise<void>;
}
