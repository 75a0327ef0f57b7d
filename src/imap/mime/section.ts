/**
 * Body sections (RFC 9051 §6.4.5 BODY[section]) and decoded binary sections (RFC 3516 BINARY[part]):
 * exact slices of the stored bytes, located through the MIME tree.
 */
import type { FieldIndex, HeaderField } from "../../mail/mime/header.js";
import { isEmbeddedMessage, isMultipart, type MessagePart } from "../../mail/mime/structure.js";
import { decodeTransfer, transferEncodingOf } from "../../mail/mime/transfer-encoding.js";

export interface SectionSpec {
  part: number[];
  text?: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  fields?: string[];
}

const CRLF = Buffer.from("\r\n");

/**
 * Finds the body part a part number names (RFC 9051 §6.4.5): the parts of a multipart are numbered from 1;
 * a message that is not multipart has only part 1, its own body; a part number after a message/rfc822
 * part numbers the parts of the embedded message. null when no such part exists.
 */
export function resolvePart(root: MessagePart, path: readonly number[]): MessagePart | null {
  let scope = root;
  let scopeIsMessage = true;
  let selected: MessagePart | null = null;
  for (const n of path) {
    if (!Number.isInteger(n) || n < 1) return null;
    if (isMultipart(scope)) {
      selected = scope.children[n - 1] ?? null;
    } else if (scopeIsMessage && n === 1) {
      selected = scope;
    } else {
      return null;
    }
    if (selected === null) return null;
    if (selected.message !== null && isEmbeddedMessage(selected)) {
      scope = selected.message;
      scopeIsMessage = true;
    } else {
      scope = selected;
      scopeIsMessage = false;
    }
  }
  return selected;
}

/** The message whose HEADER/TEXT a section names: the whole message, or an embedded message/rfc822. */
function messageAt(root: MessagePart, path: readonly number[]): MessagePart | null {
  if (path.length === 0) return root;
  const part = resolvePart(root, path);
  return part?.message ?? null;
}

function headerFields(
  message: Buffer,
  fields: readonly HeaderField[],
  names: readonly string[],
  keep: boolean,
): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const lines: Buffer[] = [];
  for (const field of fields) {
    if (field.key === "") continue;
    if (wanted.has(field.key) === keep) lines.push(message.subarray(field.start, field.end));
  }
  // RFC 9051 §6.4.5: the subset "includes the blank line" that ends a header.
  lines.push(CRLF);
  return Buffer.concat(lines);
}

/** The octets of a BODY[section], or null when the section names a part that does not exist. */
export function sectionBytes(message: Buffer, part: MessagePart, section: SectionSpec): Buffer | null {
  const { text } = section;
  if (text === undefined) {
    if (section.part.length === 0) return message.subarray(part.headerStart, part.bodyEnd);
    const target = resolvePart(part, section.part);
    return target === null ? null : message.subarray(target.bodyStart, target.bodyEnd);
  }
  if (text === "MIME") {
    // RFC 9051 §6.4.5: MIME "MUST be prefixed by one or more numeric part specifiers".
    if (section.part.length === 0) return null;
    const target = resolvePart(part, section.part);
    return target === null ? null : message.subarray(target.headerStart, target.headerEnd);
  }
  const owner = messageAt(part, section.part);
  if (owner === null) return null;
  switch (text) {
    case "HEADER":
      return message.subarray(owner.headerStart, owner.headerEnd);
    case "TEXT":
      return message.subarray(owner.bodyStart, owner.bodyEnd);
    case "HEADER.FIELDS":
      return headerFields(message, owner.fields, section.fields ?? [], true);
    case "HEADER.FIELDS.NOT":
      return headerFields(message, owner.fields, section.fields ?? [], false);
  }
}

/**
 * HEADER, HEADER.FIELDS and HEADER.FIELDS.NOT of the message itself (no part number) from its top-level
 * header alone: the same octets as sectionBytes gives, without parsing the MIME structure below it.
 */
export function topHeaderBytes(
  message: Buffer,
  header: FieldIndex,
  section: { text: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT"; fields?: readonly string[] },
): Buffer {
  if (section.text === "HEADER") return message.subarray(0, header.bodyStart);
  const keep = section.text === "HEADER.FIELDS";
  const wanted = fieldSet(section.fields ?? NO_FIELDS);
  const { keys, bounds } = header;
  // Measured first, so the answer is one buffer filled in place (a header FETCH of a whole mailbox
  // makes one per message).
  let length = CRLF.length;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key !== "" && wanted.has(key) === keep)
      length += (bounds[2 * i + 1] as number) - (bounds[2 * i] as number);
  }
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key !== "" && wanted.has(key) === keep) at += message.copy(out, at, bounds[2 * i], bounds[2 * i + 1]);
  }
  // RFC 9051 §6.4.5: the subset "includes the blank line" that ends a header.
  CRLF.copy(out, at);
  return out;
}

export interface HeaderFieldsSection {
  text: "HEADER.FIELDS" | "HEADER.FIELDS.NOT";
  fields?: readonly string[];
}

/**
 * What a HEADER.FIELDS or HEADER.FIELDS.NOT answer depends on, as a string: the kind and the set of
 * names, in any order or case.
 */
export function fieldListKey(section: HeaderFieldsSection): string {
  let key = listKeys.get(section);
  if (key === undefined) {
    key = `${section.text} ${[...fieldSet(section.fields ?? NO_FIELDS)].sort().join(" ")}`;
    listKeys.set(section, key);
  }
  return key;
}

/** By the parsed section itself, which every message of a command shares. */
const listKeys = new WeakMap<HeaderFieldsSection, string>();
const NO_FIELDS: readonly string[] = [];
/** The lower-cased names of a parsed section's field list, made once per command rather than per message. */
const fieldSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function fieldSet(names: readonly string[]): ReadonlySet<string> {
  let set = fieldSets.get(names);
  if (set === undefined) {
    set = new Set(names.map((n) => n.toLowerCase()));
    fieldSets.set(names, set);
  }
  return set;
}

/** Whether a section is the message's own HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT (see topHeaderBytes). */
export function isTopHeader(
  section: SectionSpec,
): section is SectionSpec & { text: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" } {
  return (
    section.part.length === 0 &&
    (section.text === "HEADER" || section.text === "HEADER.FIELDS" || section.text === "HEADER.FIELDS.NOT")
  );
}

/**
 * The content-transfer-decoded octets of BINARY[partPath] (RFC 3516 §4.2); null when the part does not
 * exist, "unknown-cte" when its Content-Transfer-Encoding is one this server cannot decode (the caller
 * answers NO [UNKNOWN-CTE]). An empty path is the whole message, which as a whole has no encoding.
 */
export function binaryBytes(
  message: Buffer,
  part: MessagePart,
  partPath: number[],
): Buffer | null | "unknown-cte" {
  if (partPath.length === 0) return message.subarray(part.headerStart, part.bodyEnd);
  const target = resolvePart(part, partPath);
  if (target === null) return null;
  const body = message.subarray(target.bodyStart, target.bodyEnd);
  // A multipart or an embedded message is a container; RFC 2045 §6.4 only allows identity encodings there.
  if (isMultipart(target) || isEmbeddedMessage(target)) return body;
  const encoding = transferEncodingOf(target.encoding);
  if (encoding === null) return "unknown-cte";
  return decodeTransfer(body, encoding);
}
