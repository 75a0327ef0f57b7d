/**
 * What the IMAP sessions of one process keep between commands and share, so the reading commands do not
 * ask the store again for what it already told them (issue 19): the header blocks of message bodies, what
 * SORT and THREAD compare of them, the last THREAD answers, and the message listing of each mailbox that
 * was selected. All are kept per store, like the \Recent claims (recent.ts), and bounded.
 *
 * Header blocks never change: a body's bytes are fixed under its id, so a kept block is always right.
 * A listing does change; it is kept with the MODSEQ it is complete up to and brought up to date with
 * the changes since then (the entries with a higher MODSEQ and the UIDs expunged after it, RFC 7162
 * §3.1.2 and §3.2.5 give both), so a SELECT of a large mailbox reads only what changed. Every change to
 * a mailbox's entries raises its HIGHESTMODSEQ, and MODSEQs are taken in commit order (one writer on
 * SQLite, the user's counter row locked on PostgreSQL), so when the mailbox row shows HIGHESTMODSEQ M,
 * every change up to M is committed and visible to the reads that follow.
 */

import { type FieldIndex, fieldIndexBytes, indexFields, scanHeader } from "../mail/mime/header.js";
import { decodeSortInputs, type SortInputs } from "../store/sort-inputs.js";
import type { Mailbox, MailboxMessage, Store } from "../store/types.js";
import { fieldListKey, type HeaderFieldsSection, topHeaderBytes } from "./mime/section.js";

/** Octets of header blocks kept per store: about 10,000 messages of typical header size. */
export const HEADER_CACHE_BYTES = 32 * 1024 * 1024;
/** Mailbox entries kept over all listings per store; a mailbox larger than this is listed each time. */
export const LISTING_CACHE_MESSAGES = 200_000;

/** A kept header block and its fields, found once so a HEADER.FIELDS answer need not scan it again. */
export interface KeptHeader {
  readonly id: string;
  readonly block: Buffer;
  readonly fields: FieldIndex;
  /**
   * The last HEADER.FIELDS or HEADER.FIELDS.NOT answer cut from the block, with the field list it
   * answers (see fieldListKey): a client asks for the same fields each time it opens a mailbox, as
   * Dovecot's cache file expects too. Set only through HeaderBlockCache.fieldsAnswer, which counts it.
   */
  answer: { readonly list: string; readonly bytes: Buffer } | null;
}

/**
 * Header blocks by message id, the oldest kept dropped first past `maxBytes` (counting each block's
 * field index too). Not reordered on use: a header FETCH or SEARCH of a whole mailbox touches every
 * block, and moving each would cost more than the store read it saves.
 */
export class HeaderBlockCache {
  private readonly blocks = new Map<string, KeptHeader>();
  private bytes = 0;

  constructor(private readonly maxBytes = HEADER_CACHE_BYTES) {}

  /** Like BlobStore.readHeaderBlocks: the known blocks of `messageIds`, asking the store only for the rest. */
  async read(store: Pick<Store, "blobs">, messageIds: readonly string[]): Promise<Map<string, KeptHeader>> {
    const found = new Map<string, KeptHeader>();
    const missing: string[] = [];
    for (const id of messageIds) {
      const kept = this.blocks.get(id);
      if (kept === undefined) missing.push(id);
      else found.set(id, kept);
    }
    if (missing.length === 0) return found;
    for (const [id, block] of await store.blobs.readHeaderBlocks(missing)) {
      // Found when the block arrives rather than at its first HEADER.FIELDS, so what a block costs
      // in memory is known when it is kept; one scan is little beside the store read.
      const kept = { id, block, fields: indexFields(scanHeader(block, 0, block.length)), answer: null };
      found.set(id, kept);
      this.keep(id, kept);
    }
    return found;
  }

