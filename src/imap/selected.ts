/**
 * The selected mailbox as one session's client knows it: the message sequence (sequence number =
 * index + 1), each message's flags and MODSEQ as last reported, and the changes other sessions made
 * that this client has not been told yet. Changes arrive as store events and are reported at the
 * moments RFC 9051 §7 allows: EXISTS and FETCH FLAGS after any command, EXPUNGE/VANISHED only where
 * §7.5.1 permits (not during FETCH, STORE or SEARCH).
 */

import { isMessageEvent } from "../store/events.js";
import type { Mailbox, MailboxEvent, MailboxMessage, Store } from "../store/types.js";
import { listingSummary } from "./caches.js";
import { formatSequence } from "./protocol/sequence.js";
import type { RecentClaims } from "./recent.js";
import { flagList, untagged, untaggedValues } from "./responses.js";

/**
 * One message as the client was last told of it. Never changed in place: an entry whose flags change is
 * replaced, so the view can start from the store's listing (shared with other sessions, see caches.ts)
 * without copying 10,000 entries.
 */
export interface ViewMessage {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly modseq: number;
  /** Immutable for the life of the entry, so SEARCH can use them without asking the store again. */
  readonly messageId: string;
  readonly internalDate: Date;
  readonly savedDate: Date;
  readonly size: number;
}

const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

export type ChangeKind = "exists" | "flags" | "expunge";

/**
 * Changes to a user's mailboxes seen while SELECT or EXAMINE is reading one of them. The listing may or
 * may not already show each change, so they are handed to the new view, whose sync() reports only what
 * the listing lacks. Kept as sets of UIDs per mailbox: bounded by what changed, however many events.
 */
export class ChangesDuringSelect {
  private readonly byMailbox = new Map<number, Record<ChangeKind, Set<number>>>();

  record(event: MailboxEvent): void {
    if (!isMessageEvent(event)) return;
    let changes = this.byMailbox.get(event.mailboxId);
    if (changes === undefined) {
      changes = { exists: new Set(), flags: new Set(), expunge: new Set() };
      this.byMailbox.set(event.mailboxId, changes);
    }
    for (const uid of event.uids) changes[event.kind].add(uid);
  }

  replayInto(view: SelectedMailbox): void {
    const changes = this.byMailbox.get(view.mailbox.id);
    if (changes === undefined) return;
    for (const kind of ["exists", "flags", "expunge"] as const) view.observeUids(kind, changes[kind]);
  }
}

/**
 * Past this many messages to look up one by one, one listing of what changed is cheaper even when
 * where the changes began is not known.
 */
const FLAG_READS_BEFORE_LISTING = 16;

export interface SyncOptions {
  allowExpunge: boolean;
  /** QRESYNC enabled: report expunges as VANISHED (RFC 7162 §3.2.10). */
  vanished: boolean;
  /** CONDSTORE enabled: unsolicited FETCH responses carry MODSEQ (RFC 7162 §3.1.4). */
  condstore: boolean;
  /** The command was a UID command: unsolicited FETCH responses carry UID. */
  uid: boolean;
  /** Only these kinds of change are reported (NOTIFY's events, RFC 5465 §5); the rest keep waiting. */
  only?: ReadonlySet<ChangeKind>;
}

export class SelectedMailbox {
  /** The listing the view started from until the first change to it; then this view's own copy. */
  private entries: readonly ViewMessage[];
  private ownsEntries = false;
  private readonly pendingExists = new Set<number>();
  /**
   * UID → the highest MODSEQ an event named for it (infinite when the change's MODSEQ is not known):
   * the session's own STORE can then cancel what its own event put here (noteFlags).
   */
  private readonly pendingFlags = new Map<number, number>();
  private readonly pendingExpunge = new Set<number>();
  private highestUid: number;
  /** Set when something happened that sync() should look at. */
  private dirty = false;
  /** The keywords the client has been told the mailbox uses (FLAGS). */
  private readonly keywords = new Set<string>();
  /** The messages recent to this session (RFC 3501 §2.3.2). */
  private readonly recent: Set<number>;
  /**
   * Responses due before messages leave the view, while their sequence numbers still hold: the
   * REMOVEFROM of updating searches (RFC 5267 §4.3.4).
   */
  beforeRemove: ((uids: readonly number[]) => Buffer[]) | null = null;

