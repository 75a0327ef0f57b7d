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

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}

/**
 * Builds a value's wire octets with one Buffer per run of text rather than one per token: a FETCH of a
 * whole mailbox encodes tens of thousands of small values. Every token boundary has an ASCII delimiter
 * on one side, so encoding a run as one string gives the octets token-by-token encoding gave.
 */
class Encoder {
  readonly pieces: Buffer[] = [];
  text = "";

  value(value: ImapValue): void {
    if (value === null) {
      this.text += "NIL";
    } else if (typeof value === "number" || typeof value === "bigint") {
      this.text += String(value);
    } else if (typeof value === "string") {
      if (isQuotable(value)) this.text += quote(value);
      else this.literal(Buffer.from(value, "utf8"));
    } else if (Buffer.isBuffer(value)) {
      this.literal(value);
    } else if (Array.isArray(value)) {
      this.text += "(";
      this.values(value);
      this.text += ")";
    } else if ("literal" in value) {
      this.literal(value.literal);
    } else {
      this.text += value.atom;
    }
  }

  values(values: readonly ImapValue[]): void {
    for (let i = 0; i < values.length; i++) {
      if (i > 0) this.text += " ";
      this.value(values[i] as ImapValue);
    }
  }

  take(): Buffer {
    this.flush();
    return this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces);
  }

  private literal(data: Buffer): void {
    this.text += `{${data.length}}\r\n`;
    this.flush();
    this.pieces.push(withoutNul(data));
  }

  private flush(): void {
    if (this.text === "") return;
    this.pieces.push(Buffer.from(this.text, "utf8"));
    this.text = "";
  }
}

/** Encodes one value as it appears on the wire. */
export function encodeValue(value: ImapValue): Buffer {
  const encoder = new Encoder();
  encoder.value(value);
  return encoder.take();
}

/**
 * The wire form of a value as text, when it needs no literal and is ASCII (so the same octets in any
 * encoding); else null. Lets a response builder join it to its own text instead of adding a Buffer.
 */
export function asciiWireText(value: ImapValue): string | null {
  const encoder = new Encoder();
  encoder.value(value);
  return encoder.pieces.length === 0 && ASCII.test(encoder.text) ? encoder.text : null;
}

const ASCII = /^[\x00-\x7f]*$/;

/** Encodes values separated by single spaces (the body of an untagged response). */
export function encodeValues(values: readonly ImapValue[]): Buffer {
  const encoder = new Encoder();
  encoder.values(values);
  return encoder.take();
}