  /**
   * HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT of the message whose block this is. A field list's
   * answer is the one kept with the block when it is for the same list, else cut now and kept in
   * place of the last one.
   */
  topHeader(kept: KeptHeader, section: { text: "HEADER" } | HeaderFieldsSection): Buffer {
    if (section.text === "HEADER") return topHeaderBytes(kept.block, kept.fields, section);
    const list = fieldListKey(section);
    if (kept.answer?.list === list) return kept.answer.bytes;
    const cut = topHeaderBytes(kept.block, kept.fields, section);
    if (this.blocks.get(kept.id) !== kept) return cut;
    // Its own memory, not a slice of Node's shared pool, which a kept slice would hold on to whole.
    const bytes = Buffer.allocUnsafeSlow(cut.length);
    cut.copy(bytes);
    this.bytes += answerBytes(bytes) - (kept.answer === null ? 0 : answerBytes(kept.answer.bytes));
    kept.answer = { list, bytes };
    this.dropOldest();
    return bytes;
  }

  private keep(id: string, kept: KeptHeader): void {
    const size = keptBytes(kept);
    if (size > this.maxBytes || this.blocks.has(id)) return;
    this.blocks.set(id, kept);
    this.bytes += size;
    this.dropOldest();
  }

  private dropOldest(): void {
    for (const [oldest, dropped] of this.blocks) {
      if (this.bytes <= this.maxBytes) break;
      this.blocks.delete(oldest);
      this.bytes -= keptBytes(dropped);
    }
  }
}

function keptBytes(kept: KeptHeader): number {
  const answer = kept.answer === null ? 0 : answerBytes(kept.answer.bytes);
  return kept.block.length + fieldIndexBytes(kept.fields) + answer;
}

/** A kept answer's octets and about what its own ArrayBuffer and the objects around it take. */
function answerBytes(bytes: Buffer): number {
  return bytes.length + 200;
}

/** Estimated octets of sort inputs kept per store: about 50,000 messages of typical header size. */
export const SORT_INPUT_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * Sort inputs by message id, the oldest kept dropped first past `maxBytes` (estimated). Like header
 * blocks they never change, since they follow from a body's fixed bytes, so a kept entry is always
 * right; keeping them decoded spares a SORT or THREAD of a large mailbox both the store read and a
 * JSON parse per message, which cost more than the sort itself.
 */
export class SortInputCache {
  private readonly inputs = new Map<string, SortInputs>();
  private bytes = 0;

  constructor(private readonly maxBytes = SORT_INPUT_CACHE_BYTES) {}

  /** The known inputs of `messageIds`, asking the store only for the rest (one round trip). */
  async read(store: Pick<Store, "blobs">, messageIds: readonly string[]): Promise<Map<string, SortInputs>> {
    const found = new Map<string, SortInputs>();
    const missing: string[] = [];
    for (const id of messageIds) {
      const kept = this.inputs.get(id);
      if (kept === undefined) missing.push(id);
      else found.set(id, kept);
    }
    if (missing.length === 0) return found;
    for (const [id, encoded] of await store.blobs.readSortInputs(missing)) {
      const inputs = decodeSortInputs(encoded);
      if (inputs === null) continue;
      found.set(id, inputs);
      this.keep(id, inputs);
    }
    return found;
  }

  /** The kept inputs of one message, without asking the store. */
  get(id: string): SortInputs | undefined {
    return this.inputs.get(id);
  }

  keep(id: string, inputs: SortInputs): void {
    const size = sortInputBytes(inputs);
    if (size > this.maxBytes || this.inputs.has(id)) return;
    this.inputs.set(id, inputs);
    this.bytes += size;
    for (const [oldest, dropped] of this.inputs) {
      if (this.bytes <= this.maxBytes) break;
      this.inputs.delete(oldest);
      this.bytes -= sortInputBytes(dropped);
    }
  }
}

/** About what one entry takes: its strings' characters and a fixed share for the objects around them. */
function sortInputBytes(inputs: SortInputs): number {
  let chars = inputs.subject.text.length + (inputs.messageId?.length ?? 0);
  chars += inputs.fromMailbox.length + inputs.toMailbox.length + inputs.ccMailbox.length;
  chars += inputs.displayFrom.length + inputs.displayTo.length;
  for (const reference of inputs.references) chars += reference.length + 24;
  return chars + 300;
}

