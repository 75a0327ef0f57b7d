/** Commands that add or remove messages: APPEND, COPY, MOVE (RFC 6851), EXPUNGE, UID EXPUNGE (RFC 4315). */

import type { BlobWriter, Mailbox } from "../../store/types.js";
import type { Command } from "../protocol/command.js";
import { formatOrdered, inSequenceSet } from "../protocol/sequence.js";
import { untagged } from "../responses.js";
import type { SequenceSet } from "../search/types.js";
import type { SyncOptions } from "../selected.js";
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

/** Where an APPEND puts its message, checked before the client sends the message. */
export interface AppendTarget {
  mailbox: Mailbox;
  flags: string[];
  date: Date;
}

/**
 * Checks an APPEND before its message arrives (so a synchronizing literal is refused instead of read):
 * the mailbox must exist and the announced size fit APPENDLIMIT (RFC 7889: NO [TOOBIG]).
 */
export async function prepareAppend(
  context: ImapContext,
  command: Extract<Command, { name: "APPEND" }>,
  size: number,
): Promise<AppendTarget> {
  const name = decodeName(context, command.mailbox);
  const mailbox = await context.store.mailboxes.getMailbox(context.userId, name);
  // RFC 9051 §6.3.12: TRYCREATE tells the client it may CREATE the mailbox and try again.
  if (mailbox === null)
    throw new CommandFailure("TRYCREATE", `mailbox "${name}" does not exist; CREATE it first`);
  if (size > context.maxMessageSize) {
    throw new CommandFailure(
      "TOOBIG",
      `the message is larger than the ${context.maxMessageSize} octets allowed`,
    );
  }
  if (size === 0) throw new CommandFailure("CANNOT", "an empty message cannot be appended");
  await requireRoom(context, size);
  return { mailbox, flags: normalizeFlags(command.flags), date: command.date ?? new Date() };
}

/** Stores a message whose bytes went into `writer`; returns the APPENDUID response code (RFC 4315). */
export async function completeAppend(
  context: ImapContext,
  target: AppendTarget,
  writer: BlobWriter,
): Promise<string> {
  try {
    const blob = await writer.finish();
    const added = await context.store.messages.append(target.mailbox.id, blob, target.flags, target.date);
    const status = await context.store.mailboxes.getMailboxById(target.mailbox.id);
    return `APPENDUID ${status?.uidValidity ?? target.mailbox.uidValidity} ${added.uid}`;
  } catch (error) {
    await writer.abort();
    return storeFailure(error);
  }
}

/** APPEND whose message came inside the command (a quoted string rather than a streamed literal). */
export async function append(
  context: ImapContext,
  command: Extract<Command, { name: "APPEND" }>,
): Promise<string> {
  const target = await prepareAppend(context, command, command.message.length);
  const writer = await context.store.blobs.createBlobWriter();
  try {
    await writer.write(command.message);
  } catch (error) {
    await writer.abort();
    return storeFailure(error);
  }
  return completeAppend(context, target, writer);
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
