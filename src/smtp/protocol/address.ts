// Reverse-path and forward-path syntax (RFC 5321 §4.1.2, §4.1.3), with RFC 6531 §3.3 UTF-8 extensions
// when the transaction uses SMTPUTF8.

import { isIPv4, isIPv6 } from "node:net";
import { domainToASCII } from "node:url";

export interface MailboxAddress {
  /** As the client wrote it, quotes included. */
  localPart: string;
  /** As the client wrote it: a domain (possibly with U-labels) or an address literal in brackets. */
  domain: string;
  /** The routing key: the domain in lower-case ASCII (A-labels), or the literal as written. */
  routingDomain: string;
  /** localPart@domain as written (trace headers). */
  address: string;
  /** localPart@routingDomain (lookups, queue). */
  routingAddress: string;
}

export interface PathOptions {
  /** SMTPUTF8 in force: non-ASCII allowed in the local part and the domain. */
  utf8: boolean;
  /** Accept a mailbox without the angle brackets (config allowBareAddresses). */
  allowBare: boolean;
}

export type PathResult =
  /** `mailbox` null is the null reverse-path "<>"; `rest` is the text after the path (parameters). */
  | { ok: true; mailbox: MailboxAddress | null; postmaster: boolean; rest: string }
  | { ok: false; error: string };

// RFC 5321 §4.5.3.1: local part 64 octets, domain 255, whole path 256 including the brackets.
const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 255;
const MAX_PATH = 256;

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;

function isAtext(char: string, utf8: boolean): boolean {
  return ATEXT.test(char) || (utf8 && char.codePointAt(0)! >= 0x80);
}

