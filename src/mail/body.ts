// A message's body as JMAP defines it (RFC 8621 §4.1.4): the EmailBodyPart tree over the MIME tree, the
// flat textBody / htmlBody / attachments lists, decoded part contents, body values and the preview —
// shared by JMAP's Email and IMAP's PREVIEW (RFC 8970), so both show the same text.

import { htmlToText } from "./html-text.js";
import { decodeCharsetChecked } from "./mime/charset.js";
import { decodeEncodedWords } from "./mime/encoded-words.js";
import { parameter } from "./mime/params.js";
import { isMultipart, type MessagePart } from "./mime/structure.js";
import { decodeTransferChecked, transferEncodingOf } from "./mime/transfer-encoding.js";

export interface BodyPart {
  /** IMAP-style section numbers ("1", "2.1"); null exactly for a multipart (RFC 8621 §4.1.4). */
  partId: string | null;
  mime: MessagePart;
  /** "type/subtype", lower-cased, parameters stripped. */
  type: string;
  name: string | null;
  /** The Content-Disposition type, lower-cased; null without the field. */
  disposition: string | null;
  cid: string | null;
  charset: string | null;
  subParts: BodyPart[];
}

function partName(mime: MessagePart): string | null {
  // RFC 8621 §4.1.4: the RFC 2231 filename, else Content-Type's name; both decoded, since senders put
  // RFC 2047 words into either.
  const raw = parameter(mime.disposition?.params ?? [], "filename") ?? parameter(mime.params, "name");
  return raw === undefined ? null : decodeEncodedWords(raw).normalize("NFC");
}

function contentId(mime: MessagePart): string | null {
  if (mime.id === null) return null;
  const id = mime.id.replace(/\([^)]*\)/g, "").trim();
  const bare = id.startsWith("<") && id.endsWith(">") ? id.slice(1, -1).trim() : id;
  return bare === "" ? null : bare;
}

function buildPart(mime: MessagePart, path: string): BodyPart {
  const multipart = isMultipart(mime);
  const type = `${mime.type}/${mime.subtype}`;
  return {
    partId: multipart ? null : path || "1",
    mime,
    type,
    name: partName(mime),
    disposition: mime.disposition?.type.toLowerCase() ?? null,
    cid: contentId(mime),
    // RFC 8621 §4.1.4: the implicit charset of text (with or without Content-Type) is us-ascii.
    charset: parameter(mime.params, "charset") ?? (mime.type === "text" ? "us-ascii" : null),
    subParts: multipart
      ? mime.children.map((child, i) => buildPart(child, path === "" ? `${i + 1}` : `${path}.${i + 1}`))
      : [],
  };
}

/**
 * The EmailBodyPart tree of a message. An embedded message/rfc822 is a leaf: a client reads its
 * structure with Email/parse on the part's blob (RFC 8621 §4.1.4 attachments, §4.9).
 */
export function bodyTree(root: MessagePart): BodyPart {
  return buildPart(root, "");
}

/** Every part of the tree, depth first, the tree's root first. */
export function allParts(root: BodyPart): BodyPart[] {
  return [root, ...root.subParts.flatMap(allParts)];
}

export interface FlatBody {
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  attachments: BodyPart[];
}

function isInlineMediaType(type: string): boolean {
  return type.startsWith("image/") || type.startsWith("audio/") || type.startsWith("video/");
}

/**
 * The parseStructure algorithm of RFC 8621 §4.1.4, as the RFC gives it. textBody or htmlBody is null
 * inside an alternative once that branch chose the other kind of text.
 */
function parseStructure(
  parts: readonly BodyPart[],
  multipartType: string,
  inAlternative: boolean,
  htmlBodyIn: BodyPart[] | null,
  textBodyIn: BodyPart[] | null,
  attachments: BodyPart[],
): void {
  let htmlBody = htmlBodyIn;
  let textBody = textBodyIn;
  const textLength = textBody ? textBody.length : -1;
  const htmlLength = htmlBody ? htmlBody.length : -1;
  parts.forEach((part, i) => {
    const isInline =
      part.disposition !== "attachment" &&
      (part.type === "text/plain" || part.type === "text/html" || isInlineMediaType(part.type)) &&
      // In a multipart/related only the first part is the body; a named text part that is not first
      // is taken for an attachment.
      (i === 0 || (multipartType !== "related" && (isInlineMediaType(part.type) || part.name === null)));
    if (part.partId === null) {
      const subMultiType = part.mime.subtype;
      parseStructure(
        part.subParts,
        subMultiType,
        inAlternative || subMultiType === "alternative",
        htmlBody,
        textBody,
        attachments,
      );
    } else if (isInline) {
      if (multipartType === "alternative") {
        if (part.type === "text/plain") textBody?.push(part);
        else if (part.type === "text/html") htmlBody?.push(part);
        else attachments.push(part);
        return;
      }
      if (inAlternative) {
        if (part.type === "text/plain") htmlBody = null;
        if (part.type === "text/html") textBody = null;
      }
      textBody?.push(part);
      htmlBody?.push(part);
      if ((!textBody || !htmlBody) && isInlineMediaType(part.type)) attachments.push(part);
    } else {
      attachments.push(part);
    }
  });
  if (multipartType === "alternative" && textBody && htmlBody) {
    // Only an HTML alternative was found: it serves as the text body too, and the other way round.
    if (textLength === textBody.length && htmlLength !== htmlBody.length) {
      textBody.push(...htmlBody.slice(htmlLength));
    }
    if (htmlLength === htmlBody.length && textLength !== textBody.length) {
      htmlBody.push(...textBody.slice(textLength));
    }
  }
}