/** Characters of THREAD answers kept per store: a few answers over mailboxes of 100,000 messages. */
export const THREAD_ANSWER_CACHE_CHARS = 4 * 1024 * 1024;

/**
 * The last THREAD answer per mailbox, algorithm and numbering (key), with the matches it answered as
 * sequence number and UID pairs. Clients ask THREAD again each time they show a mailbox, mostly with
 * nothing arrived or gone meanwhile (flag changes alter no answer over ALL); the algorithm's answer is
 * a function of those matches alone, so an unchanged list of them is answered as before.
 */
export class ThreadAnswers {
  private readonly answers = new Map<string, { matches: Uint32Array; answer: string }>();
  private chars = 0;

  constructor(private readonly maxChars = THREAD_ANSWER_CACHE_CHARS) {}

  get(key: string, matches: Uint32Array): string | undefined {
    const kept = this.answers.get(key);
    if (kept === undefined || kept.matches.length !== matches.length) return undefined;
    for (let i = 0; i < matches.length; i++) if (kept.matches[i] !== matches[i]) return undefined;
    return kept.answer;
  }

  keep(key: string, matches: Uint32Array, answer: string): void {
    const size = (entry: { matches: Uint32Array; answer: string }) =>
      entry.answer.length + entry.matches.length * 4;
    const old = this.answers.get(key);
    if (old !== undefined) {
      this.answers.delete(key);
      this.chars -= size(old);
    }
    const entry = { matches, answer };
    if (size(entry) > this.maxChars) return;
    this.answers.set(key, entry);
    this.chars += size(entry);
    for (const [oldest, dropped] of this.answers) {
      if (this.chars <= this.maxChars) break;
      this.answers.delete(oldest);
      this.chars -= size(dropped);
    }
  }
}

interface Listing {
  /** Every change up to this MODSEQ is in `messages` (later ones may be too). */
  modseq: number;
  /** In UID order; shared, so never changed in place (SelectedMailbox copies what it changes). */
  messages: readonly MailboxMessage[];
}

/** Mailbox listings kept across SELECTs, keyed by mailbox id and UIDVALIDITY; least recently used dropped. */
export class MailboxListings {
  private readonly listings = new Map<string, Listing>();
  private count = 0;

  constructor(private readonly maxMessages = LISTING_CACHE_MESSAGES) {}

  /**
   * The mailbox's entries in UID order, at least as recent as `mailbox` (a row read just before): every
   * change up to its HIGHESTMODSEQ is in them. The array is shared and must not be changed.
   */
  async list(store: Pick<Store, "messages">, mailbox: Mailbox): Promise<readonly MailboxMessage[]> {
    const key = `${mailbox.id}/${mailbox.uidValidity}`;
    const kept = this.listings.get(key);
    if (kept !== undefined) this.drop(key);
    let messages: readonly MailboxMessage[];
    if (kept !== undefined && kept.modseq >= mailbox.highestModseq) {
      messages = kept.messages;
    } else if (kept === undefined) {
      messages = await store.messages.listMessages(mailbox.id);
    } else {
      // The changed entries first, then the expunges: an entry expunged after the first read is still
      // named by the second, so it cannot come back.
      const changed = await store.messages.listMessages(mailbox.id, { sinceModseq: kept.modseq });
      const expunged = await store.messages.expungedSince(mailbox.id, kept.modseq);
      messages = merged(kept.messages, changed, new Set(expunged));
    }
    const modseq = Math.max(mailbox.highestModseq, kept?.modseq ?? 0);
    // Another session may have kept a newer listing meanwhile; the newer one stays.
    const current = this.listings.get(key);
    if (current === undefined || current.modseq < modseq) {
      if (current !== undefined) this.drop(key);
      this.keep(key, { modseq, messages });
    }
    return messages;
  }

