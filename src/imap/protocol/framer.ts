/**
 * Splits the client's byte stream into whole commands: a command is its lines plus the literals they
 * announce (RFC 9051 §4.3). Synchronizing literals ({n}) need a "+" continuation before the client
 * sends them; non-synchronizing ones ({n+}, RFC 7888) arrive without one. Everything held in memory is
 * bounded: the length of a line, of one literal, of the whole command and the number of literals.
 *
 * APPEND's message literals (several with MULTIAPPEND, RFC 3502; CATENATE's TEXT parts, RFC 4469) are not
 * held: each is handed on in pieces as they arrive ("literal-start", then "literal-data" items), so the session can write it to disk. For a synchronizing one the framer then
 * waits for the session's verdict (resolveLiteral) before reading further: the "+" or the refusal
 * comes from the session, after it has checked the mailbox and the size.
 */

export interface FramerLimits {
  /** Longest line outside literals, CRLF included. */
  maxLine: number;
  /** Largest literal held in memory (every literal except APPEND's message, which is streamed). */
  maxLiteral: number;
  /** Literals in one command. */
  maxLiterals: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = {
  maxLine: 64 * 1024,
  maxLiteral: 64 * 1024,
  maxLiterals: 1000,
};

/**
 * Octets past the line limit read while looking for the end of an overlong line. A client that sends
 * this much more without a line feed is not speaking IMAP: the framer reports a "runaway" and reads
 * nothing more, so the session can say BYE instead of reading until the idle timeout.
 */
export const OVERLONG_LINE_SLACK = 4096;

/** A complete command: text lines (CRLF removed) with the literal that follows each but the last. */
export interface CommandFrame {
  lines: Buffer[];
  literals: Buffer[];
  /**
   * Indexes of the literals that were streamed (APPEND's messages): in `lines` their sizes read {0} and
   * in `literals` they are empty; their bytes went out as "literal-data" items.
   */
  streamed?: number[];
}

export type FrameItem =
  | { kind: "command"; frame: CommandFrame }
  /** A raw line (SASL response, IDLE's DONE) while the framer is in line mode. */
  | { kind: "line"; line: Buffer }
  /** The client waits for "+" before sending a synchronizing literal. */
  | { kind: "continue" }
  /**
   * One of APPEND's message literals is announced: `frame` is the command so far (its last line ends in
   * the literal, whose size reads {0}); `part` counts the streamed literals before it in this command
   * (messages, or CATENATE TEXT parts). When
   * `sync`, the framer reads nothing more until resolveLiteral().
   */
  | {
      kind: "literal-start";
      tag: string | null;
      frame: CommandFrame;
      part: number;
      size: number;
      sync: boolean;
    }
  /** The next piece of the streamed literal; the pieces add up to the announced size. */
  | { kind: "literal-data"; data: Buffer }
  /** The command could not be read and was dropped; `tag` is its tag when known. */
  | {
      kind: "error";
      tag: string | null;
      reason: "line-too-long" | "literal-too-large" | "too-many-literals" | "runaway";
      /** For literal-too-large: the largest literal accepted. */
      limit?: number;
    };

const LITERAL_AT_END = /\{(\d{1,20})(\+?)\}$/;
/** The first line of an APPEND (tag SP "APPEND" SP …), and one whose literal is the mailbox name. */
const APPEND_LINE = /^[^ ]+ APPEND /i;
const APPEND_MAILBOX_LITERAL = /^[^ ]+ APPEND ~?\{\d+\+?\}$/i;
/** A CATENATE URL given as a literal (RFC 4469 §5: "URL" SP astring), and a mailbox that is named URL. */
const URL_LITERAL = /[ (]URL $/i;
const APPEND_TO_URL = /^[^ ]+ APPEND URL $/i;

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
  /** True while throwing away the rest of an overlong line; how much of it was thrown away. */
  private skippingLine = false;
  private skippedBytes = 0;
  /** Set by a runaway line: nothing more is framed until reset(). */
  private stoppedValue = false;
  private commandBytes = 0;
  /** True while the current literal is streamed out as "literal-data" instead of held. */
  private streaming = false;
  /** Indexes of the streamed literals in the command being read. */
  private streamedIndexes: number[] = [];
  /** Waiting for resolveLiteral(); input meanwhile is held here (the adapter pauses the socket). */
  private awaiting = false;
  private held: Buffer[] = [];

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
    this.skippedBytes = 0;
    this.stoppedValue = false;
    this.commandBytes = 0;
    this.streaming = false;
    this.streamedIndexes = [];
    this.awaiting = false;
    this.held = [];
  }

  /** True once a runaway line was reported. */
  get stopped(): boolean {
    return this.stoppedValue;
  }

  /** True from a command's first streamed literal (APPEND's message) until the command is complete. */
  get inStreamedCommand(): boolean {
    return this.streaming || this.awaiting || this.streamedIndexes.length > 0;
  }

  /** True after a synchronizing streamed literal was announced, until resolveLiteral(). */
  get awaitingVerdict(): boolean {
    return this.awaiting;
  }

  /**
   * The session's verdict on the synchronizing literal announced by "literal-start": accepted, its bytes
   * are expected next; refused, the client will not send them (it got a tagged NO instead of "+"), so
   * the command is forgotten. Returns the items framed from input held meanwhile.
   */
  resolveLiteral(accepted: boolean): FrameItem[] {
    if (!this.awaiting) return [];
    this.awaiting = false;
    if (!accepted) this.dropCommand();
    const held = this.held;
    this.held = [];
    return held.length === 0 ? [] : this.push(Buffer.concat(held));
  }

