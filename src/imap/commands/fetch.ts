/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5), with BINARY (RFC 3516) and CONDSTORE/QRESYNC (RFC 7162).
 *
 * The responses are produced lazily, one message at a time, so a fetch of a whole mailbox never sits in
 * memory: the adapter pulls each piece and writes it with backpressure before asking for the next. Work
 * is matched to what the items need: flags, UID, dates and sizes come from the message list alone;
 * header items from the header blocks the store keeps (read in batches); only body items read the
 * message file, a few ahead of the one being written, and large bodies go out in pieces.
 */

import type { Readable } from "node:stream";
import { messagePreview, truncateValue } from "../../mail/body.js";
import { type FieldIndex, indexFields, scanHeader } from "../../mail/mime/header.js";
import { type MessagePart, parseMessageStructure } from "../../mail/mime/structure.js";
import { emailIdOf, threadIdOf } from "../../mail/object-ids.js";
import { headerBlockOf } from "../../store/header-capture.js";
import { decodeStructure, encodeStructure, type MessageStructure } from "../../store/structure.js";
import { type MailboxMessage, StoreError } from "../../store/types.js";
import { type HeaderBlockCache, imapCaches, type KeptHeader } from "../caches.js";
import { bodyStructureOf } from "../mime/bodystructure.js";
import { envelopeOf } from "../mime/envelope.js";
import { binaryBytes, isTopHeader, sectionBytes, topHeaderBytes } from "../mime/section.js";
import type { Command, FetchItem, Partial, SectionSpec } from "../protocol/command.js";
import { formatSequence, partialWindow } from "../protocol/sequence.js";
import { asciiWireText, encodeValue, type ImapValue, withoutNul } from "../protocol/value.js";
import { flagList, formatInternalDate, untagged } from "../responses.js";
import { firstIndexFrom, type SelectedMailbox } from "../selected.js";
import { CommandFailure, type ImapContext, requireSelected } from "./context.js";
import { resolveTargets, type Target } from "./targets.js";

type FetchCommand = Extract<Command, { name: "FETCH" }>;

/** Messages whose metadata (and header blocks) are read with one store call each. */
export const FETCH_BATCH = 200;
/** Below this span of UIDs, a FETCH in a changed mailbox reads its range rather than update the kept listing. */
const RANGE_READ_SPAN = 1000;
/**
 * Message bodies read ahead of the one being written: at most this many, topped up only once half are
 * used, so the reads go to the store's reading thread in batches rather than one by one…
 */
export const PREFETCH_COUNT = 32;
/** …and at most this many octets between them. */
const PREFETCH_BYTES = 4 * 1024 * 1024;
/** A whole-message literal larger than this is read from the store as a stream, in pieces. */
export const STREAM_THRESHOLD = 1024 * 1024;
/**
 * PREVIEW (RFC 8970 §3.1) is JMAP's preview cut shorter: at most 200 characters and, for clients that
 * count octets, at most 256 octets of UTF-8.
 */
const PREVIEW_LENGTH = 200;
const PREVIEW_OCTETS = 256;
/** Pieces at least this large are handed out as they are instead of being copied into a response. */
const LARGE_PIECE = 16 * 1024;
/**
 * Small responses are joined up to about this many octets before they are handed on: a header FETCH of
 * a whole mailbox is thousands of ~150-octet responses, and each piece handed out costs a trip through
 * the session's and the adapter's async generators.
 */
const GATHER_BYTES = 32 * 1024;

/** What an item needs beyond the message list: nothing, the header section, or the whole message. */
type Need = 0 | 1 | 2;
const NEED_NOTHING: Need = 0;
const NEED_HEADER: Need = 1;
const NEED_MESSAGE: Need = 2;

const HEADER_TEXTS = new Set(["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"]);

function needOf(item: FetchItem): Need {
  switch (item.kind) {
    case "FLAGS":
    case "UID":
    case "INTERNALDATE":
    case "RFC822.SIZE":
    case "MODSEQ":
    case "EMAILID":
    case "THREADID":
    case "SAVEDATE":
      return NEED_NOTHING;
    // ENVELOPE reads only the top-level header fields (see envelopeOf).
    case "ENVELOPE":
    case "RFC822.HEADER":
      return NEED_HEADER;
    case "section":
      return item.section.part.length === 0 && HEADER_TEXTS.has(item.section.text ?? "")
        ? NEED_HEADER
        : NEED_MESSAGE;
    default:
      return NEED_MESSAGE;
  }
}

