// ManageSieve input (RFC 5804 §4), sans IO: bytes in, one item per client line out. A line is atoms,
// quoted strings and literals ("{N+}" CRLF N octets, or "{N}" — clients must send the non-synchronizing
// form, §1.3, and the server never answers "{N}" with a continuation, so both read the same way). A
// command line and a SASL response line are both such items; the session decides what they mean.
// Bounds: a line outside its literals is at most `maxLineLength` octets, a literal at most
// `maxLiteralSize`; one over the bound is read past (its octets are counted, never kept) and reported
// as the item's error, so the connection stays in step with the client.

export type Token =
  | { kind: "atom"; value: string }
  /** A quoted string or a literal: its octets as sent. */
  | { kind: "string"; value: Buffer };

export type Item =
  | { kind: "line"; tokens: Token[] }
  /** A line that cannot be understood; the session answers NO with `reason`. */
  | { kind: "error"; reason: string; tooBig: boolean };

export interface ParserLimits {
  maxLineLength: number;
  maxLiteralSize: number;
}

/** RFC 5804 §4: a quoted string is at most 1024 octets; longer text must be a literal. */
export const MAX_QUOTED = 1024;

/** Tokens in one line: commands take at most three arguments. */
const MAX_TOKENS = 16;

type Mode =
  /** Reading the text of a line. */
  | { kind: "text" }
  /** Reading a literal's octets. `skip`: over the bound, counted only. */
  | { kind: "literal"; remaining: number; chunks: Buffer[]; skip: boolean }
  /** A line over the bound: everything up to its LF is dropped. */
  | { kind: "discard" };

export class ManageSieveParser {
  private pending: Buffer = Buffer.alloc(0);
  private tokens: Token[] = [];
  /** The first problem of the line being read; reported when it ends. */
  private problem: { reason: string; tooBig: boolean } | null = null;
  private mode: Mode = { kind: "text" };
  /** Octets of line text read so far for the current line (literals excluded). */
  private lineOctets = 0;

  constructor(readonly limits: ParserLimits) {}

