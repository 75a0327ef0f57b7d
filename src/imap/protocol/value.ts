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
      const bytes = Buffer.from(value, "utf8");
      out.push(Buffer.from(`{${bytes.length}}\r\n`), bytes);
    }
  } else if (Buffer.isBuffer(value)) {
    out.push(Buffer.from(`{${value.length}}\r\n`), value);
  } else if (Array.isArray(value)) {
    out.push(Buffer.from("("));
    value.forEach((item, i) => {
      if (i > 0) out.push(Buffer.from(" "));
      pushValue(item, out);
    });
    out.push(Buffer.from(")"));
  } else if ("literal" in value) {
    out.push(Buffer.from(`{${value.literal.length}}\r\n`), value.literal);
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
