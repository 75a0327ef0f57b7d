/**
 * RFC 3501 §2.3.2 \Recent: a message is recent to exactly one session, the first to learn of it after it
 * arrived (by SELECT, or as a new message while selected); a read-only one (EXAMINE) sees it as recent
 * without taking it from the others. IMAP4rev2 dropped the flag (RFC 9051 §2.3.2).
 *
 * The store keeps no such state, so it is kept here, in memory: for each mailbox, the highest UID a
 * session has claimed (UIDs only grow, so that one number says which messages are taken). It is per
 * process: PostgreSQL nodes each have a first session of their own, and after a restart every message
 * is recent once more, as RFC 3501 asks when the server cannot tell ("SHOULD be considered recent").
 */

import type { Mailbox } from "../store/types.js";

export class RecentClaims {
  /** Keyed by mailbox id and UIDVALIDITY, so a mailbox recreated under a reused id starts afresh. */
  private readonly highest = new Map<string, number>();

  /** The highest UID claimed in the mailbox so far (0: none). */
  claimed(mailbox: Mailbox): number {
    return this.highest.get(key(mailbox)) ?? 0;
  }

  /** Those of `uids` (ascending) that no session has claimed; with `claim`, they are claimed now. */
  take(mailbox: Mailbox, uids: readonly number[], claim: boolean): number[] {
    const floor = this.claimed(mailbox);
    const fresh = uids.filter((uid) => uid > floor);
    const last = fresh.at(-1);
    if (claim && last !== undefined) this.highest.set(key(mailbox), last);
    return fresh;
  }
}

function key(mailbox: Mailbox): string {
  return `${mailbox.id}/${mailbox.uidValidity}`;
}

/** One set of claims for every session on the same store: the process's, as the server has one store. */
const claimsByStore = new WeakMap<object, RecentClaims>();

export function recentClaims(store: object): RecentClaims {
  let claims = claimsByStore.get(store);
  if (claims === undefined) {
    claims = new RecentClaims();
    claimsByStore.set(store, claims);
  }
  return claims;
}
