// SUBJECT and HEADER answered from a header block must agree with the same keys answered from the whole
// message, whose fields are always decoded one by one: the block path first rules messages out by a
// plain text test (evaluate.ts, holdsNowhere), which must never rule out a match.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { evaluate } from "../../../src/imap/search/evaluate.js";
import type { SearchContext, SearchData, SearchKey } from "../../../src/imap/search/types.js";
import { headerBlockOf } from "../../../src/store/header-capture.js";

const context: SearchContext = { maxSeq: 1, maxUid: 1, savedUids: new Set() };
const data: SearchData = {
  seq: 1,
  uid: 1,
  flags: [],
  internalDate: new Date("2025-01-01T00:00:00Z"),
  savedDate: new Date("2025-01-01T00:00:00Z"),
  size: 100,
  modseq: 1,
};

/** Pieces that make folds, encoded words, case and non-ASCII text meet the search string. */
const piece = fc.constantFrom(
  "Quarterly",
  "quar",
  "terly",
  "QUARTERLY",
  " ",
  "\r\n ",
  "\r\n\t",
  "=?UTF-8?Q?quart=C3=A9rly?=",
  "=?UTF-8?B?UXVhcnRlcmx5?=",
  "=?",
  "é",
  "ﬁ",
  "K",
  "report",
  "-",
  ":",
);
const value = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(""));
const fieldName = fc.constantFrom("Subject", "subject", "X-Note", "Comments");
const header = fc.array(fc.tuple(fieldName, value), { minLength: 1, maxLength: 4 });
const wanted = fc.oneof(value, fc.constantFrom("quarterly", "fi", "k", "", "quar terly", "é"));

function sameFromBlockAndMessage(fields: Array<[string, string]>, name: string, text: string): void {
  const raw = Buffer.from(
    `${fields.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\nthe body: quarterly fi\r\n`,
    "utf8",
  );
  const block = headerBlockOf(raw);
  assert.ok(block !== null);
  const keys: SearchKey[] = [
    { type: "header", field: "subject", value: text },
    { type: "header", field: name, value: text },
  ];
  for (const key of keys) {
    assert.equal(
      evaluate(key, { ...data, header: block }, context),
      evaluate(key, { ...data, message: raw }, context),
      `${JSON.stringify(key)} on ${JSON.stringify(raw.toString("utf8"))}`,
    );
  }
}

test("folds, encoded words and compatibility forms are matched from a header block too", () => {
  sameFromBlockAndMessage([["Subject", "quar\r\n terly"]], "Subject", "quar terly");
  sameFromBlockAndMessage([["Subject", "quar\r\n\tterly"]], "Subject", "quar\tterly");
  sameFromBlockAndMessage([["Subject", "=?UTF-8?B?UXVhcnRlcmx5?="]], "Subject", "quarterly");
  sameFromBlockAndMessage([["Subject", "\uFB01nance"]], "Subject", "fi");
  sameFromBlockAndMessage([["X-Note", "\u212Aelvin"]], "X-Note", "k");
  sameFromBlockAndMessage([["Subject", "Quarterly"]], "Subject", "");
});

test("a header key decides the same from the header block as from the whole message", () => {
  fc.assert(
    fc.property(header, fieldName, wanted, (fields, name, text) => {
      sameFromBlockAndMessage(fields, name, text);
    }),
    { numRuns: 2000 },
  );
});
