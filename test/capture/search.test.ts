import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_QUERY_LENGTH, parseSearch, searchTerms } from "../../src/capture/search.js";

describe("Mailpit search queries as JMAP filters", () => {
  test("one term is its condition; several are ANDed; - and ! negate", () => {
    assert.deepEqual(parseSearch("from:app@example.test"), { filter: { from: "app@example.test" } });
    assert.deepEqual(parseSearch('subject:"order 42" -is:read !has:attachment'), {
      filter: {
        operator: "AND",
        conditions: [
          { subject: "order 42" },
          { operator: "NOT", conditions: [{ hasKeyword: "$seen" }] },
          { operator: "NOT", conditions: [{ hasAttachment: true }] },
        ],
      },
    });
    assert.deepEqual(parseSearch("welcome"), { filter: { text: "welcome" } });
    assert.deepEqual(parseSearch("is:unread"), { filter: { notKeyword: "$seen" } });
    assert.deepEqual(parseSearch("message-id:abc@x.test"), {
      filter: { header: ["message-id", "abc@x.test"] },
    });
    assert.deepEqual(parseSearch("addressed:bob@x.test"), {
      filter: {
        operator: "OR",
        conditions: [{ to: "bob@x.test" }, { cc: "bob@x.test" }, { bcc: "bob@x.test" }],
      },
    });
  });

  test("dates and sizes", () => {
    assert.deepEqual(parseSearch("after:2024-01-31"), { filter: { after: "2024-01-31T00:00:00Z" } });
    assert.deepEqual(parseSearch("before:2024-01-31T10:00:00Z"), {
      filter: { before: "2024-01-31T10:00:00Z" },
    });
    assert.deepEqual(parseSearch("larger:1K"), { filter: { minSize: 1025 } });
    assert.deepEqual(parseSearch("smaller:2M"), { filter: { maxSize: 2 * 1024 * 1024 - 1 } });
  });

  test("what mailroom cannot search for is an error that says why", () => {
    for (const [query, words] of [
      ["tag:backups", /keeps no tags/],
      ["is:starred", /is:read or is:unread/],
      ["has:inline", /has:attachment/],
      ["before:yesterday", /date such as/],
      ["larger:lots", /size such as/],
      ["   ", /empty/],
      ["x".repeat(MAX_QUERY_LENGTH + 1), /longer than/],
    ] as const) {
      const parsed = parseSearch(query);
      assert.ok("error" in parsed, query);
      assert.match(parsed.error, words);
    }
  });

  test("property: any text parses to a filter or an error, never throws", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (query) => {
        const parsed = parseSearch(query);
        assert.ok("filter" in parsed !== "error" in parsed);
      }),
    );
  });

  test("property: unquoted words come back as the terms, in order, negation taken off", () => {
    const word = fc.stringMatching(/^[a-z0-9@.:]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), word), { minLength: 1, maxLength: 8 }), (words) => {
        const query = words.map(([negated, text]) => `${negated ? "-" : ""}${text}`).join("  ");
        assert.deepEqual(
          searchTerms(query),
          words.map(([negated, text]) => ({ negated, text })),
        );
      }),
    );
  });

  test("property: a quoted phrase is one term whatever spaces it holds", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z ]{1,30}$/), (phrase) => {
        const terms = searchTerms(`subject:"${phrase}"`);
        if (phrase.length === 0) return;
        assert.deepEqual(terms, [{ negated: false, text: `subject:${phrase}` }]);
      }),
    );
  });
});