/** BODY[], BODY.PEEK[] and RFC822 without a partial: the stored octets as they are, fit for streaming. */
function isWholeMessage(item: FetchItem): boolean {
  if (item.kind === "RFC822") return true;
  return (
    item.kind === "section" &&
    item.partial === null &&
    item.section.part.length === 0 &&
    item.section.text === undefined
  );
}

function setsSeen(item: FetchItem): boolean {
  return (
    ((item.kind === "section" || item.kind === "binary") && !item.peek) ||
    item.kind === "RFC822" ||
    item.kind === "RFC822.TEXT"
  );
}

/**
 * A body literal failed after its length was announced: the response cannot be completed, so the
 * connection must be dropped rather than answered (the client would read the wrong octets).
 */
export class FetchStreamBroken extends Error {
  constructor(cause: unknown) {
    super("a message body could not be read while it was being sent", { cause });
    this.name = "FetchStreamBroken";
  }
}

/** A message's bytes (or just its header block) and MIME structure, parsed once when first needed. */
export class MessageContent {
  private structure: MessagePart | null = null;

  private fields: FieldIndex | null = null;

  /**
   * `bytes` is the whole message, or only its header section when `headerOnly`; `kept`, when `bytes`
   * is a header block kept in `cache` (see caches.ts), holds its fields and last HEADER.FIELDS answer.
   */
  constructor(
    readonly bytes: Buffer,
    readonly headerOnly: boolean,
    private readonly kept: KeptHeader | null = null,
    private readonly cache: HeaderBlockCache | null = null,
  ) {}

  part(): MessagePart {
    this.structure ??= parseMessageStructure(this.bytes);
    return this.structure;
  }

  section(section: SectionSpec): Buffer | null {
    if (section.part.length === 0 && section.text === undefined) return this.bytes;
    // The message's own header needs only its top-level fields: a header FETCH of a whole mailbox
    // would otherwise parse every header block as a MIME tree.
    if (isTopHeader(section)) {
      if (this.kept !== null && this.cache !== null) return this.cache.topHeader(this.kept, section);
      this.fields ??= indexFields(this.structure ?? scanHeader(this.bytes, 0, this.bytes.length));
      return topHeaderBytes(this.bytes, this.fields, section);
    }
    return sectionBytes(this.bytes, this.part(), section);
  }
}

function applyPartial(data: Buffer, partial: Partial | null): Buffer {
  if (partial === null) return data;
  return data.subarray(
    Math.min(partial.offset, data.length),
    Math.min(partial.offset + partial.length, data.length),
  );
}

export interface FetchRun {
  /** The untagged responses, produced as they are pulled. */
  responses: AsyncGenerator<Buffer, void, undefined>;
  /** The tagged completion's response code; final once `responses` is exhausted. */
  code(): string | null;
}

/**
 * Checks the command and returns its responses as a lazy stream. Errors in the command itself (no
 * mailbox selected, a message number beyond the mailbox) are thrown here, before any response.
 */
export function fetch(context: ImapContext, command: FetchCommand): FetchRun {
  const view = requireSelected(context);
  const named = resolveTargets(view, command.set, command.uid, context.savedUids);
  const targets = command.partial === null ? named : partialWindow(named, command.partial);
  const state = { missing: false };
  return {
    responses: fetchResponses(context, view, command, targets, state),
    code: () => (state.missing ? "EXPUNGEISSUED" : null),
  };
}

