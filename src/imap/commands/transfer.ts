/** Commands that add or remove messages: APPEND, COPY, MOVE (RFC 6851), EXPUNGE, UID EXPUNGE (RFC 4315). */

import type { BlobRef, BlobWriter, Mailbox } from "../../store/types.js";
import type { Command } from "../protocol/command.js";
import { formatOrdered, inSequenceSet } from "../protocol/sequence.js";
import { untagged } from "../responses.js";
import type { SequenceSet } from "../search/types.js";
import type { SyncOptions } from "../selected.js";
import { tooBig, writeUrl } from "./catenate.js";
import {
  CommandFailure,
  CommandRefused,
  decodeName,
  type ImapContext,
  requireSelected,
  storeFailure,
} from "./context.js";
import { requireRoom } from "./quota.js";
import { normalizeFlags } from "./store-flags.js";
import { resolveTargets } from "./targets.js";

/** Where one APPEND message goes, checked before any of it is written. */
export interface AppendTarget {
  mailbox: Mailbox;
  flags: string[];
  date: Date;
}

/**
 * One message of an APPEND being written to `writer`: its octets so far and, of its pieces (a CATENATE
 * part's TEXT and URL parts, or the one message literal), how many are in the writer.
 */
export interface AppendUpload {
  target: AppendTarget;
  writer: BlobWriter;
  size: number;
  written: number;
}

type AppendCommand = Extract<Command, { name: "APPEND" }>;

async function appendTarget(
  context: ImapContext,
  command: AppendCommand,
  index: number,
): Promise<AppendTarget> {
  const name = decodeName(context, command.mailbox);
  const mailbox = await context.store.mailboxes.getMailbox(context.userId, name);
  // RFC 9051 §6.3.12: TRYCREATE tells the client it may CREATE the mailbox and try again.
  if (mailbox === null)
    throw new CommandFailure("TRYCREATE", `mailbox "${name}" does not exist; CREATE it first`);
  const part = command.parts[index];
  return { mailbox, flags: normalizeFlags(part?.flags ?? []), date: part?.date ?? new Date() };
}

/**
 * Writes the APPEND's messages as far as the command has come: each message gets its target (the mailbox
 * must exist) and writer when first seen, then its pieces not yet written go in — a quoted message,
 * CATENATE's URL parts (catenate.ts), TEXT parts that arrived inside the command. With `streaming`, the
 * last piece of the last message is a literal of that many octets that the client sends next (so it is
 * checked, not written): it must fit APPENDLIMIT (RFC 7889: NO [TOOBIG], for CATENATE the whole result,
 * RFC 4469 §5) and, with everything before it in this command, the quota. Without it the command is
 * complete and every message checked for emptiness. A failure leaves the writers in `uploads` to the
 * caller.
 */
export async function writeAppend(
  context: ImapContext,
  command: AppendCommand,
  uploads: AppendUpload[],
  streaming: number | null,
): Promise<void> {
  for (const [i, part] of command.parts.entries()) {
    const literal = streaming !== null && i === command.parts.length - 1;
    let upload = uploads[i];
    if (upload === undefined) {
      const target = await appendTarget(context, command, i);
      // A literal that cannot fit is refused before a writer is opened for it.
      if (literal && streaming > context.maxMessageSize) throw tooBig(context);
      upload = { target, writer: await context.store.blobs.createBlobWriter(), size: 0, written: 0 };
      uploads.push(upload);
    }
    const pieces = part.catenate ?? [{ kind: "text" as const, text: part.message }];
    const end = literal ? pieces.length - 1 : pieces.length;
    for (; upload.written < end; upload.written++) {
      const piece = pieces[upload.written];
      if (piece === undefined) break;
      const room = context.maxMessageSize - upload.size;
      if (piece.kind === "url") {
        upload.size += await writeUrl(context, piece.url, upload.writer, room);
        continue;
      }
      if (piece.text.length > room) throw tooBig(context);
      await upload.writer.write(piece.text);
      upload.size += piece.text.length;
    }
    if (literal) {
      if (streaming > context.maxMessageSize - upload.size) throw tooBig(context);
      if (part.catenate === undefined && streaming === 0)
        throw new CommandFailure("CANNOT", "an empty message cannot be appended");
      upload.size += streaming;
      upload.written = pieces.length;
    } else if (upload.size === 0) {
      throw new CommandFailure("CANNOT", "an empty message cannot be appended");
    }
  }
  await requireRoom(
    context,
    uploads.reduce((sum, upload) => sum + upload.size, 0),
  );
}

/**
 * Stores the messages of one APPEND, all or none (RFC 3502 §3): every body is made durable first, then
 * each is appended; should one append fail, the ones before it are expunged again, so a client never
 * sees part of a MULTIAPPEND succeed. Returns the APPENDUID response code (RFC 4315: a UID set).
 */
