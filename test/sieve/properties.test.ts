import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { check, compile, evaluate, parse, SieveError } from "../../src/sieve/index.js";
import { MESSAGE } from "./helpers.js";

/** Fragments that make random text look like Sieve often enough to reach past the lexer. */
const FRAGMENT = fc.constantFrom(
  "if",
  "elsif",
  "else",
  "require",
  "keep",
  "discard",
  "stop",
  "fileinto",
  "header",
  "address",
  "allof",
  "anyof",
  "not",
  "true",
  "false",
  ":is",
  ":contains",
  ":matches",
  ":regex",
  ":count",
  ":comparator",
  ":over",
  "size",
  '"a"',
  '"${1}"',
  '"\\"',
  "text:\n",
  "\n.\n",
  "[",
  "]",
  "(",
  ")",
  "{",
  "}",
  ",",
  ";",
  "#",
  "/*",
  "*/",
  " ",
  "\n",
  "10K",
  "99999999999999999999",
  '"fileinto"',
  '"variables"',
  "set",
  '"x"',
  ":last",
  ":index",
  "1",
);

const sievish = fc.array(FRAGMENT, { maxLength: 30 }).map((parts) => parts.join(" "));

function onlySieveErrors(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof SieveError, `threw ${String(e)}`);
  }
}

const test_ = fc.letrec((tie) => ({
  test: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      "true",
      "false",
      'header :contains "subject" "version"',
      'header :matches "subject" "*[*]*"',
      'address :domain "from" "example.org"',
      "size :over 100",
      'exists "x-tag"',
      'string :matches "${1}" "*"',
      'hasflag "a"',
    ),
    tie("not"),
    tie("allof"),
    tie("anyof"),
  ),
  not: tie("test").map((t) => `not ${t}`),
  allof: fc.array(tie("test"), { minLength: 1, maxLength: 3 }).map((ts) => `allof (${ts.join(", ")})`),
  anyof: fc.array(tie("test"), { minLength: 1, maxLength: 3 }).map((ts) => `anyof (${ts.join(", ")})`),
})).test as fc.Arbitrary<string>;

const command: fc.Arbitrary<string> = fc.letrec((tie) => ({
  command: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      "keep;",
      "discard;",
      "stop;",
      'fileinto "A";',
      'fileinto :copy "B";',
      'redirect "r@example.net";',
      'addflag "a";',
      'removeflag "a";',
      'set "v" "${v}x";',
      'addheader "X-A" "1";',
      'deleteheader "x-tag";',
    ),
    tie("if"),
  ),
  if: fc
    .tuple(test_, fc.array(tie("command"), { maxLength: 3 }), fc.boolean())
    .map(([t, body, otherwise]) => `if ${t} { ${body.join(" ")} }${otherwise ? " else { keep; }" : ""}`),
})).command as fc.Arbitrary<string>;

const REQUIRE = 'require ["fileinto", "copy", "imap4flags", "variables", "editheader"];';

describe("Sieve properties", () => {
  test("the parser throws nothing but SieveError, on any text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), sievish), (source) =>
        onlySieveErrors(() => parse(source)),
      ),
      {
        numRuns: 2000,
      },
    );
  });

  test("check returns errors and never throws, on any text", () => {
    fc.assert(
      fc.property(sievish, (source) => {
        for (const error of check(source)) assert.ok(error instanceof SieveError);
      }),
      { numRuns: 1000 },
    );
  });

  test("random valid scripts evaluate to a result within the limits", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 8 }), (commands) => {
        const script = compile(`${REQUIRE}\n${commands.join("\n")}`);
        const result = evaluate(script, {
          message: MESSAGE,
          envelope: { from: "a@example.org", to: "b@example.com" },
          limits: { maxSteps: 200, maxActions: 6 },
        });
        if (result.status === "error") assert.ok(["limit", "runtime"].includes(result.error.kind));
        else assert.ok(result.actions.length > 0);
      }),
      { numRuns: 500 },
    );
  });

  test("includes that include each other end in an error, not a hang", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), { minLength: 4, maxLength: 4 }),
        (graph) => {
          const scripts = graph.map(
            (targets) => `require "include"; ${targets.map((t) => `include "s${t}";`).join(" ")} keep;`,
          );
          const result = evaluate(compile(scripts[0]!), {
            message: MESSAGE,
            envelope: { from: "a@example.org", to: "b@example.com" },
            environment: { include: (_location, name) => scripts[Number(name.slice(1))] ?? null },
          });
          if (result.status === "error")
            assert.match(result.error.message, /includes itself|nested deeper|more than \d+ includes/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
