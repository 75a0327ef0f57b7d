/** SELECT and EXAMINE (RFC 9051 §6.3.2–3), with CONDSTORE and QRESYNC (RFC 7162 §3.1.2, §3.2.5). */

import { mailboxIdOf } from "../../mail/object-ids.js";
import { imapCaches, listingSummary } from "../caches.js";
import type { Command, QresyncParams } from "../protocol/command.js";
import { formatSequence, inSequenceSet } from "../protocol/sequence.js";
import { recentClaims } from "../recent.js";
import { flagList, untagged, untaggedValues } from "../responses.js";
import type { SequenceSet } from "../search/types.js";
import { SelectedMailbox } from "../selected.js";
import { CommandRefused, decodeName, encodeName, type ImapContext, requireMailbox } from "./context.js";
import { URLMECH_CODE } from "./urlauth.js";

interface NumberRanges {
  /** Ascending, disjoint [low, high] pairs. */
  ranges: Array<[number, number]>;
  /** before[i]: how many numbers the ranges before i hold. */
  before: number[];
  count: number;
}

/** A seq-match-data half as ascending ranges; BAD when it is not the strictly ascending set RFC 7162 asks. */
function knownRanges(set: SequenceSet, what: string): NumberRanges {
  if (set.kind === "saved") throw new CommandRefused(`QRESYNC ${what} cannot be $`);
  const ranges: Array<[number, number]> = [];
  const before: number[] = [];
  let count = 0;
  for (const range of set.ranges) {
    if (range.start === "*" || range.end === "*")
      throw new CommandRefused(`QRESYNC ${what} cannot contain *`);
    const low = Math.min(range.start, range.end);
    const high = Math.max(range.start, range.end);
    const previous = ranges.at(-1);
    if (previous !== undefined && low <= previous[1])
      throw new CommandRefused(`QRESYNC ${what} must list its numbers in ascending order`);
    ranges.push([low, high]);
    before.push(count);
    count += high - low + 1;
  }
  return { ranges, before, count };
}

