/**
 * Reads IMAP's grammar (RFC 9051 §9) over a framed command: atoms, quoted strings, literals, numbers,
 * parenthesised lists. Every method either consumes what it reads or throws ParseError, which the
 * session answers with a tagged BAD.
 */

import type { CommandFrame } from "./framer.js";

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}

/** RFC 9051 §9 atom-specials plus the ones that end an atom in practice. */
const ATOM_SPECIALS = new Set([...'(){ %*"\\]'].map((c) => c.charCodeAt(0)));

export function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && !ATOM_SPECIALS.has(c);
}

const MAX_NUMBER = 2 ** 53 - 1;

export class Cursor {
  private lineIndex = 0;
  private offset = 0;

  constructor(private readonly frame: CommandFrame) {}

  private get line(): Buffer {
    return this.frame.lines[this.lineIndex] ?? Buffer.alloc(0);
  }

  /** The byte at the current position, or -1 at the end of the command. */
  peek(): number {
    const line = this.line;
    return this.offset < line.length ? (line[this.offset] ?? -1) : -1;
  }

  atEnd(): boolean {
    return this.peek() === -1 && this.lineIndex >= this.frame.lines.length - 1;
  }

  /** Case-insensitive: does the input continue with `text`? */
  lookingAt(text: string): boolean {
    const slice = this.line.subarray(this.offset, this.offset + text.length).toString("latin1");
    return slice.toUpperCase() === text.toUpperCase();
  }

  /** Consumes `text` (case-insensitive) if it is next. */
  accept(text: string): boolean {
    if (!this.lookingAt(text)) return false;
    this.offset += text.length;
    return true;
  }

  expect(text: string, what = `"${text}"`): void {
    if (!this.accept(text)) throw new ParseError(`expected ${what}`);
  }

  space(): void {
    if (this.peek() !== 0x20) throw new ParseError("expected a single space between arguments");
    this.offset++;
  }

  end(): void {
    if (!this.atEnd()) throw new ParseError("unexpected text at the end of the command");
  }

  /** Characters of an atom, possibly empty. `extra` are further allowed characters (e.g. "]" or "*"). */
  private atomRun(extra = ""): string {
    const line = this.line;
    const start = this.offset;
    while (this.offset < line.length) {
      const c = line[this.offset] ?? 0;
      if (!(isAtomChar(c) || (c > 0x20 && c < 0x7f && extra.includes(String.fromCharCode(c))))) break;
      this.offset++;
    }
    return line.subarray(start, this.offset).toString("latin1");
  }

  atom(what = "an atom", extra = ""): string {
    const value = this.atomRun(extra);
    if (value === "") throw new ParseError(`expected ${what}`);
    return value;
  }

  /** A run of bytes up to the next space or end (tags, flags with backslash). */
  token(what: string, stopAt = " )"): string {
    const line = this.line;
    const start = this.offset;
    while (this.offset < line.length && !stopAt.includes(String.fromCharCode(line[this.offset] ?? 0)))
      this.offset++;
    if (this.offset === start) throw new ParseError(`expected ${what}`);
    return line.subarray(start, this.offset).toString("utf8");
  }

  number(what = "a number"): number {
    const digits = /^\d+/.exec(this.line.subarray(this.offset, this.offset + 24).toString("latin1"))?.[0];
    if (digits === undefined) throw new ParseError(`expected ${what}`);
    const value = Number(digits);
    if (!Number.isSafeInteger(value) || value > MAX_NUMBER) throw new ParseError(`${what} is too large`);
    this.offset += digits.length;
    return value;
  }

  nzNumber(what = "a non-zero number"): number {
    const value = this.number(what);
    if (value === 0) throw new ParseError(`${what} must not be 0`);
    return value;
  }

