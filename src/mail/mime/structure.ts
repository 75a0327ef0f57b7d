/**
 * The MIME tree of a stored message (RFC 2045, RFC 2046), with byte offsets into the stored bytes so
 * that every IMAP section is an exact slice. Parsing never throws and is linear per nesting level.
 */
import { fieldValue, findField, type HeaderField, scanHeader } from "./header.js";
import {
  type Disposition,
  type MimeParameter,
  parameter,
  parseDisposition,
  parseLanguages,
  parseMediaType,
} from "./params.js";

export type { MimeParameter } from "./params.js";

/** Deeper multiparts and embedded messages are not split further (they become plain leaves). */
export const MAX_NESTING_DEPTH = 50;

export interface MessagePart {
  /** Offset of the first header byte (for a message, 0 or the start of the embedded message). */
  headerStart: number;
  /** Offset just past the header, including the blank line that ends it; equals bodyStart. */
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** The header fields of this part (the message header for a message, the MIME header for a part). */
  fields: HeaderField[];
  /** Media type and subtype, lower-cased for matching. */
  type: string;
  subtype: string;
  /** Media type and subtype as written (or the RFC 2045 §5.2 / RFC 2046 §5.1.5 default). */
  typeRaw: string;
  subtypeRaw: string;
  params: MimeParameter[];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as written; null when absent (7bit by RFC 2045 §6.1). */
  encoding: string | null;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  /** Body size in octets; bodyLines gives it in lines. */
  size: number;
  /** The body parts of a multipart; always at least one for a multipart, empty otherwise. */
  children: MessagePart[];
  /** For message/rfc822 and message/global: the embedded message. */
  message: MessagePart | null;
}

interface ContentDefaults {
  type: string;
  subtype: string;
  params: MimeParameter[];
}

const TEXT_PLAIN: ContentDefaults = {
  type: "text",
  subtype: "plain",
  params: [{ name: "charset", value: "us-ascii" }],
};
// RFC 2046 §5.1.5: in a multipart/digest the default body part type is message/rfc822.
const MESSAGE_RFC822: ContentDefaults = { type: "message", subtype: "rfc822", params: [] };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Body size in text lines (an unterminated last line counts), for IMAP's BODYSTRUCTURE. Counted when
 * asked rather than while parsing: nothing else reads it, and counting took nearly half of each
 * message's parse in a JMAP message list.
 */
export function bodyLines(message: Buffer, part: MessagePart): number {
  return countLines(message, part.bodyStart, part.bodyEnd);
}

function countLines(message: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  let lines = 0;
  let pos = start;
  const body = message.subarray(0, end);
  for (;;) {
    const at = body.indexOf(LF, pos);
    if (at < 0) break;
    lines++;
    pos = at + 1;
  }
  return message[end - 1] === LF ? lines : lines + 1;
}

function optionalValue(message: Buffer, fields: readonly HeaderField[], key: string): string | null {
  const field = findField(fields, key);
  return field === undefined ? null : fieldValue(message, field);
}

export function isMultipart(part: MessagePart): boolean {
  return part.type === "multipart";
}

export function isEmbeddedMessage(part: MessagePart): boolean {
  return part.type === "message" && (part.subtype === "rfc822" || part.subtype === "global");
}

interface Span {
  start: number;
  end: number;
}

/**
 * Splits a multipart body at its delimiter lines (RFC 2046 §5.1.1): a delimiter is "--" boundary at the
 * start of a line followed only by linear whitespace; the close delimiter adds "--". The CRLF before a
 * delimiter belongs to the delimiter, so it is not part of the preceding body part. Text before the first
 * delimiter (preamble) and after the close delimiter (epilogue) belongs to no part.
 */