/** The index-th number (0-based) of the ranges. */
function numberAt(set: NumberRanges, index: number): number {
  let lo = 0;
  let hi = set.ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((set.before[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return (set.ranges[lo] as [number, number])[0] + index - (set.before[lo] as number);
}

/** Index of the last number ≤ limit, or -1. */
function lastIndexAtMost(set: NumberRanges, limit: number): number {
  for (let r = set.ranges.length - 1; r >= 0; r--) {
    const [low, high] = set.ranges[r] as [number, number];
    if (low <= limit) return (set.before[r] as number) + Math.min(high, limit) - low;
  }
  return -1;
}

/**
 * RFC 7162 §3.2.5.2 seq-match-data: pairs of a message number and the UID the client knows it by. When
 * the message at number N still has UID U, no message below U has been expunged since the client last
 * knew the mailbox (UIDs only grow, and as many messages precede U now as then), so VANISHED (EARLIER)
 * need only report UIDs above U. Returns the highest such U, or 0 when no pair matches.
 */
export function matchedUid(
  view: Pick<SelectedMailbox, "messages">,
  seqMatch: { sequences: SequenceSet; uids: SequenceSet },
): number {
  const sequences = knownRanges(seqMatch.sequences, "known-sequence-set");
  const uids = knownRanges(seqMatch.uids, "known-uid-set");
  if (sequences.count !== uids.count) {
    throw new CommandRefused(
      `QRESYNC known-sequence-set has ${sequences.count} numbers but known-uid-set ${uids.count}; they must pair up`,
    );
  }
  // Message numbers are strictly ascending, so from the last one in the mailbox down at most
  // view.messages.length pairs are looked at, however large the sets.
  for (let i = lastIndexAtMost(sequences, view.messages.length); i >= 0; i--) {
    const uid = numberAt(uids, i);
    if (view.messages[numberAt(sequences, i) - 1]?.uid === uid) return uid;
  }
  return 0;
}

export async function select(
  context: ImapContext,
  command: Extract<Command, { name: "SELECT" | "EXAMINE" }>,
): Promise<{ output: Buffer[]; code: string }> {
  const qresync = command.qresync;
  if (qresync !== null && !context.qresync) {
    throw new CommandRefused("QRESYNC must be enabled first (ENABLE QRESYNC)");
  }
  // Malformed seq-match-data is refused before anything changes.
  if (qresync?.seqMatch !== undefined) matchedUid({ messages: [] }, qresync.seqMatch);
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected, so deselect before trying.
  context.select(null);
  const mailbox = await requireMailbox(context, decodeName(context, command.mailbox));
  if (command.condstore) context.condstore = true;
  // The listing kept from an earlier SELECT of this mailbox, brought up to date (see caches.ts).
  const messages = await imapCaches(context.store).listings.list(context.store, mailbox);
  const readOnly = command.name === "EXAMINE";
  const view = new SelectedMailbox(
    mailbox,
    readOnly,
    messages,
    context.rev2 ? null : recentClaims(context.store),
  );
  const { firstUnseen, highestModseq: listedModseq } = listingSummary(messages);
  // The mailbox row was read before the listing: a message delivered in between is in the view, so the
  // reported UIDNEXT and HIGHESTMODSEQ must also cover what the listing shows.
  const highestModseq = Math.max(mailbox.highestModseq, listedModseq);
  const uidNext = Math.max(mailbox.uidNext, view.maxUid + 1);
  const out: Buffer[] = [view.flagsResponse(), untagged(`${view.exists} EXISTS`)];
  if (!context.rev2) out.push(untagged(`${view.recentCount} RECENT`));
  if (!context.rev2 && firstUnseen > 0) out.push(untagged(`OK [UNSEEN ${firstUnseen}] first unseen message`));
  out.push(untagged(`OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`));
  out.push(untagged(`OK [UIDNEXT ${uidNext}] predicted next UID`));
  out.push(untagged(`OK [HIGHESTMODSEQ ${highestModseq}] highest modification sequence`));
  out.push(untagged(`OK [MAILBOXID (${mailboxIdOf(mailbox)})] the id JMAP uses too (RFC 8474)`));
  out.push(untagged(`OK [${URLMECH_CODE}] URLAUTH mechanisms (RFC 4467)`));
  out.push(view.permanentFlagsResponse());
  if (context.rev2) {
    // RFC 9051 §6.3.2: the server returns the mailbox's LIST response, giving its canonical name.
    const attributes = mailbox.specialUse === null ? [] : [{ atom: mailbox.specialUse }];
    out.push(untaggedValues([{ atom: "LIST" }, attributes, "/", encodeName(context, mailbox.name)]));
  }
  if (qresync !== null && qresync.uidValidity === mailbox.uidValidity) {
    out.push(...(await resynchronize(context, view, qresync)));
  }
  context.select(view);
  return { output: out, code: readOnly ? "READ-ONLY" : "READ-WRITE" };
}

/** RFC 7162 §3.2.5: what changed since the client's MODSEQ: VANISHED (EARLIER), then FETCH of changed flags. */
async function resynchronize(
  context: ImapContext,
  view: SelectedMailbox,
  qresync: QresyncParams,
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const known = qresync.knownUids;
  const largest = Math.max(view.maxUid, view.mailbox.uidNext - 1);
  const floor = qresync.seqMatch === undefined ? 0 : matchedUid(view, qresync.seqMatch);
  const vanished = (await context.store.messages.expungedSince(view.mailbox.id, qresync.modseq)).filter(
    // known-uids should hold no "*" (RFC 7162 §3.2.5); should one come, it is the largest UID assigned.
    (uid) => uid > floor && (known === null || inSequenceSet(known, uid, largest)),
  );
  if (vanished.length > 0) out.push(untagged(`VANISHED (EARLIER) ${formatSequence(vanished)}`));
  // The view was listed moments ago: the messages changed since the client's MODSEQ are in it.
  view.messages.forEach((message, index) => {
    if (message.modseq <= qresync.modseq) return;
    out.push(
      untaggedValues([
        index + 1,
        { atom: "FETCH" },
        [
          { atom: "UID" },
          message.uid,
          { atom: "FLAGS" },
          flagList(view.shownFlags(message.uid, message.flags)),
          { atom: "MODSEQ" },
          [message.modseq],
        ],
      ]),
    );
  });
  return out;
}
