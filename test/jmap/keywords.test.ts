// IMAP flags ⇄ JMAP keywords (RFC 8621 §4.1.1).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { flagOf, isValidKeyword, keywordOf, keywordsOf } from "../../src/jmap/keywords.js";

describe("keywords", () => {
  test("system flags map to $-keywords and back; other keywords are lower-cased; \\Recent has none", () => {
    assert.deepEqual(
      keywordsOf([
        "\\Seen",
        "\\Answered",
        "\\Flagged",
        "\\Draft",
        "\\Deleted",
        "\\Recent",
        "Work",
        "$Forwarded",
      ]),
      {
        $seen: true,
        $answered: true,
        $flagged: true,
        $draft: true,
        $deleted: true,
        work: true,
        $forwarded: true,
      },
    );
    assert.equal(flagOf("$Seen"), "\\Seen");
    assert.equal(flagOf("$junk"), "$junk");
    assert.equal(keywordOf("\\SEEN"), "$seen");
  });

  test("valid keywords are IMAP atoms of 1-255 characters", () => {
    for (const good of ["$seen", "work", "a]b".replace("]", "_"), "x".repeat(255)])
      assert.ok(isValidKeyword(good), good);
    for (const bad of ["", "a b", "a(b", "a]b", "a%b", "a*b", 'a"b', "a\\b", "a{b", "é", "x".repeat(256)]) {
      assert.ok(!isValidKeyword(bad), bad);
    }
  });

  test("a valid keyword survives keyword → flag → keyword", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[!#$&'+,\-./0-9:;<=>?@A-Z[^_`a-z|}~]{1,40}$/), (keyword) => {
        assert.equal(keywordOf(flagOf(keyword)), keyword.toLowerCase());
      }),
    );
  });
});
