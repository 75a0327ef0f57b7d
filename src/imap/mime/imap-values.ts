/** Helpers for building ENVELOPE and BODYSTRUCTURE values (RFC 9051 §9 grammar). */
import { encodeValue, type ImapValue } from "../protocol/value.js";

/**
 * An nstring. Text with non-ASCII characters is sent as a literal of its UTF-8 bytes, because a quoted
 * string may carry 8-bit text only to clients that enabled UTF8=ACCEPT (RFC 9051 §4.3, RFC 6855).
 */
export function nstring(text: string | null): ImapValue {
  if (text === null) return null;
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, "utf8");
}

/**
 * Values written one after another with no space between them: RFC 9051 §9 has `1*body` inside a
 * multipart and `"(" 1*address ")"` in an envelope, with no separator. Every string this module builds
 * is valid UTF-8, so the encoded bytes survive the round trip through an atom unchanged.
 */
export function adjacent(values: readonly ImapValue[]): ImapValue {
  return { atom: values.map((v) => encodeValue(v).toString("utf8")).join("") };
}
