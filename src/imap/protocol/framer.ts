/**
 * Splits the client's byte stream into whole commands: a command is its lines plus the literals they
 * announce (RFC 9051 §4.3). Synchronizing literals ({n}) need a "+" continuation before the client
 * sends them; non-synchronizing ones ({n+}, RFC 7888) arrive without one. Everything is bounded: the
 * length of a line, of one literal, of the whole command and the number of literals.
 */

export interface FramerLimits {
  /** Longest line outside literals, CRLF included. */
  maxLine: number;
  /** Largest literal a command may carry (APPEND's message). */
  maxLiteral: number;
  /** Literals in one command. */
  maxLiterals: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = {
  maxLine: 64 * 1024,
  maxLiteral: 50 * 1024 * 1024,
  maxLiterals: 1000,
};

/** A complete command: text lines (CRLF removed) with the literal that follows each but the last. */
export interface CommandFrame {
  lines: Buffer[];
  literals: Buffer[];
}

export type FrameItem =
  | { kind: "command"; frame: CommandFrame }
  /** A raw line (SASL response, IDLE's DONE) while the framer is in line mode. */
  | { kind: "line"; line: Buffer }
  /** The client waits for "+" before sending a synchronizing literal. */
  | { kind: "continue" }
  /** The command could not be read and was dropped; `tag` is its tag when known. */
  | {
      kind: "error";
      tag: string | null;
      reason: "line-too-long" | "literal-too-large" | "too-many-literals";
    };

const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}$/;

export class CommandFramer {
  /**
   * When true, the next line is delivered raw (literal markers not interpreted); the mode then ends
   * by itself, so commands pipelined after IDLE's DONE are framed as commands.
   */
  lineMode = false;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private lines: Buffer[] = [];
  private literals: Buffer[] = [];
  /** Bytes the current literal still needs. */
  private literalRemaining = 0;
  private literalParts: Buffer[] = [];
  /** Bytes of a refused literal still to be thrown away. */
  private discardRemaining = 0;
  /** True while throwing away the rest of an overlong line. */
  private skippingLine = false;
  private commandBytes = 0;

  constructor(readonly limits: FramerLimits = DEFAULT_FRAMER_LIMITS) {}

  /** Forgets everything half-read (STARTTLS: nothing pipelined before the handshake survives). */
  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.lines = [];
    this.literals = [];
    this.literalRemaining = 0;
    this.literalParts = [];
    this.discardRemaining = 0;
    this.skippingLine = false;
    this.commandBytes = 0;
  }

  push(chunk: Buffer): FrameItem[] {
    const items: FrameItem[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.discardRemaining > 0) {
        const n = Math.min(this.discardRemaining, data.length);
        this.discardRemaining -= n;
        data = data.subarray(n);
        continue;
      }
      if (this.literalRemaining > 0) {
        const n = Math.min(this.literalRemaining, data.length);
        this.literalParts.push(data.subarray(0, n));
        this.literalRemaining -= n;
        data = data.subarray(n);
        if (this.literalRemaining === 0) {
          this.literals.push(Buffer.concat(this.literalParts));
          this.literalParts = [];
        }
        continue;
      }
      const lf = data.indexOf(0x0a);
      if (lf < 0) {
        this.appendPending(data, items);
        break;
      }
      this.appendPending(data.subarray(0, lf + 1), items);
      data = data.subarray(lf + 1);
      if (this.skippingLine) {
        this.skippingLine = false;
        this.pending = [];
        this.pendingLength = 0;
        continue;
      }
      let line = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingLength = 0;
      line = line.subarray(0, line.length - (line.length >= 2 && line[line.length - 2] === 0x0d ? 2 : 1));
      this.lineComplete(line, items);
    }
    return items;
  }

  private appendPending(data: Buffer, items: FrameItem[]): void {
    if (this.skippingLine) return;
    if (this.pendingLength + data.length > this.limits.maxLine) {
      const head = this.lines[0] ?? Buffer.concat([...this.pending, data]);
      items.push({ kind: "error", tag: tagOf(head), reason: "line-too-long" });
      this.lines = [];
      this.literals = [];
      this.commandBytes = 0;
      this.pending = [];
      this.pendingLength = 0;
      // Everything up to the next line break belongs to the dropped line.
      this.skippingLine = true;
      return;
    }
    this.pending.push(data);
    this.pendingLength += data.length;
  }

  private lineComplete(line: Buffer, items: FrameItem[]): void {
    if (this.lineMode && this.lines.length === 0) {
      this.lineMode = false;
      items.push({ kind: "line", line });
      return;
    }
    this.lines.push(line);
    this.commandBytes += line.length;
    const match = LITERAL_AT_END.exec(line.subarray(Math.max(0, line.length - 24)).toString("latin1"));
    if (match === null) {
      items.push({ kind: "command", frame: { lines: this.lines, literals: this.literals } });
      this.lines = [];
      this.literals = [];
      this.commandBytes = 0;
      return;
    }
    const size = Number(match[1]);
    const nonSync = match[2] === "+";
    const tag = tagOf(this.lines[0] ?? line);
    const tooMany = this.literals.length + 1 > this.limits.maxLiterals;
    const tooLarge =
      !Number.isSafeInteger(size) ||
      size > this.limits.maxLiteral ||
      this.commandBytes + size > this.limits.maxLiteral + this.limits.maxLine;
    if (tooMany || tooLarge) {
      items.push({ kind: "error", tag, reason: tooMany ? "too-many-literals" : "literal-too-large" });
      this.lines = [];
      this.literals = [];
      this.commandBytes = 0;
      // A synchronizing literal is never sent once refused; a non-synchronizing one is already on
      // its way and is thrown away so its bytes are not read as commands (RFC 7888 §4).
      if (nonSync) this.discardRemaining = Number.isSafeInteger(size) ? size : Number.MAX_SAFE_INTEGER;
      return;
    }
    this.commandBytes += size;
    if (!nonSync) items.push({ kind: "continue" });
    if (size === 0) {
      this.literals.push(Buffer.alloc(0));
    } else {
      this.literalRemaining = size;
    }
  }
}

function tagOf(line: Buffer): string | null {
  const text = line.subarray(0, 64).toString("latin1");
  const match = /^([\x21-\x7e]+?)(?: |$)/.exec(text);
  const tag = match?.[1];
  if (tag === undefined || /[(){%*"\\+]/.test(tag)) return null;
  return tag;
}