async function* fetchResponses(
  context: ImapContext,
  view: SelectedMailbox,
  command: FetchCommand,
  named: readonly Target[],
  state: { missing: boolean },
): AsyncGenerator<Buffer, void, undefined> {
  const targets = await changedTargets(context, view, command, named);
  if (command.vanished && command.changedSince !== null) {
    const known = new Set(targets.map((t) => t.uid));
    const set = command.set;
    const expunged = await context.store.messages.expungedSince(view.mailbox.id, command.changedSince);
    const vanished = expunged.filter(
      (uid) => known.has(uid) || (set.kind === "ranges" && inRanges(set, uid)),
    );
    if (vanished.length > 0) yield untagged(`VANISHED (EARLIER) ${formatSequence(vanished)}`);
  }
  const need = command.items.reduce<Need>((most, item) => Math.max(most, needOf(item)) as Need, NEED_NOTHING);
  // ENVELOPE, BODY and BODYSTRUCTURE come from the stored structure when there is one; a message
  // without one yet is answered as before (ENVELOPE from the header block), and when its whole body
  // was read for that, its structure is kept (see saveStructuresLater).
  const structural = command.items.some(isStructural);
  const needBesides = command.items
    .filter((item) => !isStructural(item))
    .reduce<Need>((most, item) => Math.max(most, needOf(item)) as Need, NEED_NOTHING);
  // Streamed bodies are not in memory, so every other item must be answerable from the list alone.
  const streamable = command.items.every((item) => needOf(item) === NEED_NOTHING || isWholeMessage(item));
  const markSeen = !view.readOnly && command.items.some(setsSeen);
  const output = new ResponseOutput();
  const asksFlags = command.items.some((item) => item.kind === "FLAGS");
  const headerCache = imapCaches(context.store).headers;
  for (let start = 0; start < targets.length; start += FETCH_BATCH) {
    const batch = targets.slice(start, start + FETCH_BATCH);
    const listed = await loadMessages(context, view, batch);
    const messages: MailboxMessage[] = [];
    for (const { uid } of batch) {
      const message = listed.get(uid);
      if (message === undefined) {
        state.missing = true;
      } else if (command.changedSince === null || message.modseq > command.changedSince) {
        messages.push(message);
      }
    }
    const structures = structural
      ? await readStructures(context, messages)
      : new Map<string, MessageStructure>();
    const needs = messages.map((m) => (structures.has(m.messageId) ? needBesides : need));
    const headers = needs.includes(NEED_HEADER)
      ? await headerCache.read(
          context.store,
          messages.filter((_, i) => needs[i] === NEED_HEADER).map((m) => m.messageId),
        )
      : new Map<string, KeptHeader>();
    const seen = markSeen ? await markBatchSeen(context, view, messages) : new Set<number>();
    // Header blocks found by reading whole bodies, for the store to keep (see saveHeaderBlocksLater).
    const backfill = new Map<string, Buffer>();
    const computed = new Map<string, Buffer>();
    // Bodies streamed from the store are not read ahead; everything else a body item needs is.
    const bodies = new BodyReader(
      context,
      messages.map((m, i) =>
        needs[i] === NEED_MESSAGE && !(streamable && m.size > STREAM_THRESHOLD) ? m : null,
      ),
    );
    try {
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as MailboxMessage;
        const need = needs[i] as Need;
        let content: MessageContent | null = null;
        let opened: OpenedBody | null = null;
        // Every read that can fail is made before the first octet of this message's response, so a
        // message another session expunged since the listing can still be left out cleanly.
        try {
          if (need === NEED_HEADER) {
            const header = headers.get(message.messageId);
            if (header === undefined) {
              const bytes = await context.store.blobs.readBlobBytes(message.messageId, message.size);
              const block = headerBlockOf(bytes);
              if (block !== null) backfill.set(message.messageId, block);
              content = new MessageContent(bytes, false);
            } else {
              content = new MessageContent(header.block, true, header, headerCache);
            }
          } else if (need === NEED_MESSAGE) {
            const bytes = await bodies.take(i);
            if (bytes !== null) content = new MessageContent(bytes, false);
            else opened = await openBody(context, message);
          }
        } catch (error) {
          if (!(await expungedMeanwhile(context, view, message, error))) throw unreadable(error);
          // RFC 9051 §7.1 EXPUNGEISSUED: the view keeps the message until the EXPUNGE is reported.
          state.missing = true;
          continue;
        }
        try {
          let structure = structures.get(message.messageId) ?? null;
          if (structural && structure === null && content !== null && !content.headerOnly) {
            structure = structureOf(content);
            computed.set(message.messageId, encodeStructure(structure));
          }
          const mark = output.mark();
          try {
            fetchResponse(
              output,
              view,
              message,
              command.items,
              asksFlags,
              content,
              seen.has(message.uid),
              structure,
            );
          } catch (error) {
            output.rollback(mark);
            throw error;
          }
          let unused = opened;
          for (const piece of output.take(GATHER_BYTES)) {
            if (piece === STREAMED_BODY) {
              // The body opened before the response started is for the first streamed item only.
              const ready = unused;
              unused = null;
              yield* streamBlob(context, message, ready);
            } else {
              yield piece;
            }
          }
        } finally {
          opened?.stream.destroy();
        }
      }
      // What a batch gathered goes out before the next batch's store reads.
      const rest = output.rest();
      if (rest !== null) yield rest;
    } catch (error) {
      // The responses of the messages before the failure are complete: they are sent before the NO. A
      // body that broke off mid-literal ends the connection instead, with nothing more written.
      const rest = error instanceof FetchStreamBroken ? null : output.rest();
      if (rest !== null) yield rest;
      throw error;
    } finally {
      bodies.close();
      saveHeaderBlocksLater(context, backfill);
      saveStructuresLater(context, computed);
    }
  }
}

