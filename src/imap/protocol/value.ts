/**
 * The data model of an IMAP response and its wire encoding (RFC 9051 §4).
 * A string is sent quoted when it is safe to quote, otherwise as a literal;
 * a Buffer is always a literal; { atom } is sent raw (flags, keywords, NIL-free tokens).
 */
export type ImapValue =
  | null
  | number
  | bigint
  | string
  | Buffer
  | { literal: Buffer }
  | { atom: string }
  | ImapValue[];

const QUOTED_MAX = 1024;

/** True when `s` may be sent as a quoted string: no CR, LF or NUL, not too long (RFC 9051 §4.3). */
export function isQuotable(s: string): boolean {
  if (s.length > QUOTED_MAX) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

/**
 * Literal octets with every NUL replaced by 0x80. RFC 9051 §4.3 forbids NUL in a literal; only BINARY
 * may send literal8 (RFC 3516 §4.2). Replacing octet for octet, as Dovecot does, keeps every length and
 * offset (RFC822.SIZE, partial fetches) true, where refusing would leave the message unreadable to a
 * client without BINARY. The buffer is copied only when it holds a NUL.
 */
export function withoutNul(data: Buffer): Buffer {
  if (!data.includes(0)) return data;
  const copy = Buffer.from(data);
  for (let at = copy.indexOf(0); at >= 0; at = copy.indexOf(0, at + 1)) copy[at] = 0x80;
  return copy;
}

function literal(data: Buffer, out: Buffer[]): void {
  out.push(Buffer.from(`{${data.length}}\r\n`), withoutNul(data));
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}

function pushValue(value: ImapValue, out: Buffer[]): void {
  if (value === null) {
    out.push(Buffer.from("NIL"));
  } else if (typeof value === "number" || typeof value === "bigint") {
    out.push(Buffer.from(String(value)));
  } else if (typeof value === "string") {
    if (isQuotable(value)) {
      out.push(Buffer.from(quote(value), "utf8"));
    } else {
      literal(Buffer.from(value, "utf8"), out);
    }
  } else if (Buffer.isBuffer(value)) {
    literal(value, out);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from("("));
    value.forEach((item, i) => {
      if (i > 0) out.push(Buffer.from(" "));
      pushValue(item, out);
    });
    out.push(Buffer.from(")"));
  } else if ("literal" in value) {
    literal(value.literal, out);
  } else {
    out.push(Buffer.from(value.atom, "utf8"));
  }
}

/** Encodes one value as it appears on the wire. */
export function encodeValue(value: ImapValue): Buffer {
  const out: Buffer[] = [];
  pushValue(value, out);
  return Buffer.concat(out);
}

/** Encodes values separated by single spaces (the body of an untagged response). */
export function encodeValues(values: readonly ImapValue[]): Buffer {
  const out: Buffer[] = [];
  values.forEach((v, i) => {
    if (i > 0) out.push(Buffer.from(" "));
    pushValue(v, out);
  });
  return Buffer.concat(out);
}
