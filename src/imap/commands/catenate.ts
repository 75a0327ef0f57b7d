/**
 * CATENATE's URL parts (RFC 4469 §3): the octets of a message or part the user already has, named by an
 * IMAP URL relative to this server (protocol/url.ts), written into the message being built. Only the
 * logged-in user's mailboxes are looked in, so a URL can never reach another user's mail; every URL
 * that does not resolve gets the same NO [BADURL url] whatever the reason, naming nothing but the URL
 * the client sent.
 */

import { parseMessageStructure } from "../../mail/mime/structure.js";
import { type BlobWriter, StoreError } from "../../store/types.js";
import { sectionBytes } from "../mime/section.js";
import { badUrlText, parseMessageUrl } from "../protocol/url.js";
import { CommandFailure, type ImapContext, inboxCased } from "./context.js";

function badUrl(url: string): CommandFailure {
  return new CommandFailure(
    `BADURL ${badUrlText(url)}`,
    "the URL names no message or part in your mailboxes; use /mailbox;UIDVALIDITY=n/;UID=n[/;SECTION=x]",
  );
}

export function tooBig(context: ImapContext): CommandFailure {
  return new CommandFailure(
    "TOOBIG",
    `the message is larger than the ${context.maxMessageSize} octets allowed`,
  );
}

/**
 * Writes what `url` names to `writer` and returns how many octets that was. `room` is how many more the
 * message may take under APPENDLIMIT: past it, NO [TOOBIG] before anything is written. A whole message
 * is streamed from its body; a section or partial is cut from the body read whole, as FETCH does.
 */
export async function writeUrl(
  context: ImapContext,
  url: string,
  writer: BlobWriter,
  room: number,
): Promise<number> {
  const target = parseMessageUrl(url);
  if (target === null) throw badUrl(url);
  const store = context.store;
  const mailbox = await store.mailboxes.getMailbox(context.userId, inboxCased(target.mailbox));
  if (mailbox === null || (target.uidValidity !== null && target.uidValidity !== mailbox.uidValidity)) {
    throw badUrl(url);
  }
  const message = await store.messages.getMessage(mailbox.id, target.uid);
  if (message === null) throw badUrl(url);
  try {
    if (target.section === null && target.partial === null) {
      if (message.size > room) throw tooBig(context);
      let written = 0;
      for await (const chunk of store.blobs.readBlob(message.messageId)) {
        written += (chunk as Buffer).length;
        if (written > room) throw tooBig(context);
        await writer.write(chunk as Buffer);
      }
      return written;
    }
    const bytes = await store.blobs.readBlobBytes(message.messageId);
    let piece: Buffer | null =
      target.section === null ? bytes : sectionBytes(bytes, parseMessageStructure(bytes), target.section);
    if (piece === null) throw badUrl(url);
    if (target.partial !== null) {
      const { offset, length } = target.partial;
      piece = piece.subarray(offset, length === null ? undefined : offset + length);
    }
    if (piece.length > room) throw tooBig(context);
    await writer.write(piece);
    return piece.length;
  } catch (error) {
    // Expunged by another session between the lookup and the read: it no longer resolves.
    if (error instanceof StoreError && error.code === "not-found") throw badUrl(url);
    throw error;
  }
}
