/** ENVELOPE (RFC 9051 §7.5.2): header fields of a message, as written (encoded words not decoded). */
import { type Mailbox, parseAddressList } from "../../mail/address-list.js";
import { fieldValue, findField } from "../../mail/mime/header.js";
import type { MessagePart } from "../../mail/mime/structure.js";
import type { ImapValue } from "../protocol/value.js";
import { adjacent, nstring } from "./imap-values.js";

/** An address structure of RFC 9051 §7.5.2: groups are start and end markers. */
export interface ImapAddress {
  name: string | null;
  /** The source route (addr-adl), "@relay,@relay2", as the message has it. */
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/** Host used for an address without "@", so it is not mistaken for a group marker (host NIL). */
export const MISSING_HOST = ".MISSING-HOST-NAME.";

function imapAddress(mailbox: Mailbox): ImapAddress {
  const { name } = mailbox;
  const adl = mailbox.route ?? null;
  if (mailbox.domain !== null) return { name, adl, mailbox: mailbox.local, host: mailbox.domain };
  if (mailbox.local === "") return { name, adl, mailbox: null, host: null };
  return { name, adl, mailbox: mailbox.local, host: MISSING_HOST };
}

/**
 * An address-list header value as ENVELOPE gives it: a group becomes a start marker (mailbox = group
 * name, host NIL), its members, and an end marker (all NIL).
 */
export function envelopeAddresses(value: string): ImapAddress[] {
  return parseAddressList(value).flatMap((entry) =>
    "group" in entry
      ? [
          { name: null, adl: null, mailbox: entry.group, host: null },
          ...entry.mailboxes.map(imapAddress),
          { name: null, adl: null, mailbox: null, host: null },
        ]
      : [imapAddress(entry)],
  );
}

function addressValue(address: ImapAddress): ImapValue {
  return [nstring(address.name), nstring(address.adl), nstring(address.mailbox), nstring(address.host)];
}

function addressList(addresses: readonly ImapAddress[]): ImapValue {
  if (addresses.length === 0) return null;
  return [adjacent(addresses.map(addressValue))];
}

/**
 * The ENVELOPE of a message (the whole message, or an embedded message/rfc822's part.message).
 * Sender and Reply-To fall back to From when absent or empty, as RFC 9051 §7.5.2 requires.
 */
export function envelopeOf(part: MessagePart, message: Buffer): ImapValue {
  const text = (key: string): string | null => {
    const field = findField(part.fields, key);
    return field === undefined ? null : fieldValue(message, field);
  };
  const addresses = (key: string): ImapAddress[] => envelopeAddresses(text(key) ?? "");
  const from = addresses("from");
  const sender = addresses("sender");
  const replyTo = addresses("reply-to");
  return [
    nstring(text("date")),
    nstring(text("subject")),
    addressList(from),
    addressList(sender.length > 0 ? sender : from),
    addressList(replyTo.length > 0 ? replyTo : from),
    addressList(addresses("to")),
    addressList(addresses("cc")),
    addressList(addresses("bcc")),
    nstring(text("in-reply-to")),
    nstring(text("message-id")),
  ];
}