  /**
   * A quoted string or literal, as bytes. `literal8` also takes "~{n}", which RFC 3516 §4.4 allows only
   * for APPEND's message; everywhere else "~" is an ordinary ATOM-CHAR (RFC 9051 §9).
   */
  stringBytes(what = "a string", literal8 = false): Buffer {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || (literal8 && c === 0x7e && this.line[this.offset + 1] === 0x7b)) return this.literal();
    throw new ParseError(`expected ${what}`);
  }

  string(what = "a string"): string {
    return this.stringBytes(what).toString("utf8");
  }

  /** astring: an atom (resp-specials "]" allowed, RFC 9051 §9 ASTRING-CHAR) or a string. */
  astring(what = "a string"): string {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.string(what);
    const line = this.line;
    const start = this.offset;
    while (this.offset < line.length) {
      const b = line[this.offset] ?? 0;
      // Mailbox names may carry UTF-8 octets unquoted from IMAP4rev2 clients (RFC 9051 §9 atom is
      // ASCII, but accepting 8-bit here costs nothing and helps clients that send them).
      if (!(isAtomChar(b) || b === 0x5d || b >= 0x80)) break;
      this.offset++;
    }
    if (this.offset === start) throw new ParseError(`expected ${what}`);
    return line.subarray(start, this.offset).toString("utf8");
  }

  /** nstring: NIL or a string. */
  nstring(what = "a string or NIL"): string | null {
    if (this.lookingAtWord("NIL")) {
      this.offset += 3;
      return null;
    }
    return this.string(what);
  }

  /** list-mailbox (RFC 9051 §9): like astring, but "%" and "*" are allowed unquoted. */
  listMailbox(): string {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.string("a mailbox pattern");
    const line = this.line;
    const start = this.offset;
    while (this.offset < line.length) {
      const b = line[this.offset] ?? 0;
      if (!(isAtomChar(b) || b === 0x5d || b === 0x25 || b === 0x2a || b >= 0x80)) break;
      this.offset++;
    }
    if (this.offset === start) throw new ParseError("expected a mailbox pattern");
    return line.subarray(start, this.offset).toString("utf8");
  }

  /** Consumes and returns what `pattern` (anchored with ^, no g flag) matches at the position, or null. */
  match(pattern: RegExp): string | null {
    const found = pattern.exec(this.line.subarray(this.offset, this.offset + 256).toString("latin1"));
    if (found === null || found.index !== 0) return null;
    this.offset += found[0].length;
    return found[0];
  }

  /** True when the next word is exactly `word` (followed by a delimiter). */
  lookingAtWord(word: string): boolean {
    if (!this.lookingAt(word)) return false;
    const after = this.line[this.offset + word.length];
    return after === undefined || !isAtomChar(after);
  }

  /** Reads "(" item *(SP item) ")" calling `item` for each; an empty list "()" is allowed when `allowEmpty`. */
  list<T>(item: () => T, allowEmpty = true): T[] {
    this.expect("(", "a parenthesised list");
    const items: T[] = [];
    if (this.accept(")")) {
      if (!allowEmpty) throw new ParseError("the list must not be empty");
      return items;
    }
    for (;;) {
      items.push(item());
      if (this.accept(")")) return items;
      this.space();
    }
  }

  /** A flag: "\"atom or atom (RFC 9051 §9 flag, flag-keyword). */
  flag(): string {
    if (this.accept("\\")) {
      if (this.accept("*")) return "\\*";
      return `\\${this.atom("a flag name")}`;
    }
    return this.atom("a flag or keyword");
  }

  private quoted(): Buffer {
    const line = this.line;
    this.offset++;
    const bytes: number[] = [];
    while (this.offset < line.length) {
      const c = line[this.offset++] ?? 0;
      if (c === 0x22) return Buffer.from(bytes);
      if (c === 0x5c) {
        const next = line[this.offset++];
        if (next !== 0x22 && next !== 0x5c) throw new ParseError('a quoted string may only escape \\ and "');
        bytes.push(next);
        continue;
      }
      bytes.push(c);
    }
    throw new ParseError("unterminated quoted string");
  }

  private literal(): Buffer {
    const line = this.line;
    if (line[this.offset] === 0x7e) this.offset++;
    const match = /^\{(\d+)\+?\}$/.exec(line.subarray(this.offset).toString("latin1"));
    if (match === null) throw new ParseError("a literal's {size} must end the line");
    const literal = this.frame.literals[this.lineIndex];
    if (literal === undefined || literal.length !== Number(match[1]))
      throw new ParseError("literal data missing");
    this.lineIndex++;
    this.offset = 0;
    return literal;
  }
}
