// The parsed forms of a header field value (RFC 8621 §4.1.2) and the "header:{name}[:as{form}][:all]"
// property syntax (§4.1.3), with the rule of which forms each field may be asked for.

import { TextDecoder } from "node:util";
import { type Mailbox, mailboxAddress, parseAddressList } from "../../mail/address-list.js";
import { dateTime } from "../../mail/date-time.js";
import { decodeEncodedWords } from "../../mail/mime/encoded-words.js";
import { type HeaderField, withoutComments } from "../../mail/mime/header.js";
import type { Json } from "../types.js";

export type EmailAddress = { name: string | null; email: string };
export type EmailAddressGroup = { name: string | null; addresses: EmailAddress[] };
export type EmailHeader = { name: string; value: string };

export type HeaderForm = "Raw" | "Text" | "Addresses" | "GroupedAddresses" | "MessageIds" | "Date" | "URLs";

const FORMS: ReadonlyMap<string, HeaderForm> = new Map([
  ["asRaw", "Raw"],
  ["asText", "Text"],
  ["asAddresses", "Addresses"],
  ["asGroupedAddresses", "GroupedAddresses"],
  ["asMessageIds", "MessageIds"],
  ["asDate", "Date"],
  ["asURLs", "URLs"],
]);

// The fields of RFC 5322 and RFC 2369, by the form RFC 8621 §4.1.2.2 to §4.1.2.7 names them under.
const TEXT_5322 = ["subject", "comments", "keywords"];
const ADDRESSES_5322 = ["from", "sender", "reply-to", "to", "cc", "bcc"];
const RESENT_ADDRESSES_5322 = ["resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc"];
const MESSAGE_IDS = ["message-id", "in-reply-to", "references", "resent-message-id"];
const DATES = ["date", "resent-date"];
const URLS = ["list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"];
const ADDRESSES = [...ADDRESSES_5322, ...RESENT_ADDRESSES_5322, "resent-reply-to"];

/** The fields each parsed form may be asked of (Raw goes with every field). */
const FORM_FIELDS: ReadonlyMap<HeaderForm, ReadonlySet<string>> = new Map([
  ["Text", new Set([...TEXT_5322, "list-id"])],
  ["Addresses", new Set(ADDRESSES)],
  ["GroupedAddresses", new Set(ADDRESSES)],
  ["MessageIds", new Set(MESSAGE_IDS)],
  ["Date", new Set(DATES)],
  ["URLs", new Set(URLS)],
]);

/**
 * Every parsed form may also be asked of any field outside these (RFC 8621 §4.1.2.2 to §4.1.2.7: "any
 * header field not defined in [RFC5322] or [RFC2369]").
 */
const DEFINED_FIELDS: ReadonlySet<string> = new Set([
  ...TEXT_5322,
  ...ADDRESSES_5322,
  ...RESENT_ADDRESSES_5322,
  ...MESSAGE_IDS,
  ...DATES,
  "return-path",
  "received",
  ...URLS,
]);

export interface HeaderProperty {
  /** The field name as the property wrote it. */
  name: string;
  /** Lower-cased, for matching (field names match case-insensitively, RFC 8621 §4.1.3). */
  key: string;
  form: HeaderForm;
  all: boolean;
}

export type HeaderPropertyResult = { ok: true; header: HeaderProperty } | { ok: false; reason: string };

// RFC 5322 §3.6.8 ftext: printable US-ASCII except ":".
const FIELD_NAME = /^[!-9;-~]+$/;

/**
 * Parses a "header:" property. A form the field may not be asked for is refused, as the server MUST
 * answer invalidArguments for it (RFC 8621 §4.1.2).
 */
export function parseHeaderProperty(property: string): HeaderPropertyResult {
  const [prefix, name = "", ...suffixes] = property.split(":");
  if (prefix !== "header" || !FIELD_NAME.test(name)) {
    return { ok: false, reason: `${property}: not a header:{field-name} property` };
  }
  let form: HeaderForm = "Raw";
  let all = false;
  const first = suffixes[0];
  if (first !== undefined && first !== "all") {
    const named = FORMS.get(first);
    if (named === undefined) return { ok: false, reason: `${property}: unknown header form ${first}` };
    form = named;
    suffixes.shift();
  }
  if (suffixes[0] === "all") {
    all = true;
    suffixes.shift();
  }
  if (suffixes.length > 0) return { ok: false, reason: `${property}: unexpected ":${suffixes.join(":")}"` };
  const key = name.toLowerCase();
  const allowed = FORM_FIELDS.get(form);
  if (allowed !== undefined && !allowed.has(key) && DEFINED_FIELDS.has(key)) {
    return { ok: false, reason: `${property}: the ${form} form does not apply to ${name}` };
  }
  return { ok: true, header: { name, key, form, all } };
}

/**
 * The property a `header` filter (RFC 8621 §4.4.1) matches its text against: the decoded Text form where
 * the field may be asked for it, else the Raw form, as fields such as Message-ID have no Text form and
 * asking for one is refused. Null for a name that is no field name.
 */