function splitMultipart(message: Buffer, start: number, end: number, boundary: string): Span[] {
  const marker = Buffer.from(`--${boundary}`, "latin1");
  const spans: Span[] = [];
  let open: number | null = null;
  let pos = start;
  while (pos < end) {
    const found = message.subarray(pos, end).indexOf(LF);
    const lineEnd = found < 0 ? end : pos + found + 1;
    if (
      lineEnd - pos >= marker.length &&
      message.compare(marker, 0, marker.length, pos, pos + marker.length) === 0
    ) {
      let rest = pos + marker.length;
      const isClose = message[rest] === 0x2d && message[rest + 1] === 0x2d && rest + 2 <= lineEnd;
      if (isClose) rest += 2;
      let onlySpace = true;
      for (let i = rest; i < lineEnd; i++) {
        const c = message[i];
        if (c !== 0x20 && c !== 0x09 && c !== CR && c !== LF) {
          onlySpace = false;
          break;
        }
      }
      if (isClose || onlySpace) {
        if (open !== null) {
          let partEnd = pos;
          if (partEnd > open && message[partEnd - 1] === LF) partEnd--;
          if (partEnd > open && message[partEnd - 1] === CR) partEnd--;
          spans.push({ start: open, end: partEnd });
        }
        if (isClose) return spans;
        open = lineEnd;
      }
    }
    pos = lineEnd;
  }
  if (open !== null) spans.push({ start: open, end });
  return spans;
}

function leaf(start: number, end: number, defaults: ContentDefaults): MessagePart {
  return {
    headerStart: start,
    headerEnd: start,
    bodyStart: start,
    bodyEnd: end,
    fields: [],
    type: defaults.type,
    subtype: defaults.subtype,
    typeRaw: defaults.type,
    subtypeRaw: defaults.subtype,
    params: defaults.params,
    id: null,
    description: null,
    encoding: null,
    md5: null,
    disposition: null,
    language: null,
    location: null,
    size: end - start,
    children: [],
    message: null,
  };
}

function parsePart(message: Buffer, start: number, end: number, depth: number, defaults: ContentDefaults) {
  const { fields, bodyStart } = scanHeader(message, start, end);
  const contentType = optionalValue(message, fields, "content-type");
  const media = contentType === null ? null : parseMediaType(contentType);
  const dispositionText = optionalValue(message, fields, "content-disposition");
  const languageText = optionalValue(message, fields, "content-language");
  const effective = media ?? defaults;
  const part: MessagePart = {
    headerStart: start,
    headerEnd: bodyStart,
    bodyStart,
    bodyEnd: end,
    fields,
    type: effective.type.toLowerCase(),
    subtype: effective.subtype.toLowerCase(),
    typeRaw: effective.type,
    subtypeRaw: effective.subtype,
    // RFC 2045 §5.2: a missing or unparsable Content-Type means text/plain; charset=us-ascii.
    params: effective.params,
    id: optionalValue(message, fields, "content-id"),
    description: optionalValue(message, fields, "content-description"),
    encoding: optionalValue(message, fields, "content-transfer-encoding"),
    md5: optionalValue(message, fields, "content-md5"),
    disposition: dispositionText === null ? null : parseDisposition(dispositionText),
    language: languageText === null ? null : parseLanguages(languageText),
    location: optionalValue(message, fields, "content-location"),
    size: end - bodyStart,
    children: [],
    message: null,
  };
  if (part.language !== null && part.language.length === 0) part.language = null;

  if (isMultipart(part)) {
    const boundary = parameter(part.params, "boundary");
    if (depth < MAX_NESTING_DEPTH && boundary !== undefined && boundary !== "") {
      const childDefaults = part.subtype === "digest" ? MESSAGE_RFC822 : TEXT_PLAIN;
      for (const span of splitMultipart(message, bodyStart, end, boundary)) {
        part.children.push(parsePart(message, span.start, span.end, depth + 1, childDefaults));
      }
    }
    // IMAP's body-type-mpart needs at least one body (RFC 9051 §9). A multipart whose boundary never
    // occurs (or is missing, or lies too deep) is shown as one text/plain part holding the whole body,
    // so its content stays reachable as part 1.
    if (part.children.length === 0) part.children.push(leaf(bodyStart, end, TEXT_PLAIN));
  } else if (isEmbeddedMessage(part)) {
    part.message =
      depth < MAX_NESTING_DEPTH
        ? parsePart(message, bodyStart, end, depth + 1, TEXT_PLAIN)
        : leaf(bodyStart, end, TEXT_PLAIN);
  }
  return part;
}

/** Parses the MIME structure of a whole stored message. */
export function parseMessageStructure(message: Buffer): MessagePart {
  return parsePart(message, 0, message.length, 0, TEXT_PLAIN);
}
