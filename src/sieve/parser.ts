/** The RFC 5228 §8.2 grammar over the lexer's tokens: commands, blocks, arguments, tests, test lists. */
import type { Argument, CommandNode, ScriptNode, StringNode, TestNode } from "./ast.js";
import { SieveError } from "./errors.js";
import { Lexer, type Token } from "./lexer.js";
import { DEFAULT_LIMITS, type SieveLimits } from "./limits.js";

function describe(token: Token): string {
  switch (token.kind) {
    case "identifier":
      return `identifier "${token.name}"`;
    case "tag":
      return `tag ":${token.name}"`;
    case "number":
      return `number ${token.value}`;
    case "string":
      return "string";
    case "punct":
      return `"${token.char}"`;
    case "eof":
      return "end of script";
  }
}

class Parser {
  private token: Token;
  private depth = 0;

  constructor(
    private readonly lexer: Lexer,
    private readonly limits: SieveLimits,
  ) {
    this.token = lexer.next();
  }

  private fail(reason: string, token: Token = this.token): never {
    throw new SieveError("syntax", reason, token.pos);
  }

  private take(): Token {
    const token = this.token;
    this.token = this.lexer.next();
    return token;
  }

  private isPunct(char: string): boolean {
    return this.token.kind === "punct" && this.token.char === char;
  }

  private expectPunct(char: string, what: string): void {
    if (!this.isPunct(char)) this.fail(`expected "${char}" ${what}, found ${describe(this.token)}`);
    this.take();
  }

  private enter(): void {
    if (++this.depth > this.limits.maxNestingDepth)
      this.fail(`nesting deeper than the limit of ${this.limits.maxNestingDepth}`);
  }

  script(): ScriptNode {
    const commands = this.commands();
    if (this.token.kind !== "eof") this.fail(`expected a command, found ${describe(this.token)}`);
    return { commands };
  }

  private commands(): CommandNode[] {
    const out: CommandNode[] = [];
    while (this.token.kind === "identifier") out.push(this.command());
    return out;
  }

  private command(): CommandNode {
    const start = this.take() as Token & { kind: "identifier" };
    const { args, tests, testList } = this.arguments();
    let block: CommandNode[] | null = null;
    if (this.isPunct("{")) {
      this.take();
      this.enter();
      block = this.commands();
      this.depth--;
      this.expectPunct("}", `to end the block of "${start.name}"`);
    } else if (this.isPunct(";")) {
      this.take();
    } else {
      this.fail(`expected ";" or a block after "${start.name}", found ${describe(this.token)}`);
    }
    return { name: start.name, args, tests, testList, block, pos: start.pos };
  }

  private arguments(): { args: Argument[]; tests: TestNode[]; testList: boolean } {
    const args: Argument[] = [];
    for (;;) {
      const token = this.token;
      if (token.kind === "string") {
        this.take();
        args.push({ kind: "string", value: token.value, pos: token.pos });
      } else if (token.kind === "number") {
        this.take();
        args.push({ kind: "number", value: token.value, pos: token.pos });
      } else if (token.kind === "tag") {
        this.take();
        args.push({ kind: "tag", name: token.name, pos: token.pos });
      } else if (this.isPunct("[")) {
        args.push(this.stringList());
      } else {
        break;
      }
    }
    if (this.token.kind === "identifier") return { args, tests: [this.test()], testList: false };
    if (this.isPunct("(")) return { args, tests: this.testList(), testList: true };
    return { args, tests: [], testList: false };
  }

  private stringList(): Argument {
    const open = this.take();
    const items: StringNode[] = [];
    for (;;) {
      const token = this.token;
      if (token.kind !== "string") this.fail(`expected a string in the list, found ${describe(token)}`);
      this.take();
      items.push({ kind: "string", value: token.value, pos: token.pos });
      if (this.isPunct("]")) break;
      this.expectPunct(",", 'or "]" in the string list');
    }
    this.take();
    return { kind: "list", items, pos: open.pos };
  }

  private testList(): TestNode[] {
    this.take();
    this.enter();
    const tests = [this.test()];
    while (this.isPunct(",")) {
      this.take();
      tests.push(this.test());
    }
    this.depth--;
    this.expectPunct(")", "to end the test list");
    return tests;
  }

  private test(): TestNode {
    const start = this.token;
    if (start.kind !== "identifier") this.fail(`expected a test, found ${describe(start)}`);
    this.take();
    this.enter();
    const { args, tests, testList } = this.arguments();
    this.depth--;
    return { name: start.name, args, tests, testList, pos: start.pos };
  }
}

/** Parses a script's syntax; throws a SieveError of kind "syntax" (or "limit" for an oversized script). */
export function parse(source: string, limits: SieveLimits = DEFAULT_LIMITS): ScriptNode {
  const size = Buffer.byteLength(source, "utf8");
  if (size > limits.maxScriptSize)
    throw new SieveError("limit", `script is ${size} bytes, over the limit of ${limits.maxScriptSize}`, null);
  return new Parser(new Lexer(source), limits).script();
}
