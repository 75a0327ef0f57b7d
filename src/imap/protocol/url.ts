/**
 * IMAP URLs (RFC 5092) of one message or part, in the form CATENATE (RFC 4469 §3) takes from a client of
 * this server: relative to it, "/" enc-mailbox [";UIDVALIDITY=" n] "/;UID=" n ["/;SECTION=" section]
 * ["/;PARTIAL=" offset ["." length]]. Pure: whether the message exists is the caller's question.
 */

import { ParseError, parseSectionText, type SectionSpec } from "./command.js";

export interface MessageUrl {
  /** The mailbox name, percent-decoded (RFC 5092 §3: UTF-8, not modified UTF-7). */
  mailbox: string;
  uidValidity: number | null;
  uid: number;
  /** As BODY[section] names it; null for the whole message. */
  section: SectionSpec | null;
  /** RFC 5092 ipartial: octets from `offset`, `length` of them (or to the end when null). */
  partial: { offset: number; length: number | null } | null;
}

const MAX_NUMBER = 2 ** 32 - 1;

/**
 * The message a URL names, or null when it is not such a URL: another server's (imap://…), a mailbox
 * list or search rather than a message, URLAUTH (;EXPIRE, ;URLAUTH — not offered here), a bad escape or
 * number, or a section BODY[] could not name.
 */
export function parseMessageUrl(url: string): MessageUrl | null {
  if (!url.startsWith("/") || url.startsWith("//")) return null;
  // enc-mailbox is made of bchar, which has no ";": the mailbox ends at the first parameter.
  const semicolon = url.indexOf(";");
  if (semicolon < 0) return null;
  const rawMailbox = url.slice(1, semicolon);
  const rest = url.slice(semicolon);
  const match =
    /^(?:;UIDVALIDITY=([1-9]\d{0,9}))?(\/)?;UID=([1-9]\d{0,9})(?:\/;SECTION=([^/;]+))?(?:\/;PARTIAL=(\d{1,10})(?:\.([1-9]\d{0,9}))?)?$/i.exec(
      rest,
    );
  if (match === null) return null;
  const [, validity, slash, uidText, sectionText, offsetText, lengthText] = match;
  // Without UIDVALIDITY the "/" before ;UID= is still the mailbox's last character.
  let encoded = rawMailbox;
  if (validity === undefined) {
    if (slash !== undefined || !encoded.endsWith("/")) return null;
    encoded = encoded.slice(0, -1);
  } else if (slash === undefined) {
    return null;
  }
  const mailbox = percentDecode(encoded);
  if (mailbox === null || mailbox === "") return null;
  const numbers = [validity, uidText, offsetText, lengthText].map((n) =>
    n === undefined ? null : Number(n),
  );
  if (numbers.some((n) => n !== null && n > MAX_NUMBER)) return null;
  const [uidValidity = null, uid = null, offset = null, length = null] = numbers;
  if (uid === null) return null;
  let section: SectionSpec | null = null;
  if (sectionText !== undefined) {
    const decoded = percentDecode(sectionText);
    if (decoded === null) return null;
    try {
      section = parseSectionText(decoded);
    } catch (error) {
      if (error instanceof ParseError) return null;
      throw error;
    }
  }
  return {
    mailbox,
    uidValidity,
    uid,
    section,
    partial: offset === null ? null : { offset, length },
  };
}

/**
 * %XX escapes of UTF-8 (RFC 3986 §2.1), other characters as their UTF-8; null for a broken escape,
 * octets that are no UTF-8, or control characters.
 */
function percentDecode(text: string): string | null {
  const bytes: Buffer[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      bytes.push(Buffer.of(Number.parseInt(hex, 16)));
      i += 3;
    } else {
      const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
      bytes.push(Buffer.from(char, "utf8"));
      i += char.length;
    }
  }
  const raw = Buffer.concat(bytes);
  const decoded = raw.toString("utf8");
  if (!Buffer.from(decoded, "utf8").equals(raw) || /[\x00-\x1f\x7f]/.test(decoded)) return null;
  return decoded;
}

/** A URL as the BADURL response code may carry it (RFC 4469 §6 url-resp-text: no "]", CR, LF or NUL). */
export function badUrlText(url: string): string {
  const text = url.replace(/[\]\x00\r\n]/g, "");
  return text === "" ? "/" : text;
}