  /** Whether the kept listing of `mailbox` (a row read just before) has every change up to it. */
  isCurrent(mailbox: Mailbox): boolean {
    const kept = this.listings.get(`${mailbox.id}/${mailbox.uidValidity}`);
    return kept !== undefined && kept.modseq >= mailbox.highestModseq;
  }

  /** Whether a listing of this many messages would be kept (a larger one is listed every time). */
  wouldKeep(messages: number): boolean {
    return messages <= this.maxMessages;
  }

  private drop(key: string): void {
    const listing = this.listings.get(key);
    if (listing === undefined) return;
    this.listings.delete(key);
    this.count -= listing.messages.length;
  }

  private keep(key: string, listing: Listing): void {
    if (listing.messages.length > this.maxMessages) return;
    this.listings.set(key, listing);
    this.count += listing.messages.length;
    for (const [oldest] of this.listings) {
      if (this.count <= this.maxMessages) break;
      this.drop(oldest);
    }
  }
}

/** `kept` with the `changed` entries put in (both in UID order) and the `expunged` UIDs left out. */
function merged(
  kept: readonly MailboxMessage[],
  changed: readonly MailboxMessage[],
  expunged: ReadonlySet<number>,
): MailboxMessage[] {
  const out: MailboxMessage[] = [];
  let next = 0;
  const takeChangedBelow = (uid: number) => {
    for (; next < changed.length && (changed[next] as MailboxMessage).uid < uid; next++) {
      const entry = changed[next] as MailboxMessage;
      if (!expunged.has(entry.uid)) out.push(entry);
    }
  };
  for (const entry of kept) {
    takeChangedBelow(entry.uid);
    const update = changed[next];
    if (update !== undefined && update.uid === entry.uid) next++;
    if (!expunged.has(entry.uid)) out.push(update?.uid === entry.uid ? update : entry);
  }
  takeChangedBelow(Number.POSITIVE_INFINITY);
  return out;
}

/** What SELECT reports of a whole listing besides its entries. */
export interface ListingSummary {
  /** The keywords the entries use, in the order they first appear (FLAGS lists them so). */
  readonly keywords: readonly string[];
  /** Index + 1 of the first entry without \Seen; 0 when every entry has it. */
  readonly firstUnseen: number;
  /** The highest MODSEQ of any entry; 0 for none. */
  readonly highestModseq: number;
}

/**
 * Keyed by the listing array itself: a kept listing is never changed in place (bringing it up to date
 * makes a new array), so a summary can never go stale, and a SELECT of an unchanged mailbox skips the
 * pass over every entry.
 */
const summaries = new WeakMap<readonly MailboxMessage[], ListingSummary>();

/** The summary of a listing that is not changed afterwards (one from MailboxListings, or a fresh one). */
export function listingSummary(messages: readonly MailboxMessage[]): ListingSummary {
  const kept = summaries.get(messages);
  if (kept !== undefined) return kept;
  const keywords = new Set<string>();
  let firstUnseen = 0;
  let highestModseq = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as MailboxMessage;
    for (const flag of message.flags) if (!flag.startsWith("\\")) keywords.add(flag);
    if (firstUnseen === 0 && !message.flags.includes("\\Seen")) firstUnseen = i + 1;
    if (message.modseq > highestModseq) highestModseq = message.modseq;
  }
  const summary = { keywords: [...keywords], firstUnseen, highestModseq };
  summaries.set(messages, summary);
  return summary;
}

export interface ImapCaches {
  headers: HeaderBlockCache;
  sortInputs: SortInputCache;
  threads: ThreadAnswers;
  listings: MailboxListings;
}

/** One set of caches for every session on the same store: the process's, as the server has one store. */
const cachesByStore = new WeakMap<object, ImapCaches>();

export function imapCaches(store: object): ImapCaches {
  let caches = cachesByStore.get(store);
  if (caches === undefined) {
    caches = {
      headers: new HeaderBlockCache(),
      sortInputs: new SortInputCache(),
      threads: new ThreadAnswers(),
      listings: new MailboxListings(),
    };
    cachesByStore.set(store, caches);
  }
  return caches;
}
