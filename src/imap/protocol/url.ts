/**
 * IMAP URLs (RFC 5092) of one message or part. The relative form CATENATE (RFC 4469 §3) takes from a
 * client of this server: "/" enc-mailbox [";UIDVALIDITY=" n] "/;UID=" n ["/;SECTION=" section]
 * ["/;PARTIAL=" offset ["." length]]; and the absolute form "imap://" [user "@"] host [":" port] with
 * that path, which may carry URLAUTH's authorization (RFC 4467 §3, RFC 5092 §3.5): [";EXPIRE=" date-time]
 * ";URLAUTH=" access [":" mechanism ":" token]. Pure: whether the message exists, and whether the
 * authorization holds, are the caller's questions.
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
 * The message a relative URL names, or null when it is not such a URL: an absolute one, a mailbox list
 * or search rather than a message, one with URLAUTH (absolute URLs only), a bad escape or number, or a
 * section BODY[] could not name.
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

/** Who may use an authorized URL (RFC 4467 §3 access identifiers). */
export type UrlAccess = { kind: "submit" | "user"; user: string } | { kind: "authuser" | "anonymous" };

export interface UrlAuth {
  /** The URL up to and including the access identifier: what the token is computed over (§3). */
  rump: string;
  access: UrlAccess;
  /** Milliseconds since the epoch after which the URL is no longer valid; null when it has no ;EXPIRE. */
  expire: number | null;
  /** null for a rump URL (what GENURLAUTH takes); otherwise upper-cased, e.g. "INTERNAL". */
  mechanism: string | null;
  token: Buffer | null;
}

export interface ImapUrl extends MessageUrl {
  /** The absolute form's server part; null for a relative URL. */
  server: { user: string | null; host: string; port: number | null } | null;
  urlauth: UrlAuth | null;
}

/** RFC 3339 date-time, as ;EXPIRE= takes it (RFC 4467 §3). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * A relative or absolute IMAP URL of a message or part, with its URLAUTH parts; null when it is not one.
 * An absolute URL with ";AUTH=" in its user part is refused: URLAUTH replaces that login hint (§1).
 */
export function parseImapUrl(url: string): ImapUrl | null {
  let server: ImapUrl["server"] = null;
  let path = url;
  if (/^imap:\/\//i.test(url)) {
    const slash = url.indexOf("/", 7);
    if (slash < 0) return null;
    const authority = url.slice(7, slash);
    path = url.slice(slash);
    const at = authority.lastIndexOf("@");
    const userText = at < 0 ? null : authority.slice(0, at);
    const hostPort = authority.slice(at + 1);
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostPort);
    if (match === null || (userText !== null && /;/.test(userText))) return null;
    const user = userText === null ? null : percentDecode(userText);
    if (user === "" || (userText !== null && user === null)) return null;
    const port = match[2] === undefined ? null : Number(match[2]);
    if (port !== null && (port < 1 || port > 65535)) return null;
    server = { user, host: (match[1] as string).toLowerCase(), port };
  }
  let urlauth: UrlAuth | null = null;
  // Neither enc-mailbox nor a section has ";", so the first of these starts the URLAUTH part.
  const authAt = path.search(/;(?:EXPIRE|URLAUTH)=/i);
  if (authAt >= 0) {
    if (server === null) return null;
    const tail = path.slice(authAt);
    path = path.slice(0, authAt);
    const match = /^(?:;EXPIRE=([^;]+))?;URLAUTH=([^:;]+)(?::([A-Za-z0-9.-]+):([0-9A-Fa-f]+))?$/i.exec(tail);
    if (match === null) return null;
    const [, expireText, accessText, mechanism, tokenText] = match;
    let expire: number | null = null;
    if (expireText !== undefined) {
      if (!DATE_TIME.test(expireText)) return null;
      expire = Date.parse(expireText);
      if (Number.isNaN(expire)) return null;
    }
    const access = parseAccess(accessText as string);
    // RFC 4467 §3: enc-urlauth is 32 or more hex digits; an odd count is not octets.
    if (
      access === null ||
      (tokenText !== undefined && (tokenText.length < 32 || tokenText.length % 2 !== 0))
    ) {
      return null;
    }
    const rumpEnd =
      url.length - (mechanism === undefined ? 0 : mechanism.length + (tokenText as string).length + 2);
    urlauth = {
      rump: url.slice(0, rumpEnd),
      access,
      expire,
      mechanism: mechanism === undefined ? null : mechanism.toUpperCase(),
      token: tokenText === undefined ? null : Buffer.from(tokenText, "hex"),
    };
  }
  const message = parseMessageUrl(path);
  if (message === null) return null;
  return { ...message, server, urlauth };
}

function parseAccess(text: string): UrlAccess | null {
  const lower = text.toLowerCase();
  if (lower === "authuser" || lower === "anonymous") return { kind: lower };
  const match = /^(submit|user)\+(.+)$/i.exec(text);
  if (match === null) return null;
  const user = percentDecode(match[2] as string);
  if (user === null || user === "") return null;
  return { kind: (match[1] as string).toLowerCase() as "submit" | "user", user };
}