function isStructural(item: FetchItem): boolean {
  return item.kind === "ENVELOPE" || item.kind === "BODY" || item.kind === "BODYSTRUCTURE";
}

/** The batch's stored structures that decode; a damaged one is left out and so computed again. */
async function readStructures(
  context: ImapContext,
  messages: readonly MailboxMessage[],
): Promise<Map<string, MessageStructure>> {
  const found = new Map<string, MessageStructure>();
  for (const [id, bytes] of await context.store.blobs.readStructures(messages.map((m) => m.messageId))) {
    const structure = decodeStructure(bytes);
    if (structure !== null) found.set(id, structure);
  }
  return found;
}

/** The structure answers of a whole message, encoded exactly as FETCH writes them. */
export function structureOf(content: MessageContent): MessageStructure {
  const part = content.part();
  return {
    envelope: encodeValue(envelopeOf(part, content.bytes)),
    body: encodeValue(bodyStructureOf(part, content.bytes, false)),
    bodyStructure: encodeValue(bodyStructureOf(part, content.bytes, true)),
  };
}

/** Like saveHeaderBlocksLater, for structures computed from bodies read by this FETCH. */
function saveStructuresLater(context: ImapContext, structures: ReadonlyMap<string, Buffer>): void {
  if (structures.size === 0) return;
  context.store.blobs.saveStructures(structures).catch((error: unknown) => {
    context.logger?.debug({ err: error, count: structures.size }, "could not keep message structures");
  });
}

/** A body being streamed from the store whose first piece has already been read. */
interface OpenedBody {
  stream: Readable;
  pieces: AsyncIterator<unknown>;
  first: Buffer | null;
}

async function openBody(context: ImapContext, message: MailboxMessage): Promise<OpenedBody> {
  const stream = context.store.blobs.readBlob(message.messageId);
  const pieces = stream[Symbol.asyncIterator]();
  try {
    const first = await pieces.next();
    return { stream, pieces, first: first.done ? null : (first.value as Buffer) };
  } catch (error) {
    stream.destroy();
    throw error;
  }
}

/** Whether a body read failed because the message left the mailbox after it was listed. */
async function expungedMeanwhile(
  context: ImapContext,
  view: SelectedMailbox,
  message: MailboxMessage,
  error: unknown,
): Promise<boolean> {
  if (!(error instanceof StoreError) || error.code !== "not-found") return false;
  try {
    return (await context.store.messages.getMessage(view.mailbox.id, message.uid)) === null;
  } catch {
    return false;
  }
}

/** A body that cannot be read though its message is still there: a fixed NO, the detail for the log. */
function unreadable(error: unknown): unknown {
  if (!(error instanceof StoreError)) return error;
  return new CommandFailure("UNAVAILABLE", "the message could not be read right now; try again later", {
    cause: error,
  });
}

/**
 * Sets \Seen on the batch's unseen messages with one store call, before any of their responses, so each
 * response can report the new flags (RFC 9051 §6.4.5). Replaces those entries of `messages` with the
 * store's updated ones and returns their UIDs.
 */
async function markBatchSeen(
  context: ImapContext,
  view: SelectedMailbox,
  messages: MailboxMessage[],
): Promise<Set<number>> {
  const unseen = messages.filter((m) => !m.flags.includes("\\Seen")).map((m) => m.uid);
  const changed = new Set<number>();
  if (unseen.length === 0) return changed;
  const result = await context.store.messages.updateFlags(view.mailbox.id, unseen, "add", ["\\Seen"]);
  const updated = new Map(result.updated.map((m) => [m.uid, m]));
  for (let i = 0; i < messages.length; i++) {
    const fresh = updated.get((messages[i] as MailboxMessage).uid);
    if (fresh === undefined) continue;
    messages[i] = fresh;
    view.noteFlags(fresh);
    changed.add(fresh.uid);
  }
  return changed;
}

