/** The tokens of RFC 5228 §8.1: identifiers, tags, numbers, strings (quoted and multi-line), punctuation. */
import { type Position, SieveError } from "./errors.js";

export type Token =
  | { kind: "identifier"; name: string; pos: Position }
  | { kind: "tag"; name: string; pos: Position }
  | { kind: "number"; value: number; pos: Position }
  | { kind: "string"; value: string; pos: Position }
  | { kind: "punct"; char: "[" | "]" | "(" | ")" | "{" | "}" | "," | ";"; pos: Position }
  | { kind: "eof"; pos: Position };

const QUANTIFIERS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const PUNCT = "[](){},;";

function isAlpha(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

export class Lexer {
  private i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly src: string) {}

  private pos(): Position {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  private fail(reason: string, pos: Position = this.pos()): never {
    throw new SieveError("syntax", reason, pos);
  }

  /** Advances one character, keeping line and column. */
  private advance(): string {
    const c = this.src[this.i++] ?? "";
    if (c === "\n") {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }

  private peek(offset = 0): string {
    return this.src[this.i + offset] ?? "";
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || c === "\n") {
        this.advance();
      } else if (c === "#") {
        while (this.i < this.src.length && this.peek() !== "\n") this.advance();
      } else if (c === "/" && this.peek(1) === "*") {
        const start = this.pos();
        this.advance();
        this.advance();
        while (!(this.peek() === "*" && this.peek(1) === "/")) {
          if (this.i >= this.src.length) this.fail("unterminated comment: /* without */", start);
          this.advance();
        }
        this.advance();
        this.advance();
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skipSpaceAndComments();
    const pos = this.pos();
    const c = this.peek();
    if (c === "") return { kind: "eof", pos };
    if (PUNCT.includes(c)) {
      this.advance();
      return { kind: "punct", char: c as "[", pos };
    }
    if (c === '"') return { kind: "string", value: this.quoted(pos), pos };
    if (isDigit(c)) return { kind: "number", value: this.number(pos), pos };
    if (c === ":") {
      this.advance();
      if (!isAlpha(this.peek())) this.fail('a tag needs a name after ":"', pos);
      return { kind: "tag", name: this.identifier(), pos };
    }
    if (isAlpha(c)) {
      const name = this.identifier();
      if (name === "text" && this.peek() === ":") {
        this.advance();
        return { kind: "string", value: this.multiline(pos), pos };
      }
      return { kind: "identifier", name, pos };
    }
    return this.fail(`unexpected character ${JSON.stringify(c)}`);
  }

  /** Identifiers and tags are case-insensitive (RFC 5228 §2.9, §8.1); they are returned lower-cased. */
  private identifier(): string {
    const start = this.i;
    while (isAlpha(this.peek()) || isDigit(this.peek())) this.advance();
    return this.src.slice(start, this.i).toLowerCase();
  }

  private number(pos: Position): number {
    const start = this.i;
    while (isDigit(this.peek())) this.advance();
    let value = Number(this.src.slice(start, this.i));
    const quantifier = QUANTIFIERS[this.peek().toLowerCase()];
    if (quantifier !== undefined) {
      this.advance();
      value *= quantifier;
    }
    if (isAlpha(this.peek())) this.fail(`bad number: unexpected ${JSON.stringify(this.peek())}`);
    if (!Number.isSafeInteger(value)) this.fail("number is too large", pos);
    return value;
  }

  /** RFC 5228 §2.4.2: "\" quotes the next character; only \\ and \" mean anything, others drop the "\". */
  private quoted(pos: Position): string {
    this.advance();
    let out = "";
    for (;;) {
      if (this.i >= this.src.length) this.fail("unterminated string: missing closing quote", pos);
      const c = this.advance();
      if (c === '"') return out;
      if (c === "\\") {
        if (this.i >= this.src.length) this.fail("unterminated string: missing closing quote", pos);
        out += this.advance();
      } else {
        out += c;
      }
    }
  }

  /**
   * "text:" [comment] CRLF, lines, "." CRLF (RFC 5228 §2.4.2). A line starting with "." loses that dot
   * (dot-stuffing); lines are returned with CRLF whatever the script's line ends were.
   */
  private multiline(pos: Position): string {
    while (this.peek() === " " || this.peek() === "\t") this.advance();
    if (this.peek() === "#") {
      while (this.i < this.src.length && this.peek() !== "\n") this.advance();
    }
    if (this.peek() === "\r") this.advance();
    if (this.peek() !== "\n") this.fail('"text:" must be followed by the end of the line');
    this.advance();
    let out = "";
    for (;;) {
      if (this.i >= this.src.length) this.fail('unterminated multi-line string: missing "." line', pos);
      const end = this.src.indexOf("\n", this.i);
      const lineEnd = end < 0 ? this.src.length : end;
      const text = this.src.slice(this.i, lineEnd).replace(/\r$/, "");
      while (this.i < lineEnd) this.advance();
      if (end >= 0) this.advance();
      if (text === ".") return out;
      out += `${text.startsWith(".") ? text.slice(1) : text}\r\n`;
    }
  }
}
