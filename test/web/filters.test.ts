// The Filters page's rule compiler: the Sieve it writes for examples of each condition and action, that
// the server's own engine accepts every script it writes, that any rules it writes parse back to
// exactly themselves, and that a script edited elsewhere is not taken for one of its own.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { check } from "../../src/sieve/index.js";
import {
  compileRules,
  emptyRule,
  MARKER,
  parseRules,
  type Rule,
  ruleProblem,
} from "../../web/src/filters.js";

const rule = (fields: Partial<Rule>): Rule => ({ ...emptyRule(), ...fields });

describe("webmail filter rules → Sieve", () => {
  test("each condition and action, in the one order they are written", () => {
    const source = compileRules([
      rule({ field: "from", value: "boss@example.com", moveTo: "Work/Boss", flag: true, stop: true }),
      rule({ field: "subject", match: "matches", value: '*"urgent"*', markRead: true }),
      rule({ field: "header", header: "List-Id", match: "is", value: "dev\\list", discard: true }),
      rule({ field: "to", value: "me+shop", redirectTo: "other@example.net" }),
    ]);
    assert.equal(
      source,
      `${MARKER}
require ["fileinto", "imap4flags", "mailbox"];
if header :contains "from" "boss@example.com" {
  addflag "\\\\Flagged";
  fileinto :create "Work/Boss";
  stop;
}
if header :matches "subject" "*\\"urgent\\"*" {
  addflag "\\\\Seen";
}
if header :is "List-Id" "dev\\\\list" {
  discard;
}
if header :contains "to" "me+shop" {
  redirect "other@example.net";
}
`,
    );
    assert.deepEqual(check(source), []);
  });

  test("only the extensions used are required; no rules is a script that keeps everything", () => {
    assert.equal(compileRules([]), `${MARKER}\n`);
    assert.deepEqual(check(compileRules([])), []);
    assert.equal(
      compileRules([rule({ value: "x", discard: true })]).split("\n")[1],
      'if header :contains "from" "x" {',
    );
  });

  test("a rule without text, header name, mailbox, address or action is refused, in words", () => {
    assert.equal(ruleProblem(rule({ value: "", discard: true })), "give the text to look for");
    assert.equal(
      ruleProblem(rule({ field: "header", header: "", value: "x", discard: true })),
      "give the header's name",
    );
    assert.equal(ruleProblem(rule({ value: "x" })), "choose what to do");
    assert.equal(ruleProblem(rule({ value: "x", moveTo: "" })), "choose the mailbox to move to");
    assert.equal(ruleProblem(rule({ value: "x", redirectTo: "nobody" })), "give an address to redirect to");
    assert.equal(ruleProblem(rule({ value: "x", moveTo: "Lists" })), null);
  });

  const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
  const rules = fc.array(
    fc.record({
      field: fc.constantFrom("from", "to", "subject", "header"),
      header: fc.constantFrom("List-Id", "X-Spam", "Reply-To"),
      match: fc.constantFrom("contains", "is", "matches"),
      value: text,
      moveTo: fc.option(text, { nil: null }),
      markRead: fc.boolean(),
      flag: fc.boolean(),
      redirectTo: fc.option(fc.constantFrom("a@example.org", "b+c@example.net"), { nil: null }),
      discard: fc.boolean(),
      stop: fc.boolean(),
    }),
    { maxLength: 5 },
  );
  /** The form keeps a header name only for field "header". */
  const normal = (each: Rule): Rule => ({ ...each, header: each.field === "header" ? each.header : "" });

  test("any rules compile to a valid script that parses back to exactly those rules", () => {
    fc.assert(
      fc.property(rules, (generated) => {
        const written = (generated as Rule[]).map(normal);
        const source = compileRules(written);
        assert.deepEqual(check(source), []);
        assert.deepEqual(parseRules(source), written);
      }),
    );
  });

  test("a script edited elsewhere, or never written here, is not read as rules", () => {
    const source = compileRules([rule({ value: "x", moveTo: "Lists", stop: true })]);
    assert.deepEqual(parseRules(source), [rule({ value: "x", moveTo: "Lists", stop: true })]);
    assert.equal(parseRules(source.replace("stop;", "keep;")), null);
    assert.equal(parseRules(source.replace("  stop;\n", "  stop;\n  # mine\n")), null);
    assert.equal(parseRules(source.replace("  fileinto", "fileinto")), null);
    assert.equal(parseRules(`${source}keep;\n`), null);
    assert.equal(parseRules(source.trimEnd()), null);
    assert.equal(parseRules('require "fileinto";\nfileinto "Lists";\n'), null);
    // Reordered actions are the same rules, but not the text written here.
    const flagged = compileRules([rule({ value: "x", markRead: true, flag: true })]);
    assert.equal(parseRules(flagged.replace(/(.*Seen.*)\n(.*Flagged.*)/, "$2\n$1")), null);
  });
});
