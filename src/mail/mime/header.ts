/**
 * Header block scanning (RFC 5322 §2.2): finds the fields of a header and where the body starts, with
 * byte offsets into the stored message so sections can be cut out exactly.
 */
import { isAscii } from "node:buffer";
import { TextDecoder } from "node:util";

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

export interface HeaderField {
  /** Field name as written, e.g. "Content-Type". Empty for a line that is not a field (no colon). */
  name: string;
  /** Lower-cased name, for matching. */
  key: string;
  /** Offset of the first byte of the field. */
  start: number;
  /** Offset just past the field's last line terminator (continuation lines included). */
  end: number;
  /** Offset of the first byte after the colon. */
  valueStart: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Offset just past the blank line that ends the header; equals `end` when there is no blank line. */
  bodyStart: number;
}

/** Offset just past the next LF at or after `pos`, or `end` when the range holds no more LF. */
export function nextLine(message: Buffer, pos: number, end: number): number {
  // Up to the buffer's end an offset search will do, with no subarray per line (a header is scanned
  // line by line); a range ending earlier must not look past its end.
  const at = end === message.length ? message.indexOf(LF, pos) : message.subarray(pos, end).indexOf(LF) + pos;
  return at < pos ? end : at + 1;
}

/** Scans the header in [start, end): fields up to the first empty line. */
export function scanHeader(message: Buffer, start: number, end: number): HeaderBlock {
  const fields: HeaderField[] = [];
  let pos = start;
  let current: HeaderField | null = null;
  while (pos < end) {
    const lineEnd = nextLine(message, pos, end);
    const first = message[pos];
    const isBlank = first === LF || (first === CR && (pos + 1 === end || message[pos + 1] === LF));
    if (isBlank) return { fields, bodyStart: lineEnd };
    if (current !== null && (first === SP || first === HTAB)) {
      current.end = lineEnd;
    } else {
      let colon = -1;
      for (let i = pos; i < lineEnd; i++) {
        if (message[i] === COLON) {
          colon = i - pos;
          break;
        }
      }
      const name = colon < 0 ? "" : message.toString("latin1", pos, pos + colon).trimEnd();
      // A line without a colon (or with spaces in the name) is not a field; it is kept so offsets stay
      // contiguous, but it never matches a field name.
      const valid = colon > 0 && !/[\s]/.test(name);
      current = {
        name: valid ? name : "",
        key: valid ? name.toLowerCase() : "",
        start: pos,
        end: lineEnd,
        valueStart: colon < 0 ? lineEnd : pos + colon + 1,
      };
      fields.push(current);
    }
    pos = lineEnd;
  }
  return { fields, bodyStart: end };
}

/**
 * A header's fields in compact form, for header blocks kept across commands (src/imap/caches.ts): a
 * HeaderBlock holds an object and two strings per field, several times the octets of the block itself;
 * this holds two offsets per field and a name shared with every other block's field of that name.
 */
export interface FieldIndex {
  /** Each field's HeaderField.key: its lower-cased name, "" for a line that is not a field. */
  readonly keys: readonly string[];
  /** Each field's start and end offset (HeaderField.start, .end), in pairs. */
  readonly bounds: Uint32Array;
  readonly bodyStart: number;
}

/** Distinct names shared between indexes; bounded, as field names are the sender's to choose. */
const SHARED_KEYS = 4096;
const sharedKeys = new Map<string, string>();

function sharedKey(key: string): string {
  const known = sharedKeys.get(key);
  if (known !== undefined) return known;
  if (sharedKeys.size < SHARED_KEYS) sharedKeys.set(key, key);
  return key;
}

export function indexFields(header: HeaderBlock): FieldIndex {
  const { fields } = header;
  const keys: string[] = new Array(fields.length);
  const bounds = new Uint32Array(fields.length * 2);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as HeaderField;
    keys[i] = sharedKey(field.key);
    bounds[2 * i] = field.start;
    bounds[2 * i + 1] = field.end;
  }
  return { keys, bounds, bodyStart: header.bodyStart };
}

/** About what an index takes in memory: its offsets, a reference per name, and the objects around them. */
export function fieldIndexBytes(index: FieldIndex): number {
  return index.bounds.byteLength + index.keys.length * 8 + 200;
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Bytes as text: UTF-8 when they are valid UTF-8 (RFC 6532), otherwise Latin-1, never failing. */
export function bytesToText(bytes: Uint8Array): string {
  if (!isAscii(bytes)) {
    try {
      return utf8Strict.decode(bytes);
    } catch {
      // Not UTF-8: Latin-1 below.
    }
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The field's value unfolded (RFC 5322 §2.2.3: CRLF before WSP removed) and trimmed, undecoded. */
export function fieldValue(message: Buffer, field: HeaderField): string {
  return bytesToText(message.subarray(field.valueStart, field.end))
    .replace(/\r?\n(?=[ \t])/g, "")
    .replace(/\r?\n$/, "")
    .trim();
}

export function findField(fields: readonly HeaderField[], key: string): HeaderField | undefined {
  return fields.find((f) => f.key === key);
}

/** Removes RFC 5322 comments, leaving quoted strings and <…> alone (a URL may hold parentheses). */
export function withoutComments(text: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? "";
    if (depth > 0) {
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
      continue;
    }
    if (c === "(" && !quoted && !angle) {
      depth = 1;
      out += " ";
      continue;
    }
    if (c === '"' && !angle) quoted = !quoted;
    else if (c === "<" && !quoted) angle = true;
    else if (c === ">" && !quoted) angle = false;
    out += c;
  }
  return out;
}
