// The webmail's search language → JMAP filters: examples of each operator, and properties over
// generated queries (any string gives a filter or null without throwing; terms written out from a
// generated list parse back to exactly their conditions).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Filter, searchFilter } from "../../web/src/search.js";

describe("search box operators", () => {
  test("each operator maps to its JMAP condition; terms are ANDed", () => {
    assert.deepEqual(searchFilter("from:bob"), { from: "bob" });
    assert.deepEqual(searchFilter('To:alice subject:"lunch plans"'), {
      operator: "AND",
      conditions: [{ to: "alice" }, { subject: "lunch plans" }],
    });
    assert.deepEqual(searchFilter("is:unread has:attachment"), {
      operator: "AND",
      conditions: [{ notKeyword: "$seen" }, { hasAttachment: true }],
    });
    assert.deepEqual(searchFilter("is:flagged"), { hasKeyword: "$flagged" });
    assert.deepEqual(searchFilter("after:2024-03-01 before:2024/04/01"), {
      operator: "AND",
      conditions: [{ after: "2024-03-01T00:00:00Z" }, { before: "2024-04-01T00:00:00Z" }],
    });
  });

  test("free text is JMAP text, a word each, a quoted phrase whole; - negates", () => {
    assert.deepEqual(searchFilter("  invoice  "), { text: "invoice" });
    assert.deepEqual(searchFilter('"quarterly report" -draft -from:spam'), {
      operator: "AND",
      conditions: [
        { text: "quarterly report" },
        { operator: "NOT", conditions: [{ text: "draft" }] },
        { operator: "NOT", conditions: [{ from: "spam" }] },
      ],
    });
    assert.equal(searchFilter(""), null);
    assert.equal(searchFilter(' "" '), null);
  });

  test("what is not understood is searched as typed, not dropped", () => {
    assert.deepEqual(searchFilter("is:sideways"), { text: "is:sideways" });
    assert.deepEqual(searchFilter("before:2024-02-30"), { text: "before:2024-02-30" });
    assert.deepEqual(searchFilter("https://example.org"), { text: "https://example.org" });
    assert.deepEqual(searchFilter("from: bob"), {
      operator: "AND",
      conditions: [{ text: "from:" }, { text: "bob" }],
    });
  });

  test("any string gives a filter or null", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii" }), (query) => {
        const filter = searchFilter(query);
        assert.ok(filter === null || typeof filter === "object");
        if (query.trim() === "") assert.equal(filter, null);
      }),
    );
  });

  test("generated terms, written out, parse back to their conditions", () => {
    const word = fc.stringMatching(/^[a-z0-9@.]{1,8}$/).filter((value) => !value.startsWith("-"));
    const phrase = fc.stringMatching(/^[a-z0-9 ]{1,12}$/).filter((value) => value.trim() !== "");
    const day = fc
      .date({ min: new Date("1990-01-01"), max: new Date("2090-01-01"), noInvalidDate: true })
      .map((date) => date.toISOString().slice(0, 10));
    const term: fc.Arbitrary<[string, Filter]> = fc.oneof(
      fc
        .tuple(fc.constantFrom("from", "to", "subject"), word)
        .map(([key, value]): [string, Filter] => [`${key}:${value}`, { [key]: value }]),
      fc
        .tuple(fc.constantFrom("from", "to", "subject"), phrase)
        .map(([key, value]): [string, Filter] => [`${key}:"${value}"`, { [key]: value }]),
      fc
        .tuple(fc.constantFrom("before", "after"), day)
        .map(([key, value]): [string, Filter] => [`${key}:${value}`, { [key]: `${value}T00:00:00Z` }]),
      fc.constantFrom<[string, Filter]>(
        ["is:unread", { notKeyword: "$seen" }],
        ["has:attachment", { hasAttachment: true }],
      ),
      word.filter((value) => !value.includes(":")).map((value): [string, Filter] => [value, { text: value }]),
      phrase.map((value): [string, Filter] => [`"${value}"`, { text: value }]),
    );
    const negatable = fc
      .tuple(fc.boolean(), term)
      .map(([negated, [text, filter]]): [string, Filter] =>
        negated ? [`-${text}`, { operator: "NOT", conditions: [filter] }] : [text, filter],
      );
    fc.assert(
      fc.property(fc.array(negatable, { minLength: 1, maxLength: 6 }), (list) => {
        const conditions = list.map(([, filter]) => filter);
        const expected = conditions.length === 1 ? conditions[0] : { operator: "AND", conditions };
        assert.deepEqual(searchFilter(list.map(([text]) => text).join(" ")), expected);
      }),
    );
  });
});