export function flattenBody(root: BodyPart): FlatBody {
  const flat: FlatBody = { textBody: [], htmlBody: [], attachments: [] };
  parseStructure([root], "mixed", false, flat.htmlBody, flat.textBody, flat.attachments);
  return flat;
}

export interface DecodedContent {
  bytes: Buffer;
  /** The Content-Transfer-Encoding is unknown (the bytes are as stored) or its data was damaged. */
  problem: boolean;
}

/** A part's body with its Content-Transfer-Encoding undone. */
export function decodedContent(message: Buffer, part: BodyPart): DecodedContent {
  const body = message.subarray(part.mime.bodyStart, part.mime.bodyEnd);
  const encoding = transferEncodingOf(part.mime.encoding);
  if (encoding === null) return { bytes: body, problem: true };
  const { bytes, malformed } = decodeTransferChecked(body, encoding);
  return { bytes, problem: malformed };
}

export interface PartText {
  text: string;
  /** RFC 8621 §4.1.4 isEncodingProblem: a transfer encoding or charset problem. */
  problem: boolean;
}

/**
 * A text part as a string, transfer encoding and charset decoded, its line ends as stored: what the
 * preview reads, which folds them with the other white space.
 */
export function partCharacters(content: DecodedContent, part: BodyPart): PartText {
  const decoded = decodeCharsetChecked(content.bytes, part.charset ?? "us-ascii");
  return { text: decoded.text, problem: content.problem || decoded.problem };
}

/** A part's characters (partCharacters) with CRLF as LF, as body values give them (RFC 8621 §4.1.4). */
export function lfLineEnds(characters: PartText): PartText {
  return { text: characters.text.replaceAll("\r\n", "\n"), problem: characters.problem };
}

function utf8Length(codePoint: number): number {
  // A lone surrogate is written as U+FFFD, three octets, as Buffer.from(…, "utf8") does.
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}

/**
 * Cuts `value` to at most `maxBytes` octets of UTF-8 (0: no limit), never inside a code point, and for
 * HTML not inside a tag (RFC 8621 §4.2 maxBodyValueBytes).
 */
export function truncateValue(
  value: string,
  maxBytes: number,
  html: boolean,
): { value: string; isTruncated: boolean } {
  if (maxBytes <= 0 || Buffer.byteLength(value, "utf8") <= maxBytes) return { value, isTruncated: false };
  let bytes = 0;
  let end = 0;
  for (const ch of value) {
    bytes += utf8Length(ch.codePointAt(0) ?? 0);
    if (bytes > maxBytes) break;
    end += ch.length;
  }
  let cut = value.slice(0, end);
  if (html) {
    const open = cut.lastIndexOf("<");
    if (open >= 0 && !cut.includes(">", open)) cut = cut.slice(0, open);
  }
  return { value: cut, isTruncated: true };
}

export const PREVIEW_LENGTH = 256;

/**
 * JavaScript's `\s` (ECMAScript WhiteSpace and LineTerminator, what String.prototype.trim removes):
 * the white space the preview folds.
 */
function isSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** UTF-16 units of the code point at `at`: 2 for a surrogate pair, else 1 (a lone surrogate too). */
function codePointUnits(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

/**
 * The preview (RFC 8621 §4.1.4): the text of the textBody's text parts (`textOf` decodes one) joined
 * by a space, HTML stripped, each run of white space made one space, trimmed, at most `length`
 * characters (code points, so no surrogate pair is split). It is built in one pass that stops at the
 * `length`th character: a list of 50 messages would otherwise spend most of its time folding and
 * splitting text that is thrown away. Parts after that are not decoded.
 */
export function preview(
  textBody: readonly BodyPart[],
  textOf: (part: BodyPart) => string,
  length = PREVIEW_LENGTH,
): string {
  let out = "";
  let count = 0;
  // White space since the last character taken: it becomes one space only once a character follows,
  // so the preview never ends on it unless the limit falls just after it.
  let space = false;
  for (const part of textBody) {
    if (count >= length) break;
    if (part.type !== "text/plain" && part.type !== "text/html") continue;
    const raw = textOf(part);
    const text = part.type === "text/html" ? htmlToText(raw) : raw;
    space = true;
    let at = 0;
    while (at < text.length && count < length) {
      if (isSpace(text.charCodeAt(at))) {
        space = true;
        at++;
        continue;
      }
      if (space && out !== "") {
        out += " ";
        count++;
        if (count >= length) break;
      }
      space = false;
      const start = at;
      while (at < text.length && count < length && !isSpace(text.charCodeAt(at))) {
        at += codePointUnits(text, at);
        count++;
      }
      out += text.slice(start, at);
    }
  }
  return out;
}

/** The preview of a message already parsed into `root`, its parts decoded as they are needed. */
export function messagePreview(message: Buffer, root: MessagePart, length = PREVIEW_LENGTH): string {
  const { textBody } = flattenBody(bodyTree(root));
  return preview(textBody, (part) => partCharacters(decodedContent(message, part), part).text, length);
}
