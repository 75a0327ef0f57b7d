/** BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, grammar in §9: body, body-type-1part, body-type-mpart). */

import type { MimeParameter } from "../../mail/mime/params.js";
import { bodyLines, isEmbeddedMessage, isMultipart, type MessagePart } from "../../mail/mime/structure.js";
import type { ImapValue } from "../protocol/value.js";
import { envelopeOf } from "./envelope.js";
import { adjacent, nstring } from "./imap-values.js";

// RFC 2231 §7 attribute-char: what may stay unescaped in an extended value.
const ATTRIBUTE_CHAR = /^[A-Za-z0-9!#$&+\-.^_`{|}~]$/;

/**
 * A parameter as a name/value pair. Values were RFC 2231-decoded while parsing; one that is not plain
 * ASCII is written back as a single RFC 2231 extended parameter in UTF-8, so the response stays 7-bit
 * and clients decode it the same way they decode a raw header.
 */
function parameterPair(p: MimeParameter): ImapValue[] {
  if (/^[\x00-\x7f]*$/.test(p.value)) return [p.name, p.value];
  let encoded = "utf-8''";
  for (const byte of Buffer.from(p.value, "utf8")) {
    const c = String.fromCharCode(byte);
    encoded += ATTRIBUTE_CHAR.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return [`${p.name}*`, encoded];
}

function parameterList(params: readonly MimeParameter[]): ImapValue {
  return params.length === 0 ? null : params.flatMap(parameterPair);
}

function dispositionValue(part: MessagePart): ImapValue {
  const d = part.disposition;
  return d === null ? null : [nstring(d.type), parameterList(d.params)];
}

function languageValue(part: MessagePart): ImapValue {
  const langs = part.language;
  if (langs === null) return null;
  return langs.length === 1 ? nstring(langs[0] ?? null) : langs.map((l) => nstring(l));
}

function extensionFields(part: MessagePart): ImapValue[] {
  return [dispositionValue(part), languageValue(part), nstring(part.location)];
}

function bodyFields(part: MessagePart): ImapValue[] {
  return [
    parameterList(part.params),
    nstring(part.id),
    nstring(part.description),
    nstring(part.encoding ?? "7bit"),
    part.size,
  ];
}

/** BODY (extended = false) or BODYSTRUCTURE (extended = true) of a message or part. */
export function bodyStructureOf(part: MessagePart, message: Buffer, extended: boolean): ImapValue {
  if (isMultipart(part)) {
    const children = adjacent(part.children.map((child) => bodyStructureOf(child, message, extended)));
    const value: ImapValue[] = [children, nstring(part.subtypeRaw)];
    if (extended) value.push(parameterList(part.params), ...extensionFields(part));
    return value;
  }
  const value: ImapValue[] = [nstring(part.typeRaw), nstring(part.subtypeRaw), ...bodyFields(part)];
  if (isEmbeddedMessage(part) && part.message !== null) {
    value.push(
      envelopeOf(part.message, message),
      bodyStructureOf(part.message, message, extended),
      bodyLines(message, part),
    );
  } else if (part.type === "text") {
    value.push(bodyLines(message, part));
  }
  if (extended) value.push(nstring(part.md5), ...extensionFields(part));
  return value;
}