  push(chunk: Buffer): FrameItem[] {
    const items: FrameItem[] = [];
    let data = chunk;
    while (data.length > 0 && !this.stoppedValue) {
      if (this.awaiting) {
        this.held.push(data);
        break;
      }
      if (this.discardRemaining > 0) {
        const n = Math.min(this.discardRemaining, data.length);
        this.discardRemaining -= n;
        data = data.subarray(n);
        continue;
      }
      if (this.literalRemaining > 0) {
        const n = Math.min(this.literalRemaining, data.length);
        if (this.streaming) items.push({ kind: "literal-data", data: data.subarray(0, n) });
        else this.literalParts.push(data.subarray(0, n));
        this.literalRemaining -= n;
        data = data.subarray(n);
        if (this.literalRemaining === 0) {
          this.literals.push(this.streaming ? Buffer.alloc(0) : Buffer.concat(this.literalParts));
          this.literalParts = [];
          this.streaming = false;
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
        this.skippedBytes = 0;
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
    if (this.skippingLine) {
      this.skip(data, items);
      return;
    }
    if (this.pendingLength + data.length > this.limits.maxLine) {
      this.skippedBytes = this.pendingLength;
      const head = this.lines[0] ?? Buffer.concat([...this.pending, data]);
      items.push({ kind: "error", tag: tagOf(head), reason: "line-too-long" });
      this.dropCommand();
      this.pending = [];
      this.pendingLength = 0;
      // Everything up to the next line break belongs to the dropped line.
      this.skippingLine = true;
      this.skip(data, items);
      return;
    }
    this.pending.push(data);
    this.pendingLength += data.length;
  }

  /** Throws away part of an overlong line; `data` ends at its line feed when it has one. */
  private skip(data: Buffer, items: FrameItem[]): void {
    this.skippedBytes += data.length;
    if (data[data.length - 1] === 0x0a) return;
    if (this.skippedBytes > this.limits.maxLine + OVERLONG_LINE_SLACK) {
      this.stoppedValue = true;
      items.push({ kind: "error", tag: null, reason: "runaway" });
    }
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
      const frame: CommandFrame = { lines: this.lines, literals: this.literals };
      if (this.streamedIndexes.length > 0) frame.streamed = this.streamedIndexes;
      items.push({ kind: "command", frame });
      this.dropCommand();
      return;
    }
    const size = Number(match[1]);
    const nonSync = match[2] === "+";
    const tag = tagOf(this.lines[0] ?? line);
    const tooMany = this.literals.length + 1 > this.limits.maxLiterals;
    if (!tooMany && Number.isSafeInteger(size) && this.isAppendMessage(line, match[0].length)) {
      this.startStreamed(line, match[0].length, tag, size, !nonSync, items);
      return;
    }
    const tooLarge =
      !Number.isSafeInteger(size) ||
      size > this.limits.maxLiteral ||
      this.commandBytes + size > this.limits.maxLiteral + this.limits.maxLine;
    if (tooMany || tooLarge) {
      items.push(
        tooMany
          ? { kind: "error", tag, reason: "too-many-literals" }
          : { kind: "error", tag, reason: "literal-too-large", limit: this.limits.maxLiteral },
      );
      this.dropCommand();
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

  /**
   * APPEND's message: any literal after the mailbox name (flags are atoms and the date a quoted string,
   * so every later literal of an APPEND is a message, one per MULTIAPPEND part, or a CATENATE TEXT
   * part) except a CATENATE URL's, which is held like any other literal.
   */
  private isAppendMessage(line: Buffer, markerLength: number): boolean {
    const first = this.lines[0];
    if (first === undefined) return false;
    const head = first.subarray(0, 64).toString("latin1");
    if (!APPEND_LINE.test(head)) return false;
    // The mailbox itself may be a literal: "a APPEND {5}" on the first line.
    if (this.lines.length === 1 && APPEND_MAILBOX_LITERAL.test(first.toString("latin1"))) return false;
    const before = line.subarray(0, line.length - markerLength);
    const tail = before.subarray(Math.max(0, before.length - 5)).toString("latin1");
    if (!URL_LITERAL.test(tail)) return true;
    return this.lines.length === 1 && APPEND_TO_URL.test(before.toString("latin1"));
  }

  private startStreamed(
    line: Buffer,
    markerLength: number,
    tag: string | null,
    size: number,
    sync: boolean,
    items: FrameItem[],
  ): void {
    // The command keeps a {0} literal in its place, so it parses as usual once complete.
    const last = this.lines.length - 1;
    this.lines[last] = Buffer.concat([line.subarray(0, line.length - markerLength), Buffer.from("{0}")]);
    const part = this.streamedIndexes.length;
    this.streamedIndexes = [...this.streamedIndexes, this.literals.length];
    items.push({
      kind: "literal-start",
      tag,
      frame: { lines: [...this.lines], literals: [...this.literals] },
      part,
      size,
      sync,
    });
    this.awaiting = sync;
    if (size === 0) {
      this.literals.push(Buffer.alloc(0));
    } else {
      this.streaming = true;
      this.literalRemaining = size;
    }
  }

  private dropCommand(): void {
    this.lines = [];
    this.literals = [];
    this.commandBytes = 0;
    this.literalRemaining = 0;
    this.literalParts = [];
    this.streaming = false;
    this.streamedIndexes = [];
  }
}

function tagOf(line: Buffer): string | null {
  const text = line.subarray(0, 64).toString("latin1");
  const match = /^([\x21-\x7e]+?)(?: |$)/.exec(text);
  const tag = match?.[1];
  if (tag === undefined || /[(){%*"\\+]/.test(tag)) return null;
  return tag;
}