/**
 * Hands header blocks read from whole bodies (messages stored before the store kept them) to the store,
 * so the next header read of those messages skips the body. Not awaited: the command's answer does not
 * depend on it, and a failure only means the body is read again next time.
 */
export function saveHeaderBlocksLater(context: ImapContext, blocks: ReadonlyMap<string, Buffer>): void {
  if (blocks.size === 0) return;
  context.store.blobs.saveHeaderBlocks(blocks).catch((error: unknown) => {
    context.logger?.debug(
      { err: error, count: blocks.size },
      "could not keep header blocks read from bodies",
    );
  });
}

/**
 * Reads message bodies a few ahead of the one being answered (bounded in count and octets), so the
 * disk works while the previous body is written to the client. A null slot is a message not read here.
 */
class BodyReader {
  private readonly loads = new Map<number, Promise<Buffer>>();
  private next = 0;
  private aheadBytes = 0;

  constructor(
    private readonly context: ImapContext,
    private readonly messages: ReadonlyArray<MailboxMessage | null>,
  ) {}

  async take(index: number): Promise<Buffer | null> {
    if (this.messages[index] === null) return null;
    this.fill(index);
    const load = this.loads.get(index);
    if (load === undefined) return null;
    this.loads.delete(index);
    this.aheadBytes -= this.messages[index]?.size ?? 0;
    return load;
  }

  /** Forgets what was read ahead (the consumer stopped); the reads finish and are dropped. */
  close(): void {
    this.loads.clear();
    this.next = this.messages.length;
  }

  private fill(current: number): void {
    if (this.next < current) this.next = current;
    if (this.next - current > PREFETCH_COUNT / 2) return;
    while (this.next < this.messages.length && this.next < current + PREFETCH_COUNT) {
      const message = this.messages[this.next];
      if (message !== null && message !== undefined) {
        if (this.next > current && this.aheadBytes + message.size > PREFETCH_BYTES) return;
        const load = this.context.store.blobs.readBlobBytes(message.messageId, message.size);
        // A read-ahead nobody awaits (the client went away) must not become an unhandled rejection.
        load.catch(() => {});
        this.loads.set(this.next, load);
        this.aheadBytes += message.size;
      }
      this.next++;
    }
  }
}

