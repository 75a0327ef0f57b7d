/**
 * Who may read what an IMAP URL (RFC 5092) names, and how URLAUTH (RFC 4467) signs the URLs a user
 * hands to someone else: the logged-in user's own IMAP session (CATENATE, URLFETCH) or the submission
 * server sending for them (BURL, RFC 4468). Every refusal is a UrlUnavailable whose message names
 * nothing but the URL's own parts, so no answer tells one user about another's mailboxes.
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { parseMessageStructure } from "../mail/mime/structure.js";
import { type Mailbox, type MailboxMessage, type Store, StoreError } from "../store/types.js";
import { inboxCased } from "./commands/context.js";
import { sectionBytes } from "./mime/section.js";
import { type ImapUrl, parseImapUrl, type UrlAccess } from "./protocol/url.js";

/** The one mechanism offered: RFC 4467 §7 requires INTERNAL, whose token is the server's own business. */
export const URLAUTH_MECHANISM = "INTERNAL";
/** First octet of an INTERNAL token, so a later token format can be told apart. */
const TOKEN_VERSION = 1;
const KEY_OCTETS = 32;

export type UrlStore = Pick<Store, "mailboxes" | "messages" | "blobs" | "urlAuthKeys"> & {
  readonly directory: Pick<Store["directory"], "getUser">;
};

/** Who is reading: a user in their own session, or the submission server on that user's behalf. */
export interface UrlReader {
  userId: number;
  address: string;
  role: "user" | "submit";
}

export type UrlRefusal =
  /** Not an IMAP URL of a message or part, or not the kind this use takes. */
  | "syntax"
  /** Another server's URL. */
  | "elsewhere"
  /** The reader may not use it: wrong user or access identifier, a bad or reset token. */
  | "denied"
  | "expired"
  /** The mailbox, UIDVALIDITY, message or section is not there (any more). */
  | "not-found";

export class UrlUnavailable extends Error {
  constructor(
    readonly reason: UrlRefusal,
    message: string,
  ) {
    super(message);
    this.name = "UrlUnavailable";
  }
}

export interface UrlTarget {
  url: ImapUrl;
  mailbox: Mailbox;
  message: MailboxMessage;
}

