/**
 * CATENATE's URL parts (RFC 4469 §3): the octets of a message or part, named by an IMAP URL, written into
 * the message being built. A plain URL, relative or absolute, reaches only the logged-in user's own
 * mailboxes; an authorized one (URLAUTH, RFC 4467) whatever its token admits (url-access.ts). Every URL
 * that does not resolve gets the same NO [BADURL url] whatever the reason, naming nothing but the URL
 * the client sent.
 */

import { type BlobWriter, StoreError } from "../../store/types.js";
import { badUrlText } from "../protocol/url.js";
import { locateUrl, UrlUnavailable, urlPart } from "../url-access.js";
import { CommandFailure, type ImapContext } from "./context.js";

function badUrl(url: string): CommandFailure {
  return new CommandFailure(
    `BADURL ${badUrlText(url)}`,
    "the URL names no message or part you may read; use /mailbox;UIDVALIDITY=n/;UID=n[/;SECTION=x]",
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
  const store = context.store;
  try {
    const target = await locateUrl(
      store,
      { hostname: context.hostname },
      { userId: context.userId, address: context.userAddress, role: "user" },
      url,
    );
    const { message } = target;
    if (target.url.section === null && target.url.partial === null) {
      if (message.size > room) throw tooBig(context);
      let written = 0;
      for await (const chunk of store.blobs.readBlob(message.messageId)) {
        written += (chunk as Buffer).length;
        if (written > room) throw tooBig(context);
        await writer.write(chunk as Buffer);
      }
      return written;
    }
    const piece = urlPart(target, await store.blobs.readBlobBytes(message.messageId));
    if (piece.length > room) throw tooBig(context);
    await writer.write(piece);
    return piece.length;
  } catch (error) {
    // Expunged by another session between the lookup and the read: it no longer resolves.
    if (error instanceof UrlUnavailable || (error instanceof StoreError && error.code === "not-found")) {
      throw badUrl(url);
    }
    throw error;
  }
}
