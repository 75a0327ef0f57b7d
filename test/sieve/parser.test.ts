import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_LIMITS, parse, SieveError } from "../../src/sieve/index.js";

function syntaxError(source: string): SieveError {
  try {
    parse(source);
  } catch (e) {
    assert.ok(e instanceof SieveError);
    return e;
  }
  assert.fail(`parsed: ${source}`);
}

describe("Sieve lexer and parser (RFC 5228 §8)", () => {
  test("commands, tests, test lists, blocks and positions", () => {
    const ast = parse('require "fileinto";\nif anyof (true, not false) {\n  fileinto "A";\n} else { stop; }');
    const [require, iff, otherwise] = ast.commands;
    assert.equal(require?.name, "require");
    assert.deepEqual(require?.args, [{ kind: "string", value: "fileinto", pos: { line: 1, column: 9 } }]);
    assert.equal(iff?.tests[0]?.name, "anyof");
    assert.equal(iff?.tests[0]?.testList, true);
    assert.deepEqual(
      iff?.tests[0]?.tests.map((t) => [t.name, t.tests.map((u) => u.name)]),
      [
        ["true", []],
        ["not", ["false"]],
      ],
    );
    assert.deepEqual(iff?.block?.[0]?.pos, { line: 3, column: 3 });
    assert.equal(otherwise?.block?.[0]?.name, "stop");
  });

  test("identifiers and tags are case-insensitive", () => {
    const [command] = parse('IF Header :IS "a" "b" { KEEP; }').commands;
    assert.equal(command?.name, "if");
    assert.deepEqual(command?.tests[0]?.args[0], { kind: "tag", name: "is", pos: { line: 1, column: 11 } });
  });

  test("numbers with K, M and G quantifiers", () => {
    const values = parse("size :over 1 2K 3m 4G 0;")
      .commands[0]?.args.slice(1)
      .map((a) => a.kind === "number" && a.value);
    assert.deepEqual(values, [1, 2048, 3 * 1024 ** 2, 4 * 1024 ** 3, 0]);
    assert.match(syntaxError("size :over 99999999999999999999G;").message, /1:12: number is too large/);
    assert.match(syntaxError("size :over 10X;").message, /bad number/);
  });

  test('quoted strings: \\\\ and \\" escape, other backslashes are dropped (§2.4.2)', () => {
    const [cmd] = parse('x "a\\\\b\\"c\\d\r\ne";').commands;
    assert.deepEqual(cmd?.args[0], { kind: "string", value: 'a\\b"cd\r\ne', pos: { line: 1, column: 3 } });
  });

  test("multi-line strings: dot-stuffing, comment after text:, CRLF lines", () => {
    const [cmd] = parse("x text: # comment\n..line one\nline two\n.\n;").commands;
    assert.equal(cmd?.args[0]?.kind === "string" && cmd.args[0].value, ".line one\r\nline two\r\n");
    assert.match(
      syntaxError("x text: extra\n.\n;").message,
      /1:9: "text:" must be followed by the end of the line/,
    );
    assert.match(syntaxError("x text:\nno end\n").message, /1:3: unterminated multi-line string/);
  });

  test("string lists", () => {
    const [cmd] = parse('x ["a", "b"] ["c"];').commands;
    assert.deepEqual(
      cmd?.args.map((a) => (a.kind === "list" ? a.items.map((i) => i.value) : null)),
      [["a", "b"], ["c"]],
    );
    assert.match(syntaxError('x ["a" "b"];').message, /1:8: expected "," or "\]"/);
    assert.match(syntaxError("x [];").message, /1:4: expected a string in the list/);
  });

  test("comments: hash to the end of the line, bracket comments anywhere", () => {
    const ast = parse("# one\nkeep; /* two\nlines */ discard; # three");
    assert.deepEqual(
      ast.commands.map((c) => c.name),
      ["keep", "discard"],
    );
    assert.match(syntaxError("keep; /* never closed").message, /1:7: unterminated comment/);
  });

  test("errors carry line:column and say what was expected", () => {
    assert.match(
      syntaxError("keep").message,
      /^1:5: expected ";" or a block after "keep", found end of script$/,
    );
    assert.match(syntaxError("if true {\n  keep;\n").message, /^3:1: expected "}" to end the block of "if"/);
    assert.match(syntaxError('keep;\n  "x";').message, /^2:3: expected a command, found string$/);
    assert.match(syntaxError("if anyof (true, ) {}").message, /^1:17: expected a test, found "\)"/);
    assert.match(syntaxError('x "unterminated').message, /^1:3: unterminated string/);
    assert.match(syntaxError("keep; @").message, /^1:7: unexpected character "@"/);
    assert.match(syntaxError("x : ;").message, /^1:3: a tag needs a name/);
  });

  test("nesting and size are bounded", () => {
    const deep = `${"if true {".repeat(40)}${"}".repeat(40)}`;
    assert.match(syntaxError(deep).message, /nesting deeper than the limit of 32/);
    assert.equal(parse(deep, { ...DEFAULT_LIMITS, maxNestingDepth: 50 }).commands.length, 1);
    const big = syntaxError(`# ${"x".repeat(1024 * 1024)}`);
    assert.equal(big.kind, "limit");
  });
});