async function completeAppend(context: ImapContext, uploads: AppendUpload[]): Promise<string> {
  const first = uploads[0];
  if (first === undefined) throw new Error("an APPEND without a message");
  const mailbox = first.target.mailbox;
  const blobs: BlobRef[] = [];
  try {
    for (const upload of uploads) blobs.push(await upload.writer.finish());
  } catch (error) {
    await abortAll(uploads);
    return storeFailure(error);
  }
  const uids: number[] = [];
  try {
    for (const [i, blob] of blobs.entries()) {
      const target = uploads[i]?.target ?? first.target;
      uids.push((await context.store.messages.append(mailbox.id, blob, target.flags, target.date)).uid);
    }
  } catch (error) {
    // Bodies not named by any mailbox entry are garbage the store sweeps; the entries made are undone.
    if (uids.length > 0) await context.store.messages.expunge(mailbox.id, uids);
    return storeFailure(error);
  }
  const status = await context.store.mailboxes.getMailboxById(mailbox.id);
  return `APPENDUID ${status?.uidValidity ?? mailbox.uidValidity} ${formatOrdered(uids)}`;
}

async function abortAll(uploads: AppendUpload[]): Promise<void> {
  for (const upload of uploads) await upload.writer.abort();
}

/**
 * The complete APPEND: writes what is not yet written (messages and CATENATE parts that came inside the
 * command; `uploads` holds the ones streamed so far) and stores them all, or none. Takes over the
 * writers: whatever happens, none is left open.
 */
export async function append(
  context: ImapContext,
  command: AppendCommand,
  uploads: AppendUpload[] = [],
): Promise<string> {
  try {
    await writeAppend(context, command, uploads, null);
  } catch (error) {
    await abortAll(uploads);
    if (error instanceof CommandFailure) throw error;
    return storeFailure(error);
  }
  return completeAppend(context, uploads);
}

export async function copyOrMove(
  context: ImapContext,
  command: Extract<Command, { name: "COPY" | "MOVE" }>,
  sync: SyncOptions,
): Promise<{ output: Buffer[]; code: string | null }> {
  const view = requireSelected(context);
  if (command.name === "MOVE" && view.readOnly) {
    throw new CommandRefused("the mailbox is read-only (EXAMINE); SELECT it to move messages out");
  }
  const name = decodeName(context, command.mailbox);
  const destination = await context.store.mailboxes.getMailbox(context.userId, name);
  if (destination === null)
    throw new CommandFailure("TRYCREATE", `mailbox "${name}" does not exist; CREATE it first`);
  const targets = resolveTargets(view, command.set, command.uid, context.savedUids);
  if (targets.length === 0) return { output: [], code: null };
  const uids = targets.map((t) => t.uid);
  // A move between two mailboxes leaves the user's usage as it was; a copy (or a move onto itself) adds.
  if (command.name === "COPY" || destination.id === view.mailbox.id) {
    await requireRoom(
      context,
      targets.reduce((sum, t) => sum + (view.messages[t.seq - 1]?.size ?? 0), 0),
    );
  }
  const messages = context.store.messages;
  let result: Awaited<ReturnType<typeof messages.copyMessages>>;
  try {
    if (command.name === "COPY") {
      result = await messages.copyMessages(view.mailbox.id, uids, destination.id);
    } else if (destination.id === view.mailbox.id) {
      // RFC 6851 makes no exception for the selected mailbox: the messages get new UIDs there. The
      // store moves only between two mailboxes, so this is a copy and then an expunge, not one
      // transaction: should the expunge fail, the copies stay beside the originals.
      result = await messages.copyMessages(view.mailbox.id, uids, destination.id);
      await messages.expunge(
        view.mailbox.id,
        result.mapping.map((m) => m[0]),
      );
    } else {
      result = await messages.moveMessages(view.mailbox.id, uids, destination.id);
    }
  } catch (error) {
    return storeFailure(error);
  }
  if (result.mapping.length === 0) {
    // RFC 9051 §7.1: a message expunged meanwhile means the copy did not happen as asked.
    throw new CommandFailure("EXPUNGEISSUED", "the messages were expunged by another session");
  }
  const copyuid = `COPYUID ${result.uidValidity} ${formatOrdered(result.mapping.map((m) => m[0]))} ${formatOrdered(
    result.mapping.map((m) => m[1]),
  )}`;
  if (command.name === "COPY") return { output: [], code: copyuid };
  // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunge responses.
  const output = [untagged(`OK [${copyuid}] moved`)];
  output.push(
    ...view.removeExpunged(
      result.mapping.map((m) => m[0]),
      sync,
    ),
  );
  return { output, code: null };
}

/** EXPUNGE, UID EXPUNGE, and CLOSE's silent variant: removes \Deleted messages (within `set` if given). */
export async function expunge(
  context: ImapContext,
  set: SequenceSet | null,
  sync: SyncOptions,
  silent = false,
): Promise<Buffer[]> {
  const view = requireSelected(context);
  if (view.readOnly) {
    if (silent) return [];
    throw new CommandRefused("the mailbox is read-only (EXAMINE); SELECT it to expunge");
  }
  const messages = await context.store.messages.listMessages(view.mailbox.id);
  const maxUid = view.maxUid;
  const uids = messages
    .filter((m) => m.flags.includes("\\Deleted") && view.indexOf(m.uid) >= 0)
    .filter(
      (m) =>
        set === null ||
        (set.kind === "saved" ? context.savedUids.has(m.uid) : inSequenceSet(set, m.uid, maxUid)),
    )
    .map((m) => m.uid);
  if (uids.length === 0) return [];
  const removed = await context.store.messages.expunge(view.mailbox.id, uids);
  if (silent) return [];
  return view.removeExpunged(removed, sync);
}