function octets(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

class Cursor {
  index = 0;
  constructor(readonly text: string) {}
  peek(): string | undefined {
    return this.text[this.index];
  }
  eat(char: string): boolean {
    if (this.text[this.index] !== char) return false;
    this.index += 1;
    return true;
  }
}

/** Dot-string / Quoted-string; returns the raw text or null. */
function readLocalPart(cursor: Cursor, utf8: boolean): string | null {
  const start = cursor.index;
  if (cursor.eat('"')) {
    for (;;) {
      const char = cursor.peek();
      if (char === undefined) return null;
      cursor.index += 1;
      if (char === '"') break;
      const code = char.codePointAt(0)!;
      if (char === "\\") {
        // quoted-pairSMTP = %d92 %d32-126
        const next = cursor.peek();
        if (next === undefined) return null;
        const nextCode = next.codePointAt(0)!;
        if (nextCode < 32 || nextCode > 126) return null;
        cursor.index += 1;
      } else if (code < 32 || code === 127 || (code > 127 && !utf8)) {
        return null;
      }
    }
    return cursor.text.slice(start, cursor.index);
  }
  let atomLength = 0;
  for (;;) {
    const char = cursor.peek();
    if (char !== undefined && isAtext(char, utf8)) {
      cursor.index += char.length;
      atomLength += 1;
    } else if (char === "." && atomLength > 0) {
      cursor.index += 1;
      atomLength = 0;
    } else {
      break;
    }
  }
  if (atomLength === 0) return null;
  return cursor.text.slice(start, cursor.index);
}

function readAddressLiteral(cursor: Cursor): string | null {
  const start = cursor.index;
  const end = cursor.text.indexOf("]", start);
  if (end === -1) return null;
  const inner = cursor.text.slice(start + 1, end);
  const valid = inner.toLowerCase().startsWith("ipv6:") ? isIPv6(inner.slice(5)) : isIPv4(inner);
  if (!valid) return null;
  cursor.index = end + 1;
  return cursor.text.slice(start, end + 1);
}

/** Domain (sub-domains of letters, digits and inner hyphens; U-labels with SMTPUTF8). */
function readDomain(cursor: Cursor, utf8: boolean): string | null {
  const start = cursor.index;
  let label = "";
  const labelOk = () => label.length > 0 && !label.startsWith("-") && !label.endsWith("-");
  for (;;) {
    const char = cursor.peek();
    if (char === undefined) break;
    const code = char.codePointAt(0)!;
    if (/^[A-Za-z0-9-]$/.test(char) || (utf8 && code >= 0x80)) {
      label += char;
      cursor.index += char.length;
    } else if (char === ".") {
      if (!labelOk()) return null;
      label = "";
      cursor.index += 1;
    } else {
      break;
    }
  }
  if (!labelOk()) return null;
  return cursor.text.slice(start, cursor.index);
}

/** The routing form of a domain: lower-case A-labels (IDNA via node:url), or null when not convertible. */
export function routingDomainOf(domain: string): string | null {
  if (domain.startsWith("[")) return domain.toLowerCase();
  const ascii = domainToASCII(domain);
  if (ascii === "" || ascii.length > MAX_DOMAIN) return null;
  return ascii.toLowerCase();
}

function readMailbox(cursor: Cursor, utf8: boolean): MailboxAddress | string {
  const localPart = readLocalPart(cursor, utf8);
  if (localPart === null) return "invalid local part";
  if (octets(localPart) > MAX_LOCAL_PART) return `local part longer than ${MAX_LOCAL_PART} octets`;
  if (!cursor.eat("@")) return "missing @domain";
  const domain = cursor.peek() === "[" ? readAddressLiteral(cursor) : readDomain(cursor, utf8);
  if (domain === null) return "invalid domain";
  if (octets(domain) > MAX_DOMAIN) return `domain longer than ${MAX_DOMAIN} octets`;
  const routingDomain = routingDomainOf(domain);
  if (routingDomain === null) return "invalid domain";
  return {
    localPart,
    domain,
    routingDomain,
    address: `${localPart}@${domain}`,
    routingAddress: `${localPart}@${routingDomain}`,
  };
}

/** A-d-l ":" — a source route, accepted and ignored (RFC 5321 §4.1.2, Appendix C). */
function skipSourceRoute(cursor: Cursor, utf8: boolean): boolean {
  if (cursor.peek() !== "@") return true;
  do {
    if (!cursor.eat("@")) return false;
    if (readDomain(cursor, utf8) === null) return false;
  } while (cursor.eat(","));
  return cursor.eat(":");
}

/**
 * Parses the path after "MAIL FROM:" or "RCPT TO:". One optional space before it is tolerated (common
 * client behaviour, although RFC 5321 §4.1.1.2 has none). `<>` and `<Postmaster>` are recognised; the
 * caller decides whether each is allowed where it appears.
 */
export function parsePath(text: string, options: PathOptions): PathResult {
  const cursor = new Cursor(text);
  while (cursor.peek() === " ") cursor.index += 1;
  const start = cursor.index;
  if (!cursor.eat("<")) {
    if (!options.allowBare)
      return { ok: false, error: "the address must be in angle brackets, e.g. <user@example.org>" };
    const mailbox = readMailbox(cursor, options.utf8);
    if (typeof mailbox === "string") return { ok: false, error: mailbox };
    return finish(cursor, start, mailbox, false);
  }
  if (cursor.eat(">")) return finish(cursor, start, null, false);
  const afterBracket = cursor.index;
  const postmaster = text.slice(afterBracket, afterBracket + 11);
  if (postmaster.toLowerCase() === "postmaster>") {
    cursor.index += postmaster.length;
    return finish(cursor, start, null, true);
  }
  if (!skipSourceRoute(cursor, options.utf8)) return { ok: false, error: "invalid source route" };
  const mailbox = readMailbox(cursor, options.utf8);
  if (typeof mailbox === "string") return { ok: false, error: mailbox };
  if (!cursor.eat(">")) return { ok: false, error: "missing closing >" };
  return finish(cursor, start, mailbox, false);
}

function finish(
  cursor: Cursor,
  start: number,
  mailbox: MailboxAddress | null,
  postmaster: boolean,
): PathResult {
  if (octets(cursor.text.slice(start, cursor.index)) > MAX_PATH) {
    return { ok: false, error: `path longer than ${MAX_PATH} octets` };
  }
  const next = cursor.peek();
  if (next !== undefined && next !== " ") return { ok: false, error: "unexpected text after the address" };
  return { ok: true, mailbox, postmaster, rest: cursor.text.slice(cursor.index).trim() };
}

/** EHLO/HELO argument: a domain or an address literal (RFC 5321 §4.1.1.1). */
export function isValidHeloName(name: string): boolean {
  if (name.startsWith("[")) {
    const cursor = new Cursor(name);
    return readAddressLiteral(cursor) !== null && cursor.index === name.length;
  }
  // Underscores are tolerated: deployed clients (Windows host names) send them.
  return name.length <= MAX_DOMAIN && /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/.test(name);
}