  /** `recentClaims` is null for a session that does not see \Recent (IMAP4rev2). */
  constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    messages: readonly MailboxMessage[],
    private readonly recentClaims: RecentClaims | null,
  ) {
    this.entries = messages;
    this.highestUid = this.messages.at(-1)?.uid ?? 0;
    for (const keyword of listingSummary(messages).keywords) this.keywords.add(keyword);
    // Only UIDs above the highest one claimed can be recent (UIDs only grow): the rest are not looked at.
    const claimed = recentClaims?.claimed(mailbox) ?? 0;
    const unclaimed: number[] = [];
    for (let i = this.messages.length - 1; i >= 0 && (this.messages[i] as ViewMessage).uid > claimed; i--) {
      unclaimed.push((this.messages[i] as ViewMessage).uid);
    }
    this.recent = new Set(this.takeRecent(unclaimed.reverse()));
  }

  /** The message sequence, in UID order; changed only by this view's own methods. */
  get messages(): readonly ViewMessage[] {
    return this.entries;
  }

  /** The entries to change: copied on the first change, as the listing is shared (see caches.ts). */
  private ownEntries(): ViewMessage[] {
    if (!this.ownsEntries) {
      this.entries = [...this.entries];
      this.ownsEntries = true;
    }
    return this.entries as ViewMessage[];
  }

  /** EXAMINE sees recent messages without claiming them (RFC 3501 §6.3.2). */
  private takeRecent(uids: readonly number[]): number[] {
    return this.recentClaims?.take(this.mailbox, uids, !this.readOnly) ?? [];
  }

  get recentCount(): number {
    return this.recent.size;
  }

  /** A message's flags as this session shows them: with \Recent when the message is recent to it. */
  shownFlags(uid: number, flags: readonly string[]): readonly string[] {
    return this.recent.has(uid) ? [...flags, "\\Recent"] : flags;
  }

  /** Adds the keywords among `flags`; true when one of them was new. */
  private addKeywords(flags: readonly string[]): boolean {
    let added = false;
    for (const flag of flags) {
      if (flag.startsWith("\\") || this.keywords.has(flag)) continue;
      this.keywords.add(flag);
      added = true;
    }
    return added;
  }

  /** The FLAGS response: the system flags and every keyword the client knows of. */
  flagsResponse(): Buffer {
    return untaggedValues([{ atom: "FLAGS" }, flagList([...SYSTEM_FLAGS, ...this.keywords])]);
  }

  /** The PERMANENTFLAGS response: any keyword may be created, unless the mailbox is read-only. */
  permanentFlagsResponse(): Buffer {
    if (this.readOnly) return untagged("OK [PERMANENTFLAGS ()] read-only mailbox");
    const flags = [...SYSTEM_FLAGS, ...this.keywords, "\\*"];
    return untagged(`OK [PERMANENTFLAGS (${flags.join(" ")})] flags may be set`);
  }

  /**
   * What must precede a response showing `flags`: when they hold a keyword the client has not been
   * told of, FLAGS and PERMANENTFLAGS again (RFC 3501 §7.2.6, RFC 9051 §7.3.5), so the client knows
   * the keyword before a FETCH shows it. A read-only view's PERMANENTFLAGS stays empty, so only FLAGS.
   */
  announceKeywords(flags: readonly string[]): Buffer[] {
    if (!this.addKeywords(flags)) return [];
    return this.readOnly ? [this.flagsResponse()] : [this.flagsResponse(), this.permanentFlagsResponse()];
  }

  get exists(): number {
    return this.messages.length;
  }

  get hasPending(): boolean {
    return this.dirty;
  }

  /** UIDs with a change not yet reported, for NOTIFY's bound on what may wait (RFC 5465 §5.8). */
  get pendingCount(): number {
    return this.pendingExists.size + this.pendingFlags.size + this.pendingExpunge.size;
  }

  /** Whether a change of one of these kinds waits to be reported. */
  hasPendingOf(kinds: ReadonlySet<ChangeKind>): boolean {
    return (
      (kinds.has("exists") && this.pendingExists.size > 0) ||
      (kinds.has("flags") && this.pendingFlags.size > 0) ||
      (kinds.has("expunge") && this.pendingExpunge.size > 0)
    );
  }

  /** Called from the store's event bus: record only; the report happens at the next sync. */
  observe(event: MailboxEvent): void {
    if (!isMessageEvent(event) || event.mailboxId !== this.mailbox.id) return;
    if (event.kind !== "flags") {
      this.observeUids(event.kind, event.uids);
      return;
    }
    for (const uid of event.uids) {
      // A change this view already shows (its own, noted before the event came) is nothing to report.
      const known = this.messages[this.indexOf(uid)];
      if (known !== undefined && known.modseq >= event.modseq) continue;
      this.pendingFlags.set(uid, Math.max(this.pendingFlags.get(uid) ?? 0, event.modseq));
      this.dirty = true;
    }
  }

  /**
   * Records changes to this mailbox. Safe to repeat, and for changes the initial listing already shows:
   * sync() announces only UIDs above the highest known one, flags whose MODSEQ is newer than the view's,
   * and expunges of messages still in the view.
   */
  observeUids(kind: ChangeKind, uids: Iterable<number>): void {
    let any = false;
    for (const uid of uids) {
      if (kind === "flags") this.pendingFlags.set(uid, Number.POSITIVE_INFINITY);
      else (kind === "exists" ? this.pendingExists : this.pendingExpunge).add(uid);
      any = true;
    }
    if (any) this.dirty = true;
  }

  seqOf(uid: number): number {
    const index = this.indexOf(uid);
    return index < 0 ? 0 : index + 1;
  }

  indexOf(uid: number): number {
    const index = this.firstIndexFrom(uid);
    return this.messages[index]?.uid === uid ? index : -1;
  }

  /** Index of the first message whose UID is at least `uid` (the length when there is none). */
  firstIndexFrom(uid: number): number {
    return firstIndexFrom(this.messages, uid);
  }

  get maxUid(): number {
    return this.messages.at(-1)?.uid ?? 0;
  }

  /** The highest UID ever in the view: expunges do not lower it. */
  get highestKnownUid(): number {
    return this.highestUid;
  }

  /** UIDs another session expunged that this client has not been told about yet. */
  get unreportedExpunges(): ReadonlySet<number> {
    return this.pendingExpunge;
  }

  /**
   * The current flags and MODSEQ of the messages other sessions changed since the last sync, read from
   * the store (the truth) without updating this view: the change must still be reported as an
   * unsolicited FETCH at the next sync. A message missing from the store has been expunged meanwhile.
   */
  async unreportedFlagChanges(
    store: Pick<Store, "messages">,
  ): Promise<Map<number, { flags: string[]; modseq: number } | null>> {
    const current = new Map<number, { flags: string[]; modseq: number } | null>();
    const uids = [...this.pendingFlags.keys()].filter((uid) => this.indexOf(uid) >= 0);
    if (uids.length > FLAG_READS_BEFORE_LISTING) {
      const listed = await this.currentEntries(store, this.pendingFlags);
      for (const uid of uids) {
        const message = listed.get(uid);
        current.set(uid, message === undefined ? null : { flags: message.flags, modseq: message.modseq });
      }
      return current;
    }
    for (const uid of uids) {
      const message = await store.messages.getMessage(this.mailbox.id, uid);
      current.set(uid, message === null ? null : { flags: message.flags, modseq: message.modseq });
    }
    return current;
  }

  /**
   * Records what this session itself changed, so it is not reported back as someone else's change:
   * a waiting change no newer than this one is dropped, so the next sync need not read it again.
   */
  noteFlags(message: MailboxMessage): void {
    const index = this.indexOf(message.uid);
    const view = this.messages[index];
    if (view === undefined) return;
    this.ownEntries()[index] = { ...view, flags: [...message.flags], modseq: message.modseq };
    if ((this.pendingFlags.get(message.uid) ?? Number.POSITIVE_INFINITY) <= message.modseq)
      this.pendingFlags.delete(message.uid);
  }

  /** Removes messages this session expunged; returns the responses announcing it. */
  removeExpunged(uids: readonly number[], options: SyncOptions): Buffer[] {
    const gone = uids.filter((uid) => this.indexOf(uid) >= 0).sort((a, b) => a - b);
    for (const uid of gone) {
      this.pendingExpunge.delete(uid);
      this.recent.delete(uid);
    }
    if (gone.length === 0) return [];
    const out = this.beforeRemove?.(gone) ?? [];
    if (options.vanished) {
      for (const uid of gone) this.ownEntries().splice(this.indexOf(uid), 1);
      out.push(untagged(`VANISHED ${formatSequence(gone)}`));
      return out;
    }
    // Highest first, so each sequence number is still the one the client knows when it reads it.
    for (const uid of [...gone].reverse()) {
      const index = this.indexOf(uid);
      this.ownEntries().splice(index, 1);
      out.push(untagged(`${index + 1} EXPUNGE`));
    }
    return out;
  }

  /**
   * The current entries of the `pending` UIDs (in the view), in one listing of the entries changed
   * since the earliest change among them: the MODSEQ the event named, or where none did, the one the
   * view knows. An entry's MODSEQ never goes down, so every one still in the mailbox is in it, and one
   * left out is gone. Not a listing of the whole mailbox, whose entries are mostly the same as the
   * view's; nor of everything changed since the oldest entry was delivered, which, with other sessions
   * changing a few messages here and there, is most of the mailbox again.
   */
  private async currentEntries(
    store: Pick<Store, "messages">,
    pending: ReadonlyMap<number, number>,
  ): Promise<Map<number, MailboxMessage>> {
    let oldest = Number.POSITIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    let high = 0;
    for (const [uid, changedAt] of pending) {
      const known = this.messages[this.indexOf(uid)];
      if (known === undefined) continue;
      oldest = Math.min(oldest, Number.isFinite(changedAt) ? changedAt : known.modseq);
      low = Math.min(low, uid);
      high = Math.max(high, uid);
    }
    const found = new Map<number, MailboxMessage>();
    if (high === 0) return found;
    const wanted = new Set(pending.keys());
    const listed = await store.messages.listMessages(this.mailbox.id, {
      sinceModseq: Math.max(0, oldest - 1),
      uidFrom: low,
      uidTo: high,
    });
    for (const message of listed) if (wanted.has(message.uid)) found.set(message.uid, message);
    return found;
  }

  /** The entries of `uids` (sorted) still in the mailbox: one range read for more than one. */
  private async entriesOf(
    store: Pick<Store, "messages">,
    uids: readonly number[],
  ): Promise<Map<number, MailboxMessage>> {
    const found = new Map<number, MailboxMessage>();
    const first = uids[0];
    const last = uids.at(-1);
    if (first === undefined || last === undefined) return found;
    if (uids.length === 1) {
      const message = await store.messages.getMessage(this.mailbox.id, first);
      if (message !== null) found.set(first, message);
      return found;
    }
    const wanted = new Set(uids);
    const listed = await store.messages.listMessages(this.mailbox.id, { uidFrom: first, uidTo: last });
    for (const message of listed) if (wanted.has(message.uid)) found.set(message.uid, message);
    return found;
  }

  /** Reports what changed since the last sync, in the order expunges, new messages, flag changes. */
  async sync(store: Pick<Store, "messages">, options: SyncOptions): Promise<Buffer[]> {
    if (!this.dirty) return [];
    const out: Buffer[] = [];
    const may = (kind: ChangeKind) => options.only === undefined || options.only.has(kind);
    if (options.allowExpunge && may("expunge") && this.pendingExpunge.size > 0) {
      const uids = [...this.pendingExpunge];
      this.pendingExpunge.clear();
      out.push(...this.removeExpunged(uids, options));
    }
    if (may("exists") && this.pendingExists.size > 0) {
      const fresh = [...this.pendingExists].filter((uid) => uid > this.highestUid).sort((a, b) => a - b);
      this.pendingExists.clear();
      const added: number[] = [];
      const listed = await this.entriesOf(store, fresh);
      for (const uid of fresh) {
        const message = listed.get(uid);
        if (message === undefined) continue;
        out.push(...this.announceKeywords(message.flags));
        this.ownEntries().push(message);
        this.highestUid = uid;
        added.push(uid);
      }
      if (added.length > 0) {
        out.push(untagged(`${this.messages.length} EXISTS`));
        for (const uid of this.takeRecent(added)) this.recent.add(uid);
        // RFC 3501 §7.3.2: RECENT goes with every change of the mailbox's size.
        if (this.recentClaims !== null) out.push(untagged(`${this.recent.size} RECENT`));
      }
    }
    if (may("flags") && this.pendingFlags.size > 0) {
      const pending = new Map(this.pendingFlags);
      const uids = [...pending.keys()].sort((a, b) => a - b);
      this.pendingFlags.clear();
      // With every change's MODSEQ known the listing holds little more than the changes: one read
      // instead of one per message.
      const bounded = [...pending.values()].every(Number.isFinite);
      const listed =
        uids.length > FLAG_READS_BEFORE_LISTING || (uids.length > 1 && bounded)
          ? await this.currentEntries(store, pending)
          : null;
      for (const uid of uids) {
        const index = this.indexOf(uid);
        const known = this.messages[index];
        if (known === undefined) continue;
        const message =
          listed === null ? await store.messages.getMessage(this.mailbox.id, uid) : (listed.get(uid) ?? null);
        if (message === null || message.modseq <= known.modseq) continue;
        // The entry may be in the view's first listing, shared with other sessions: replaced, not changed.
        const view = { ...known, flags: [...message.flags], modseq: message.modseq };
        this.ownEntries()[index] = view;
        out.push(...this.announceKeywords(view.flags));
        const data = [{ atom: "FLAGS" }, flagList(this.shownFlags(uid, view.flags))];
        if (options.uid) data.push({ atom: "UID" }, uid);
        if (options.condstore) data.push({ atom: "MODSEQ" }, [view.modseq]);
        out.push(untaggedValues([this.seqOf(uid), { atom: "FETCH" }, data]));
      }
    }
    this.dirty = this.pendingCount > 0;
    return out;
  }
}

/** Index of the first entry whose UID is at least `uid` in a UID-ordered list (its length when none is). */
export function firstIndexFrom(entries: readonly { readonly uid: number }[], uid: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((entries[mid] as { uid: number }).uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