function inRanges(set: { ranges: Array<{ start: number | "*"; end: number | "*" }> }, uid: number): boolean {
  return set.ranges.some((r) => {
    const a = r.start === "*" ? Number.MAX_SAFE_INTEGER : r.start;
    const b = r.end === "*" ? Number.MAX_SAFE_INTEGER : r.end;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

/** The messages of `targets` (in mailbox order) as the store has them now; expunged ones are absent. */
/**
 * With CHANGEDSINCE (RFC 7162 §3.1.4.1), the targets whose MODSEQ is above it, told from one listing
 * of them all: a client catching up asks for 1:* and gets the few that changed, and batch after batch
 * of unchanged messages need not be listed. Targets gone from the mailbox stay, for the batch that
 * finds them missing.
 */
async function changedTargets(
  context: ImapContext,
  view: SelectedMailbox,
  command: FetchCommand,
  targets: readonly Target[],
): Promise<readonly Target[]> {
  const since = command.changedSince;
  if (since === null || targets.length <= FETCH_BATCH) return targets;
  const caches = imapCaches(context.store);
  if (!caches.listings.wouldKeep(view.exists)) return targets;
  const mailbox = await context.store.mailboxes.getMailboxById(view.mailbox.id);
  if (mailbox === null || mailbox.uidValidity !== view.mailbox.uidValidity) return targets;
  const listed = await caches.listings.list(context.store, mailbox);
  // Both in ascending UID order (targets are in mailbox order): one walk through the two.
  const kept: Target[] = [];
  let at = 0;
  for (const target of targets) {
    while (at < listed.length && (listed[at] as MailboxMessage).uid < target.uid) at++;
    const message = listed[at];
    if (message?.uid !== target.uid || message.modseq > since) kept.push(target);
  }
  return kept;
}

async function loadMessages(
  context: ImapContext,
  view: SelectedMailbox,
  targets: readonly Target[],
): Promise<Map<number, MailboxMessage>> {
  const map = new Map<number, MailboxMessage>();
  const first = targets[0];
  const last = targets[targets.length - 1];
  if (first === undefined || last === undefined) return map;
  if (targets.length === 1) {
    const message = await context.store.messages.getMessage(view.mailbox.id, first.uid);
    if (message !== null) map.set(first.uid, message);
    return map;
  }
  const rangeRead = async () => {
    const wanted = new Set(targets.map((t) => t.uid));
    const listed = await context.store.messages.listMessages(view.mailbox.id, {
      uidFrom: first.uid,
      uidTo: last.uid,
    });
    for (const message of listed) {
      if (wanted.has(message.uid)) map.set(message.uid, message);
    }
    return map;
  };
  const caches = imapCaches(context.store);
  if (!caches.listings.wouldKeep(view.exists)) return rangeRead();
  // The mailbox as it is now: its row, then the kept listing brought up to it (see caches.ts), which
  // for an unchanged mailbox reads no entries at all. A deleted mailbox has no messages left.
  const mailbox = await context.store.mailboxes.getMailboxById(view.mailbox.id);
  if (mailbox === null || mailbox.uidValidity !== view.mailbox.uidValidity) return map;
  // Bringing the kept listing up to date copies all of it: for a few UIDs of a mailbox that changes
  // all the time (many clients at once), reading just their range is far cheaper.
  if (last.uid - first.uid < RANGE_READ_SPAN && !caches.listings.isCurrent(mailbox)) return rangeRead();
  const listed = await caches.listings.list(context.store, mailbox);
  for (const { uid } of targets) {
    const message = listed[firstIndexFrom(listed, uid)];
    if (message?.uid === uid) map.set(uid, message);
  }
  return map;
}

/** Stands, among a response's pieces, for the message body streamed from the store at that point. */
const STREAMED_BODY = Symbol("streamed body");
type ResponsePiece = Buffer | typeof STREAMED_BODY;

/**
 * The responses being built, in order: text and small pieces copied into one buffer as they come, large
 * pieces and streamed bodies kept as they are. A header FETCH of a whole mailbox is thousands of
 * ~150-octet responses; written in place they cost a copy each instead of several buffers each, and
 * each piece handed out saves a trip through the session's and the adapter's async generators.
 */
class ResponseOutput {
  private buffer: Buffer = Buffer.allocUnsafe(GATHER_BYTES);
  /** Where the octets not yet cut into `ready` start, and where the next octet goes. */
  private start = 0;
  private used = 0;
  private ready: ResponsePiece[] = [];
  /** Text not yet in the buffer: joined as a string first, one buffer write costing more than a join. */
  private pending = "";
  /** No item of the response begun last has been written yet. */
  private firstItem = true;

  text(text: string): void {
    this.pending += text;
  }

  bytes(data: Buffer): void {
    this.writePending();
    if (data.length >= LARGE_PIECE) {
      this.cut();
      this.ready.push(data);
      return;
    }
    this.room(data.length);
    this.used += data.copy(this.buffer, this.used);
  }

  /** Starts a `* n FETCH (` response. */
  begin(seq: number): void {
    this.text(`* ${seq} FETCH (`);
    this.firstItem = true;
  }

  /** An item's name, after the space that separates it from the item before. */
  name(label: string): void {
    this.text(this.firstItem ? `${label} ` : ` ${label} `);
    this.firstItem = false;
  }

  value(label: string, value: ImapValue): void {
    this.name(label);
    // Numbers (UID, sizes) are the most common values and never need the encoder.
    const text = typeof value === "number" ? String(value) : asciiWireText(value);
    if (text === null) this.bytes(encodeValue(value));
    else this.text(text);
  }

  literal(label: string, data: Buffer, binary = false): void {
    this.name(label);
    // RFC 3516 §4.2: binary content with NUL octets must go as literal8.
    const literal8 = binary && data.includes(0);
    this.text(`${literal8 ? "~" : ""}{${data.length}}\r\n`);
    this.bytes(literal8 ? data : withoutNul(data));
  }

  end(): void {
    this.text(")\r\n");
  }

  /** Marks where the body streamed from the store goes. */
  stream(): void {
    this.writePending();
    this.cut();
    this.ready.push(STREAMED_BODY);
  }

  /** What rollback() returns to: nothing is handed out in between, so every octet since is still here. */
  mark(): OutputMark {
    this.writePending();
    return { ready: this.ready.length, buffer: this.buffer, start: this.start, used: this.used };
  }

  /** Forgets what was written since `mark` (a response that could not be completed). */
  rollback(mark: OutputMark): void {
    this.pending = "";
    this.ready.length = mark.ready;
    this.buffer = mark.buffer;
    this.start = mark.start;
    this.used = mark.used;
  }

  /**
   * The pieces ready to go after a response, in order: those cut off by a large piece or a stream, and
   * what is gathered once it holds at least `least` octets.
   */
  take(least: number): ResponsePiece[] {
    this.writePending();
    if (this.used - this.start >= least) this.cut();
    if (this.ready.length === 0) return NOTHING_READY;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** What is gathered and not yet taken; only octets, as every response's pieces are taken after it. */
  rest(): Buffer | null {
    this.writePending();
    if (this.used === this.start) return null;
    const rest = this.buffer.subarray(this.start, this.used);
    this.start = this.used;
    return rest;
  }

  private writePending(): void {
    if (this.pending === "") return;
    // Response text is ASCII (values that are not go through encodeValue as bytes), one octet a character.
    this.room(this.pending.length);
    this.used += this.buffer.write(this.pending, this.used, "latin1");
    this.pending = "";
  }

  private cut(): void {
    if (this.used === this.start) return;
    this.ready.push(this.buffer.subarray(this.start, this.used));
    this.start = this.used;
  }

  private room(length: number): void {
    if (this.used + length <= this.buffer.length) return;
    this.cut();
    // What was cut is handed out as a view of the old buffer; the new octets go to a fresh one.
    this.buffer = Buffer.allocUnsafe(Math.max(GATHER_BYTES, length));
    this.start = 0;
    this.used = 0;
  }
}

interface OutputMark {
  ready: number;
  buffer: Buffer;
  start: number;
  used: number;
}

const NOTHING_READY: ResponsePiece[] = [];

function messageRequired(content: MessageContent | null): MessageContent {
  if (content === null || content.headerOnly) throw new Error("fetch item needs the whole message");
  return content;
}

function headerRequired(content: MessageContent | null): MessageContent {
  if (content === null) throw new Error("fetch item needs the message header");
  return content;
}

/** RFC 3516: a part whose transfer encoding cannot be decoded is a NO [UNKNOWN-CTE]. */
function decodedPart(whole: MessageContent, part: number[]): Buffer | null {
  const data = binaryBytes(whole.bytes, whole.part(), part);
  if (data === "unknown-cte") {
    throw new CommandFailure(
      "UNKNOWN-CTE",
      `part ${part.join(".")} has a transfer encoding the server cannot decode`,
    );
  }
  return data;
}

/**
 * One `* n FETCH (...)` response (after the FLAGS responses new keywords need), as one piece or (with
 * large literals or streamed bodies) several. Synchronous: everything it needs was read before.
 */
function fetchResponse(
  out: ResponseOutput,
  view: SelectedMailbox,
  message: MailboxMessage,
  items: readonly FetchItem[],
  asksFlags: boolean,
  content: MessageContent | null,
  flagsChanged: boolean,
  structure: MessageStructure | null,
): void {
  if (flagsChanged || asksFlags) {
    for (const response of view.announceKeywords(message.flags)) out.bytes(response);
  }
  out.begin(view.seqOf(message.uid));
  let sentFlags = false;
  for (const item of items) {
    switch (item.kind) {
      case "FLAGS":
        out.value("FLAGS", flagList(view.shownFlags(message.uid, message.flags)));
        sentFlags = true;
        break;
      case "UID":
        out.value("UID", message.uid);
        break;
      case "INTERNALDATE":
        out.value("INTERNALDATE", formatInternalDate(message.internalDate));
        break;
      case "RFC822.SIZE":
        out.value("RFC822.SIZE", message.size);
        break;
      case "MODSEQ":
        out.value("MODSEQ", [message.modseq]);
        break;
      // RFC 8474 §5.1: the ids JMAP uses for the same email and thread.
      case "EMAILID":
        out.value("EMAILID", [{ atom: emailIdOf(message.emailId) }]);
        break;
      case "THREADID":
        out.value("THREADID", [{ atom: threadIdOf(message.threadId) }]);
        break;
      // RFC 8514 §4.2: every message here has a save date, so never NIL.
      case "SAVEDATE":
        out.value("SAVEDATE", formatInternalDate(message.savedDate));
        break;
      case "PREVIEW": {
        const whole = messageRequired(content);
        const text = truncateValue(
          messagePreview(whole.bytes, whole.part(), PREVIEW_LENGTH),
          PREVIEW_OCTETS,
          false,
        ).value;
        // UTF-8 text goes as a literal, which may carry 8-bit octets in any session (RFC 9051 §4.3).
        out.value("PREVIEW", /^[\x20-\x7e]*$/.test(text) ? text : { literal: Buffer.from(text, "utf8") });
        break;
      }
      case "ENVELOPE": {
        out.name("ENVELOPE");
        if (structure !== null) {
          out.bytes(structure.envelope);
        } else {
          const header = headerRequired(content);
          out.bytes(encodeValue(envelopeOf(header.part(), header.bytes)));
        }
        break;
      }
      case "BODYSTRUCTURE":
        out.name("BODYSTRUCTURE");
        out.bytes(structure?.bodyStructure ?? structureOf(messageRequired(content)).bodyStructure);
        break;
      case "BODY":
        out.name("BODY");
        out.bytes(structure?.body ?? structureOf(messageRequired(content)).body);
        break;
      case "RFC822":
        if (content === null) {
          out.name("RFC822");
          out.stream();
        } else {
          out.literal("RFC822", messageRequired(content).bytes);
        }
        break;
      case "RFC822.HEADER":
        out.literal(
          "RFC822.HEADER",
          headerRequired(content).section({ part: [], text: "HEADER" }) ?? Buffer.alloc(0),
        );
        break;
      case "RFC822.TEXT":
        out.literal(
          "RFC822.TEXT",
          messageRequired(content).section({ part: [], text: "TEXT" }) ?? Buffer.alloc(0),
        );
        break;
      case "section": {
        if (content === null) {
          out.name(item.label);
          out.stream();
          break;
        }
        const source = needOf(item) === NEED_HEADER ? headerRequired(content) : messageRequired(content);
        // RFC 9051 §6.4.5: a part that does not exist is returned as an empty string.
        out.literal(item.label, applyPartial(source.section(item.section) ?? Buffer.alloc(0), item.partial));
        break;
      }
      case "binary": {
        const data = decodedPart(messageRequired(content), item.part);
        const label = item.partial === null ? item.label : `${item.label}<${item.partial.offset}>`;
        if (data === null) out.value(label, null);
        else out.literal(label, applyPartial(data, item.partial), true);
        break;
      }
      case "binary.size": {
        const data = decodedPart(messageRequired(content), item.part);
        out.value(item.label, data === null ? null : data.length);
        break;
      }
    }
  }
  // RFC 9051 §6.4.5: when fetching sets \Seen, the new flags are reported too.
  if (flagsChanged && !sentFlags) out.value("FLAGS", flagList(view.shownFlags(message.uid, message.flags)));
  out.end();
}

/** A whole message as a literal read from the store in pieces; its length is the size the store recorded. */
async function* streamBlob(
  context: ImapContext,
  message: MailboxMessage,
  opened: OpenedBody | null,
): AsyncGenerator<Buffer, void, undefined> {
  yield Buffer.from(`{${message.size}}\r\n`, "latin1");
  let sent = 0;
  const stream = opened?.stream ?? context.store.blobs.readBlob(message.messageId);
  const pieces = opened?.pieces ?? stream[Symbol.asyncIterator]();
  let first = opened?.first ?? null;
  try {
    for (;;) {
      let data: Buffer;
      if (first !== null) {
        data = first;
        first = null;
      } else {
        const next = await pieces.next();
        if (next.done) break;
        data = next.value as Buffer;
      }
      if (sent + data.length > message.size)
        throw new Error(`message ${message.messageId} is longer than its size`);
      sent += data.length;
      yield withoutNul(data);
    }
  } catch (error) {
    throw new FetchStreamBroken(error);
  } finally {
    stream.destroy();
  }
  if (sent !== message.size)
    throw new FetchStreamBroken(new Error(`message ${message.messageId} is shorter than its size`));
}
