import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { holds, runtimeError, summary } from "./helpers.js";

describe("Sieve core actions and the implicit keep (RFC 5228 §2.10, §4)", () => {
  test("an empty script keeps the message", () => {
    assert.deepEqual(summary(""), ["keep*"]);
  });

  test("keep, discard, fileinto and redirect cancel the implicit keep", () => {
    assert.deepEqual(summary("keep;"), ["keep"]);
    assert.deepEqual(summary("discard;"), ["discard"]);
    assert.deepEqual(summary('require "fileinto"; fileinto "A";'), ["fileinto A"]);
    assert.deepEqual(summary('redirect "x@example.net";'), ["redirect x@example.net"]);
  });

  test(":copy leaves the implicit keep in place (RFC 3894 §3)", () => {
    assert.deepEqual(
      summary('require ["copy", "fileinto"]; fileinto :copy "A"; redirect :copy "x@example.net";'),
      ["fileinto A", "redirect x@example.net", "keep*"],
    );
  });

  test("duplicates merge: fileinto twice, keep and fileinto INBOX, the same redirect (§2.10.3)", () => {
    assert.deepEqual(summary('require "fileinto"; fileinto "A"; fileinto "A"; keep; fileinto "inbox";'), [
      "fileinto A",
      "keep",
    ]);
    assert.deepEqual(summary('redirect "x@example.net"; redirect "X@example.net";'), [
      "redirect x@example.net",
    ]);
  });

  test("discard does not undo other actions", () => {
    assert.deepEqual(summary('require "fileinto"; fileinto "A"; discard;'), ["fileinto A", "discard"]);
  });

  test("stop ends the script; if/elsif/else take the first branch that holds", () => {
    assert.deepEqual(summary('require "fileinto"; fileinto "A"; stop; fileinto "B";'), ["fileinto A"]);
    const chain = (subject: string) =>
      summary(
        `require "fileinto"; if header :is "subject" "${subject}" { fileinto "1"; } elsif true { fileinto "2"; } else { fileinto "3"; }`,
      );
    assert.deepEqual(chain("[acme-users] [fwd] version 1.0 is out"), ["fileinto 1"]);
    assert.deepEqual(chain("other"), ["fileinto 2"]);
    assert.deepEqual(summary('require "fileinto"; if false {} elsif false {} else { fileinto "3"; }'), [
      "fileinto 3",
    ]);
  });

  test("redirect takes the address out of a name-addr; a bad one found at run time is an error", () => {
    assert.deepEqual(summary('redirect "Some One <one@example.net>";'), ["redirect one@example.net"]);
    assert.match(
      runtimeError('require "variables"; set "a" "nobody"; redirect "${a}";'),
      /is not a valid address/,
    );
  });

  test("reject and ereject (RFC 5429) refuse the message and cancel the keep", () => {
    assert.deepEqual(summary('require "reject"; reject "no";'), ["reject no"]);
    assert.deepEqual(summary('require "ereject"; ereject "no";'), ["ereject no"]);
  });

  test("reject does not combine with keep, fileinto, redirect or vacation (RFC 5429 §2.1)", () => {
    assert.match(
      runtimeError('require "reject"; keep; reject "no";'),
      /1:25: reject cannot be combined with keep/,
    );
    assert.match(
      runtimeError('require ["reject", "fileinto"]; reject "no"; fileinto "A";'),
      /fileinto cannot follow reject/,
    );
    assert.match(
      runtimeError('require ["reject", "vacation"]; vacation "x"; reject "no";'),
      /combined with vacation/,
    );
  });

  test("a runtime error gives the error and the implicit keep alone", () => {
    const script =
      'require "fileinto"; fileinto "A"; redirect "a@x.y"; redirect "b@x.y"; redirect "c@x.y"; redirect "d@x.y"; redirect "e@x.y";';
    assert.match(runtimeError(script), /1:107: more than 4 redirects/);
  });
});