export function headerFilterProperty(name: string): string | null {
  const text = `header:${name}:asText:all`;
  if (parseHeaderProperty(text).ok) return text;
  const raw = `header:${name}:all`;
  return parseHeaderProperty(raw).ok ? raw : null;
}

const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The Raw form (RFC 8621 §4.1.2.1): the octets after the colon up to the field's final CRLF, as UTF-8
 * with invalid sequences replaced by U+FFFD and NUL dropped, as the section asks.
 */
export function rawValue(message: Buffer, field: HeaderField): string {
  let end = field.end;
  if (end > field.valueStart && message[end - 1] === LF) end--;
  if (end > field.valueStart && message[end - 1] === CR) end--;
  return utf8.decode(message.subarray(field.valueStart, end)).replaceAll("\0", "");
}

/** Every field of a header block as an EmailHeader (lines that are no field are left out). */
export function emailHeaders(message: Buffer, fields: readonly HeaderField[]): EmailHeader[] {
  return fields.filter((f) => f.key !== "").map((f) => ({ name: f.name, value: rawValue(message, f) }));
}

/** RFC 5322 §2.2.3: a CRLF followed by WSP is folding; removing the CRLF unfolds. */
function unfold(raw: string): string {
  return raw.replace(/\r?\n(?=[ \t])/g, "");
}

// RFC 8621 §4.1.2.2 drops NUL and controls that encoded words decode to; tabs are kept as white space.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

function decodedText(text: string): string {
  return decodeEncodedWords(text).replace(CONTROLS, "").trim().normalize("NFC");
}

/** The Text form (RFC 8621 §4.1.2.2): unfolded, trimmed, encoded words decoded, NFC. */
export function textForm(raw: string): string {
  return decodedText(unfold(raw).trim());
}

function emailAddress(mailbox: Mailbox): EmailAddress {
  return { name: mailbox.name === null ? null : decodedText(mailbox.name), email: mailboxAddress(mailbox) };
}

/**
 * The GroupedAddresses form (RFC 8621 §4.1.2.4): each group with its name, and each run of mailboxes
 * outside a group as a group with a null name. Parsing is best effort, as the section asks.
 */
export function groupedAddressesForm(raw: string): EmailAddressGroup[] {
  const groups: EmailAddressGroup[] = [];
  let ungrouped: EmailAddressGroup | null = null;
  for (const entry of parseAddressList(unfold(raw))) {
    if ("group" in entry) {
      groups.push({ name: decodedText(entry.group), addresses: entry.mailboxes.map(emailAddress) });
      ungrouped = null;
    } else {
      if (ungrouped === null) {
        ungrouped = { name: null, addresses: [] };
        groups.push(ungrouped);
      }
      ungrouped.addresses.push(emailAddress(entry));
    }
  }
  return groups;
}

/** The Addresses form (RFC 8621 §4.1.2.3): every mailbox, groups flattened. */
export function addressesForm(raw: string): EmailAddress[] {
  return groupedAddressesForm(raw).flatMap((group) => group.addresses);
}

/**
 * The MessageIds form (RFC 8621 §4.1.2.5) and the URLs form (§4.1.2.7, RFC 2369 §2) have one shape: "<…>"
 * items between white space (and commas, which RFC 2369 URL lists use and References fields in the wild
 * do), given without brackets, comments and white space; null when anything else stands between them
 * or there is none.
 */
function bracketedList(raw: string): string[] | null {
  const text = withoutComments(unfold(raw));
  const items: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && /[\s,]/.test(text[pos] ?? "")) pos++;
    if (pos >= text.length) break;
    if (text[pos] !== "<") return null;
    const close = text.indexOf(">", pos);
    if (close < 0) return null;
    const item = text.slice(pos + 1, close).replace(/\s+/g, "");
    if (item === "" || item.includes("<")) return null;
    items.push(item);
    pos = close + 1;
  }
  return items.length === 0 ? null : items;
}

/** One field's value in a form. */
export function formValue(form: HeaderForm, raw: string): Json {
  switch (form) {
    case "Raw":
      return raw;
    case "Text":
      return textForm(raw);
    case "Addresses":
      return addressesForm(raw);
    case "GroupedAddresses":
      return groupedAddressesForm(raw);
    case "MessageIds":
    case "URLs":
      return bracketedList(raw);
    case "Date":
      return dateTime(raw);
  }
}

/**
 * A header property's value over a header block (RFC 8621 §4.1.3): every matching field in order with
 * ":all", otherwise the last one, or null when there is none.
 */
export function headerPropertyValue(
  message: Buffer,
  fields: readonly HeaderField[],
  header: HeaderProperty,
): Json {
  const matching = fields.filter((f) => f.key === header.key);
  const value = (field: HeaderField) => formValue(header.form, rawValue(message, field));
  if (header.all) return matching.map(value);
  const last = matching.at(-1);
  return last === undefined ? null : value(last);
}
