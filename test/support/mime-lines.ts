// Line soup for MIME property tests: lines a MIME parser meets at its edges (delimiters, nested types,
// RFC 2231 and RFC 2047 text, folding) mixed with random text.

import fc from "fast-check";

const EDGE_LINES = [
  "",
  "--b",
  "--b--",
  "--c",
  "--c--",
  "Content-Type: multipart/mixed; boundary=c",
  "Content-Type: message/rfc822",
  'Content-Type: multipart/digest; boundary="b"',
  "Content-Type: text/plain; charset*0*=utf-8''%C3; charset*1*=%A9",
  'From: "a" <b@c>, (x) d@e, g: h@i;',
  "To: =?utf-8?q?=C3=A9?= <@route,@r2:x@y>",
  " folded",
  "Content-Transfer-Encoding: base64",
];

/** One line: an edge line, one of `extra`, or up to 30 random characters. */
export function mimeLineArb(...extra: string[]): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom(...EDGE_LINES, ...extra), fc.string({ maxLength: 30 }));
}