export interface UrlServer {
  /** This server's name: the host an absolute URL must name. Any port: every listener reads one store. */
  hostname: string;
  now?: () => number;
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function token(key: Buffer, rump: string): Buffer {
  const mac = createHmac("sha256", key).update(rump, "utf8").digest();
  return Buffer.concat([Buffer.of(TOKEN_VERSION), mac]);
}

function checkServer(url: ImapUrl, server: UrlServer): void {
  if (url.server !== null && url.server.host !== server.hostname.toLowerCase()) {
    throw new UrlUnavailable("elsewhere", `the URL names the server ${url.server.host}, not this one`);
  }
}

function checkExpiry(url: ImapUrl, server: UrlServer): void {
  const expire = url.urlauth?.expire ?? null;
  if (expire !== null && (server.now ?? Date.now)() >= expire) {
    throw new UrlUnavailable("expired", "the URL's ;EXPIRE time has passed");
  }
}

async function findMessage(store: UrlStore, userId: number, url: ImapUrl): Promise<UrlTarget> {
  const mailbox = await store.mailboxes.getMailbox(userId, inboxCased(url.mailbox));
  if (mailbox === null || (url.uidValidity !== null && url.uidValidity !== mailbox.uidValidity)) {
    throw new UrlUnavailable("not-found", "the URL's mailbox is not there (or its UIDVALIDITY changed)");
  }
  const message = await store.messages.getMessage(mailbox.id, url.uid);
  if (message === null) throw new UrlUnavailable("not-found", "the URL's message is not there");
  return { url, mailbox, message };
}

/**
 * GENURLAUTH (RFC 4467 §6.1): the authorized URL for `rump`, a URL of the reader's own message ending in
 * ";URLAUTH=" access, signed with its mailbox's access key (made now if the mailbox has none yet).
 */
export async function authorizeUrl(
  store: UrlStore,
  server: UrlServer,
  reader: UrlReader,
  rump: string,
): Promise<string> {
  const url = parseImapUrl(rump);
  if (url?.server == null || url.urlauth === null || url.urlauth.mechanism !== null) {
    throw new UrlUnavailable(
      "syntax",
      "not a rump URL: imap://user@host/mailbox;UIDVALIDITY=n/;UID=n;URLAUTH=access",
    );
  }
  if (url.server.user === null || !sameAddress(url.server.user, reader.address)) {
    throw new UrlUnavailable(
      "denied",
      "URLs can be authorized only for your own mailboxes (imap://you@host/…)",
    );
  }
  checkServer(url, server);
  checkExpiry(url, server);
  const { mailbox } = await findMessage(store, reader.userId, url);
  const key = await store.urlAuthKeys.accessKey(reader.userId, mailbox.id, randomBytes(KEY_OCTETS));
  if (key === null) throw new UrlUnavailable("not-found", "the URL's mailbox is not there");
  return `${rump}:${URLAUTH_MECHANISM}:${token(key, rump).toString("hex").toUpperCase()}`;
}

/** RFC 4467 §3: which readers an access identifier admits. */
function admits(access: UrlAccess, reader: UrlReader): boolean {
  switch (access.kind) {
    case "authuser":
    case "anonymous":
      return true;
    case "user":
      return sameAddress(access.user, reader.address);
    case "submit":
      return reader.role === "submit" && sameAddress(access.user, reader.address);
  }
}

/**
 * The message `text` names, if `reader` may read it: an authorized URL (any owner, checked against its
 * token), or a plain one of the reader's own mailboxes — relative, or absolute naming the reader.
 */
export async function locateUrl(
  store: UrlStore,
  server: UrlServer,
  reader: UrlReader,
  text: string,
): Promise<UrlTarget> {
  const url = parseImapUrl(text);
  if (url === null) throw new UrlUnavailable("syntax", "not an IMAP URL of a message or part");
  checkServer(url, server);
  const auth = url.urlauth;
  if (auth === null) {
    if (url.server !== null && (url.server.user === null || !sameAddress(url.server.user, reader.address))) {
      throw new UrlUnavailable("denied", "a URL without URLAUTH reaches only your own mailboxes");
    }
    return findMessage(store, reader.userId, url);
  }
  if (auth.mechanism === null || auth.token === null) {
    throw new UrlUnavailable("syntax", "a rump URL cannot be read; GENURLAUTH makes it a full one");
  }
  if (auth.mechanism !== URLAUTH_MECHANISM) {
    throw new UrlUnavailable("denied", `unknown URLAUTH mechanism ${auth.mechanism}; INTERNAL is offered`);
  }
  checkExpiry(url, server);
  if (!admits(auth.access, reader)) {
    throw new UrlUnavailable("denied", "the URL's access identifier does not admit you");
  }
  const owner = url.server?.user ? await store.directory.getUser(url.server.user) : null;
  const mailbox = owner ? await store.mailboxes.getMailbox(owner.id, inboxCased(url.mailbox)) : null;
  const key = owner && mailbox ? await store.urlAuthKeys.accessKey(owner.id, mailbox.id, null) : null;
  // RFC 4467 §7: a URL whose mailbox is not found is checked against a random key all the same, so the
  // time taken does not tell which mailbox names exist.
  const expected = token(key ?? randomBytes(KEY_OCTETS), auth.rump);
  const valid = expected.length === auth.token.length && timingSafeEqual(expected, auth.token);
  if (!valid || owner === null || key === null) {
    throw new UrlUnavailable("denied", "the URL's authorization is not valid (or its key was reset)");
  }
  return findMessage(store, owner.id, url);
}

/**
 * The octets a located URL names: the whole message, or the section (as BODY[section] has it) and
 * partial range it asks for. `bytes` is the whole message.
 */
export function urlPart(target: UrlTarget, bytes: Buffer): Buffer {
  const { section, partial } = target.url;
  let piece: Buffer | null =
    section === null ? bytes : sectionBytes(bytes, parseMessageStructure(bytes), section);
  if (piece === null) throw new UrlUnavailable("not-found", "the URL's section is not in the message");
  if (partial !== null) {
    piece = piece.subarray(
      partial.offset,
      partial.length === null ? undefined : partial.offset + partial.length,
    );
  }
  return piece;
}

/** Reads the whole of a located URL's part. */
export async function readUrl(store: UrlStore, target: UrlTarget): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await store.blobs.readBlobBytes(target.message.messageId, target.message.size);
  } catch (error) {
    // Expunged (and its body removed) between the lookup and the read.
    if (error instanceof StoreError && error.code === "not-found") {
      throw new UrlUnavailable("not-found", "the URL's message is not there");
    }
    throw error;
  }
  return urlPart(target, bytes);
}
