import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actions, holds, runtimeError, summary } from "./helpers.js";

describe("variables (RFC 5229)", () => {
  test("set and ${…} expansion; unknown variables are empty; names are case-insensitive", () => {
    assert.deepEqual(
      summary('require ["variables", "fileinto"]; set "Box" "Work"; fileinto "${box}.${nope}x";'),
      ["fileinto Work.x"],
    );
  });

  test("match variables from :matches, leftmost-shortest (RFC 5229 §3.2 example)", () => {
    const script = `require ["variables", "fileinto"];
      if header :matches "Subject" "[*] *" { fileinto "\${1}|\${2}|\${0}"; }`;
    assert.deepEqual(summary(script), [
      "fileinto acme-users|[fwd] version 1.0 is out|[acme-users] [fwd] version 1.0 is out",
    ]);
    assert.deepEqual(
      summary(
        'require ["variables", "fileinto"]; if header :matches "x-tag" "?n?" { fileinto "${1}-${2}-${3}"; }',
      ),
      ["fileinto o-e-"],
    );
  });

  test("a failed match leaves the match variables as they were", () => {
    const script = `require ["variables", "fileinto"];
      if header :matches "x-tag" "o*" {} if header :matches "x-tag" "zz*" {} fileinto "\${1}";`;
    assert.deepEqual(summary(script), ["fileinto ne"]);
  });

  test("modifiers apply by precedence (RFC 5229 §4.1)", () => {
    const value = (modifiers: string, text: string) =>
      (
        actions(
          `require ["variables", "fileinto"]; set ${modifiers} "v" "${text}"; fileinto "\${v}";`,
        )[0] as { mailbox: string }
      ).mailbox;
    assert.equal(value(":upper", "abc"), "ABC");
    assert.equal(value(":lower", "ABC"), "abc");
    assert.equal(value(":upperfirst :lower", "hELLO"), "Hello");
    assert.equal(value(":lowerfirst", "ABC"), "aBC");
    assert.equal(value(":length", "héllo"), "5");
    assert.equal(value(":quotewildcard", "a*b?c"), "a\\*b\\?c");
    assert.equal(value(":length :quotewildcard", "a*"), "3");
  });

  test("string test, with :count counting non-empty strings (RFC 5229 §5)", () => {
    assert.equal(holds('string :is "${x}" ""', ["variables"]), true);
    const counting = ["variables", "relational", "comparator-i;ascii-numeric"];
    assert.equal(
      holds('string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2"', counting),
      true,
    );
  });

  test("variables hold at most maxVariableSize characters", () => {
    const result = actions('require ["variables", "fileinto"]; set "v" "abcdef"; fileinto "${v}";', {
      limits: { maxVariableSize: 3 },
    });
    assert.equal((result[0] as { mailbox: string }).mailbox, "abc");
  });
});

describe("imap4flags (RFC 5232)", () => {
  test("setflag, addflag, removeflag on the internal variable; the implicit keep takes it", () => {
    assert.deepEqual(summary('require "imap4flags"; setflag "a b"; addflag ["c", "A"]; removeflag "b";'), [
      "keep* [a c]",
    ]);
  });

  test(":flags overrides the internal variable for one action", () => {
    assert.deepEqual(
      summary('require ["imap4flags", "fileinto"]; addflag "x"; fileinto :flags "\\\\Seen" "A"; keep;'),
      ["fileinto A [\\Seen]", "keep [x]"],
    );
  });

  test("flags in a named variable, and hasflag", () => {
    const script = `require ["imap4flags", "variables", "fileinto"];
      addflag "f" "one two"; removeflag "f" "one";
      if hasflag "f" "TWO" { fileinto "${"${f}"}"; }
      if hasflag "one" { fileinto "internal"; }`;
    assert.deepEqual(summary(script), ["fileinto two"]);
    assert.equal(holds('hasflag :contains "lag" ', ["imap4flags"]), false);
    assert.equal(holds('allof (true, hasflag :is "x")', ["imap4flags"]), false);
  });
});

describe("relational (RFC 5231)", () => {
  const numeric = ["relational", "comparator-i;ascii-numeric"];
  test(":count counts header values and addresses", () => {
    assert.equal(holds('header :count "eq" :comparator "i;ascii-numeric" "x-tag" "2"', numeric), true);
    assert.equal(holds('address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "2"', numeric), true);
    assert.equal(holds('header :count "lt" :comparator "i;ascii-numeric" "x-nope" "1"', numeric), true);
  });

  test(":value with each relation, in the comparator's order", () => {
    const cases = [
      ["gt", "b", "A", true],
      ["ge", "a", "A", true],
      ["lt", "a", "B", true],
      ["le", "b", "a", false],
      ["eq", "abc", "ABC", true],
      ["ne", "abc", "ABC", false],
    ] as const;
    for (const [relation, value, key, expected] of cases) {
      assert.equal(
        holds(`string :value "${relation}" "${value}" "${key}"`, ["relational", "variables"]),
        expected,
        relation,
      );
    }
  });
});

describe("regex (draft-ietf-sieve-regex)", () => {
  test("matches and sets ${n} from groups", () => {
    const script = `require ["regex", "variables", "fileinto"];
      if header :regex "subject" "^\\\\[([a-z-]+)\\\\] .*([0-9]+\\\\.[0-9]+)" { fileinto "\${1}-\${2}"; }`;
    assert.deepEqual(summary(script), ["fileinto acme-users-1.0"]);
  });

  test("POSIX classes, case folding with i;ascii-casemap", () => {
    assert.equal(holds('header :regex "x-tag" "^[[:alpha:]]{3}$"', ["regex"]), true);
    assert.equal(holds('header :regex "x-tag" "^ONE$"', ["regex"]), true);
    assert.equal(holds('header :regex :comparator "i;octet" "x-tag" "^ONE$"', ["regex"]), false);
  });

  test("patterns that could backtrack without end are refused", () => {
    assert.match(
      runtimeError('require ["regex", "variables"]; set "p" "(a+)+b"; if header :regex "subject" "${p}" {}'),
      /repetition of a group/,
    );
    assert.deepEqual(summary('require "regex"; if header :regex "subject" "(ab)?c" {}'), ["keep*"]);
    assert.match(
      runtimeError('require ["regex", "variables"]; set "p" "a\\\\1"; if header :regex "subject" "${p}" {}'),
      /back-references/,
    );
    assert.match(
      runtimeError('require ["regex", "variables"]; set "p" "aaaaaa"; if header :regex "subject" "${p}" {}', {
        limits: { maxRegexLength: 4 },
      }),
      /longer than 4/,
    );
  });
});