describe("Sieve core tests (RFC 5228 §5)", () => {
  test("true, false, not, allof, anyof", () => {
    assert.equal(holds("true"), true);
    assert.equal(holds("false"), false);
    assert.equal(holds("not false"), true);
    assert.equal(holds("allof (true, true)"), true);
    assert.equal(holds("allof (true, false)"), false);
    assert.equal(holds("anyof (false, true)"), true);
    assert.equal(holds("anyof (false, false)"), false);
  });

  test("exists: every named field must be there", () => {
    assert.equal(holds('exists ["from", "x-tag"]'), true);
    assert.equal(holds('exists ["from", "x-nope"]'), false);
  });

  test("size :over and :under", () => {
    assert.equal(holds("size :over 100"), true);
    assert.equal(holds("size :under 1K"), true);
    assert.equal(holds("size :over 1K"), false);
  });

  test("header: any name, any value, any key; values decoded and unfolded", () => {
    assert.equal(holds('header :contains ["to", "subject"] ["nothing", "VERSION"]'), true);
    assert.equal(holds('header :is "x-tag" "two"'), true);
    const message = Buffer.from("Subject: =?UTF-8?Q?caf=C3=A9?=\r\n folded\r\n\r\n");
    assert.equal(holds('header :is "subject" "café folded"', [], { message }), true);
    assert.equal(holds('header :contains "x-nope" ""'), false);
  });

  test("address parts :all, :localpart, :domain; groups hold no addresses", () => {
    assert.equal(holds('address :is "from" "alice+list@example.org"'), true);
    assert.equal(holds('address :localpart :is "from" "alice+list"'), true);
    assert.equal(holds('address :domain :is "to" "example.net"'), true);
    assert.equal(holds('address :all :contains "cc" "undisclosed"'), false);
  });

  test("subaddress :user and :detail (RFC 5233)", () => {
    assert.equal(holds('address :user "from" "alice"', ["subaddress"]), true);
    assert.equal(holds('address :detail "from" "list"', ["subaddress"]), true);
    // RFC 5233 §4: an address without a separator has no detail, not an empty one.
    assert.equal(holds('address :detail "to" ""', ["subaddress"]), false);
    assert.equal(holds('envelope :detail "from" "list"', ["subaddress", "envelope"]), true);
  });

  test("envelope from, to and auth; the null reverse path is the empty address (§5.4)", () => {
    assert.equal(holds('envelope :domain "to" "example.com"', ["envelope"]), true);
    assert.equal(holds('envelope "auth" "alice"', ["envelope"]), true);
    assert.equal(holds('envelope :all :is "from" ""', ["envelope"], { from: "" }), true);
    assert.equal(holds('envelope :localpart :is "from" ""', ["envelope"], { from: "" }), true);
  });

  test("comparators: i;ascii-casemap is the default, i;octet is exact, i;ascii-numeric compares numbers", () => {
    assert.equal(holds('header :is "x-tag" "ONE"'), true);
    assert.equal(holds('header :is :comparator "i;octet" "x-tag" "ONE"'), false);
    const numeric = ["relational", "comparator-i;ascii-numeric"];
    assert.equal(
      holds('string :value "gt" :comparator "i;ascii-numeric" "10" "9"', [...numeric, "variables"]),
      true,
    );
    assert.equal(
      holds('string :value "eq" :comparator "i;ascii-numeric" "007" "7"', [...numeric, "variables"]),
      true,
    );
    // RFC 4790 §9.1.1: a string that does not start with a digit is positive infinity.
    assert.equal(
      holds('string :value "gt" :comparator "i;ascii-numeric" "abc" "99999"', [...numeric, "variables"]),
      true,
    );
    assert.equal(holds('string :is :comparator "i;ascii-numeric" "x" "y"', [...numeric, "variables"]), true);
  });

  test(":matches with *, ?, and escapes (§2.7.1)", () => {
    assert.equal(holds('header :matches "subject" "[*] *"'), true);
    assert.equal(holds('header :matches "x-tag" "o?e"'), true);
    assert.equal(holds('header :matches "x-tag" "o?"'), false);
    assert.equal(holds('header :matches "subject" "*1.?*"'), true);
    const message = Buffer.from("Subject: a*b?\r\n\r\n");
    assert.equal(holds('header :matches "subject" "a\\\\*b\\\\?"', [], { message }), true);
    assert.equal(holds('header :matches "subject" "a\\\\*c*"', [], { message }), false);
  });

  test(":matches has no catastrophic backtracking", () => {
    const message = Buffer.from(`Subject: ${"a".repeat(20_000)}\r\n\r\n`);
    const started = Date.now();
    assert.equal(holds(`header :matches "subject" "${"*a".repeat(30)}*b"`, [], { message }), false);
    assert.ok(Date.now() - started < 2000);
  });
});
