import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CAPABILITIES, check } from "../../src/sieve/index.js";

function errors(source: string): string[] {
  return check(source).map((e) => e.message);
}

describe("Sieve validation (check, CHECKSCRIPT)", () => {
  test("a valid script has no errors", () => {
    assert.deepEqual(
      errors(`require ["fileinto", "variables", "imap4flags", "relational", "comparator-i;ascii-numeric"];
        if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { fileinto :flags "\\\\Seen" "x"; }`),
      [],
    );
  });

  test("require: unknown capabilities, and extensions used without require", () => {
    assert.deepEqual(errors('require ["fileinto", "nosuch"];'), [
      '1:22: require: unknown capability "nosuch"',
    ]);
    assert.deepEqual(errors('fileinto "x";'), ['1:1: command "fileinto" needs require "fileinto"']);
    assert.deepEqual(errors('if envelope "from" "a" {}'), ['1:4: test "envelope" needs require "envelope"']);
    assert.deepEqual(errors('keep :flags "a";'), ['1:6: keep: ":flags" needs require "imap4flags"']);
    assert.deepEqual(errors('if header :regex "a" "b" {}'), ['1:11: header: ":regex" needs require "regex"']);
    assert.deepEqual(errors('if header :comparator "i;ascii-numeric" "a" "1" {}'), [
      '1:11: comparator "i;ascii-numeric" needs require "comparator-i;ascii-numeric"',
    ]);
    assert.deepEqual(errors('keep; require "fileinto";'), [
      "1:7: require must come before every other command (RFC 5228 §3.2)",
    ]);
  });

  test("every capability is accepted by require", () => {
    assert.deepEqual(errors(`require ${JSON.stringify(CAPABILITIES)};`), []);
  });

  test("unknown commands, tests and tags", () => {
    assert.deepEqual(errors("frobnicate;"), ['1:1: unknown command "frobnicate"']);
    assert.deepEqual(errors("if nosuch {}"), ['1:4: unknown test "nosuch"']);
    assert.deepEqual(errors("if keep {}"), ['1:4: unknown test "keep" (it is a command)']);
    assert.deepEqual(errors("true;"), ['1:1: unknown command "true" (it is a test)']);
    assert.deepEqual(errors('if header :bogus "a" "b" {}'), ['1:11: header: unknown tag ":bogus"']);
  });

  test("argument shapes: counts, types, tag arguments, exclusive tags, tags first", () => {
    assert.deepEqual(errors("redirect;"), ["1:1: redirect: expected 1 positional argument(s), found 0"]);
    assert.deepEqual(errors('if header "a" {}'), ["1:4: header: expected 2 positional argument(s), found 1"]);
    assert.deepEqual(errors("redirect 5;"), ["1:10: redirect: address must be a string, found number"]);
    assert.deepEqual(errors('redirect ["a@b.c"];'), [
      "1:10: redirect: address must be a string, found string list",
    ]);
    assert.deepEqual(errors('if size "1" {}'), [
      "1:4: size: needs one of :over, :under",
      "1:9: size: limit must be a number, found string",
    ]);
    assert.deepEqual(errors('if header :is :contains "a" "b" {}'), [
      '1:15: header: ":contains" cannot be combined with ":is"',
    ]);
    assert.deepEqual(errors('if header :comparator "a" "b" {}'), [
      "1:4: header: expected 2 positional argument(s), found 1",
      '1:11: unknown comparator "a"',
    ]);
    assert.deepEqual(errors('if header "a" :is "b" {}'), [
      '1:15: header: tag ":is" must come before positional arguments',
    ]);
  });

  test("tests and blocks where they belong", () => {
    assert.deepEqual(errors("if true;"), ["1:1: if needs a block"]);
    assert.deepEqual(errors("keep {}"), ["1:1: keep takes no block"]);
    assert.deepEqual(errors("if {}"), ["1:1: if needs exactly one test"]);
    assert.deepEqual(errors("if allof true {}"), ["1:4: allof needs a test list in parentheses"]);
    assert.deepEqual(errors("keep true;"), ["1:6: keep takes no test"]);
    assert.deepEqual(errors("else { keep; }"), ["1:1: else must follow if or elsif"]);
    assert.deepEqual(errors("if true {} keep; elsif true {}"), ["1:18: elsif must follow if or elsif"]);
  });

  test("per-command checks", () => {
    assert.deepEqual(errors('redirect "not an address";'), [
      '1:10: redirect: "not an address" is not a valid address (RFC 5228 §4.2)',
    ]);
    assert.deepEqual(errors('if address "subject" "x" {}'), [
      '1:4: the address test does not apply to "subject", which holds no addresses (RFC 5228 §5.1)',
    ]);
    assert.deepEqual(errors('if header "bad name" "x" {}'), [
      '1:4: "bad name" is not a valid header field name',
    ]);
    assert.deepEqual(errors('require "envelope"; if envelope "nosuch" "x" {}'), [
      '1:24: unknown envelope part "nosuch" (expected from, to or auth)',
    ]);
    assert.deepEqual(errors('require "relational"; if header :value "xx" "a" "b" {}'), [
      '1:33: unknown relation "xx" (expected gt, ge, lt, le, eq or ne)',
    ]);
    assert.deepEqual(
      errors(
        'require "comparator-i;ascii-numeric"; if header :contains :comparator "i;ascii-numeric" "a" "1" {}',
      ),
      ['1:49: comparator "i;ascii-numeric" does not support :contains (RFC 4790 §9.1)'],
    );
    assert.deepEqual(errors('require "regex"; if header :regex "a" "(" {}'), [
      '1:28: invalid regular expression "(": Unterminated group',
    ]);
    assert.deepEqual(errors('require "index"; if header :last "a" "b" {}'), [
      "1:28: :last needs :index (RFC 5260 §6)",
    ]);
    assert.deepEqual(errors('require "variables"; set "1x" "v";'), [
      '1:26: set: "1x" is not a valid variable name (RFC 5229 §3)',
    ]);
    assert.deepEqual(errors('require "variables"; set :lower :upper "x" "v";'), [
      '1:33: set: ":upper" cannot be combined with ":lower" (RFC 5229 §4.1)',
    ]);
    assert.deepEqual(errors('require "date"; if date "date" "fortnight" "1" {}'), [
      '1:32: unknown date part "fortnight" (RFC 5260 §4.2)',
    ]);
    assert.deepEqual(errors('require "date"; if currentdate :zone "CET" "year" "1" {}'), [
      '1:32: ":zone" needs a zone like "+0100", not "CET"',
    ]);
    assert.deepEqual(errors('require "editheader"; addheader "bad:name" "v";'), [
      '1:23: "bad:name" is not a valid header field name (RFC 5293 §4)',
    ]);
    assert.deepEqual(errors('require "include"; global "x";'), [
      '1:20: global needs require "variables" (RFC 6609 §3.3)',
    ]);
    assert.deepEqual(errors('require ["encoded-character", "fileinto"]; fileinto "${unicode:D800}";'), [
      "1:53: ${unicode:D800} is not a Unicode character (RFC 5228 §2.4.2.4)",
    ]);
  });

  test("all errors are reported, not only the first", () => {
    assert.equal(errors('fileinto "a"; frob; if header :x "a" "b" {}').length, 3);
  });
});