  /** Forgets anything partly read (after STARTTLS nothing sent before the handshake counts). */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.tokens = [];
    this.problem = null;
    this.mode = { kind: "text" };
    this.lineOctets = 0;
  }

  push(chunk: Buffer): Item[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const items: Item[] = [];
    for (;;) {
      if (this.mode.kind === "literal") {
        const take = Math.min(this.mode.remaining, this.pending.length);
        if (!this.mode.skip) this.mode.chunks.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.mode.remaining -= take;
        if (this.mode.remaining > 0) break;
        if (!this.mode.skip) this.addToken({ kind: "string", value: Buffer.concat(this.mode.chunks) });
        this.mode = { kind: "text" };
        continue;
      }
      const lf = this.pending.indexOf(0x0a);
      if (this.mode.kind === "discard") {
        if (lf === -1) {
          this.pending = Buffer.alloc(0);
          break;
        }
        this.pending = this.pending.subarray(lf + 1);
        items.push(this.finishLine());
        continue;
      }
      if (lf === -1) {
        if (this.lineOctets + this.pending.length > this.limits.maxLineLength) this.overlong();
        break;
      }
      this.lineOctets += lf + 1;
      if (this.lineOctets > this.limits.maxLineLength) {
        this.pending = this.pending.subarray(lf + 1);
        this.overlong();
        items.push(this.finishLine());
        continue;
      }
      const text = this.pending.subarray(0, lf > 0 && this.pending[lf - 1] === 0x0d ? lf - 1 : lf);
      this.pending = this.pending.subarray(lf + 1);
      // A line already in error may still announce a literal: its octets are read past, not as lines.
      const literal = this.tokenize(text) ?? (this.problem === null ? null : trailingLiteral(text));
      if (literal === null) {
        items.push(this.finishLine());
        continue;
      }
      const skip = this.problem !== null || literal > this.limits.maxLiteralSize;
      if (literal > this.limits.maxLiteralSize && this.problem === null) {
        this.problem = {
          reason: `a literal of ${literal} octets is over this server's limit of ${this.limits.maxLiteralSize}`,
          tooBig: true,
        };
      }
      this.mode = { kind: "literal", remaining: literal, chunks: [], skip };
    }
    return items;
  }

  private overlong(): void {
    this.problem ??= {
      reason: `line longer than ${this.limits.maxLineLength} octets; send long text as a literal`,
      tooBig: false,
    };
    this.mode = { kind: "discard" };
    this.pending = Buffer.alloc(0);
  }

  private finishLine(): Item {
    const problem = this.problem;
    const tokens = this.tokens;
    this.tokens = [];
    this.problem = null;
    this.lineOctets = 0;
    this.mode = { kind: "text" };
    if (problem !== null) return { kind: "error", ...problem };
    if (tokens.length === 0) return { kind: "error", reason: "empty line; send a command", tooBig: false };
    return { kind: "line", tokens };
  }

  private fail(reason: string): void {
    this.problem ??= { reason, tooBig: false };
  }

  private addToken(token: Token): void {
    if (this.tokens.length >= MAX_TOKENS) this.fail(`more than ${MAX_TOKENS} arguments on one line`);
    else this.tokens.push(token);
  }

  /**
   * Reads the tokens of one line's text (up to its CRLF). Returns a literal's length when the text
   * ends with one's announcement, else null.
   */
  private tokenize(text: Buffer): number | null {
    let at = 0;
    // Tokens are separated by single spaces (RFC 5804 §4); more, or a leading one, are tolerated.
    while (at < text.length) {
      const byte = text[at]!;
      if (byte === 0x20) {
        at += 1;
        continue;
      }
      if (byte === 0x22) {
        const end = this.quoted(text, at + 1);
        if (end === -1) return null;
        at = end;
        continue;
      }
      if (byte === 0x7b) {
        const match = /^\{(\d{1,10})(\+?)\}$/.exec(text.subarray(at).toString("latin1"));
        if (match === null) {
          this.fail("a literal is announced as {N+} at the end of a line");
          return null;
        }
        return Number(match[1]);
      }
      let end = at;
      while (end < text.length && text[end] !== 0x20) end += 1;
      const atom = text.subarray(at, end).toString("latin1");
      if (!/^[\x21-\x7e]+$/.test(atom) || /["{}\\]/.test(atom)) {
        this.fail(`"${atom.replace(/[^\x20-\x7e]/g, "?").slice(0, 40)}" is not a valid word here`);
        return null;
      }
      this.addToken({ kind: "atom", value: atom });
      at = end;
    }
    return null;
  }

  /** Reads a quoted string's body from `start`; the index after its closing quote, or -1. */
  private quoted(text: Buffer, start: number): number {
    const bytes: number[] = [];
    for (let at = start; at < text.length; at += 1) {
      const byte = text[at]!;
      if (byte === 0x22) {
        if (bytes.length > MAX_QUOTED) {
          this.fail(`a quoted string is longer than ${MAX_QUOTED} octets; send it as a literal`);
          return -1;
        }
        this.addToken({ kind: "string", value: Buffer.from(bytes) });
        return at + 1;
      }
      if (byte === 0x5c) {
        const next = text[at + 1];
        // RFC 5804 §4: only \" and \\ are escapes inside a quoted string.
        if (next !== 0x22 && next !== 0x5c) {
          this.fail('a backslash in a quoted string must precede " or \\');
          return -1;
        }
        bytes.push(next);
        at += 1;
        continue;
      }
      if (byte === 0x00 || byte === 0x0d) {
        this.fail("a quoted string cannot hold NUL or CR; send it as a literal");
        return -1;
      }
      bytes.push(byte);
    }
    this.fail("a quoted string is missing its closing quote");
    return -1;
  }
}

function trailingLiteral(text: Buffer): number | null {
  const match = /\{(\d{1,10})\+?\}$/.exec(text.toString("latin1"));
  return match === null ? null : Number(match[1]);
}

/** Encodes a string for the server's responses: quoted when it can be, else a literal. */
export function encodeString(value: string | Buffer): string | Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const simple =
    bytes.length <= MAX_QUOTED && !bytes.includes(0x0d) && !bytes.includes(0x0a) && !bytes.includes(0);
  if (simple) {
    return `"${bytes.toString("utf8").replace(/[\\"]/g, (special) => `\\${special}`)}"`;
  }
  return Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`), bytes]);
}
