// Splits the client's byte stream into lines without ever holding more than one line's worth of bytes.
// A line longer than the limit is not an attack we answer per chunk: its bytes are dropped up to the
// next LF and the whole thing is reported once, as one "overlong" item, so the session can reply once.

/** RFC 2449 §4: a POP3 command line is at most 255 octets, the terminating CRLF included. */
export const MAX_COMMAND_LINE = 255;

/**
 * SASL responses (RFC 5034 §4) are base64 and can outgrow a command line (a SCRAM client-final with a
 * long user name); they get a larger, still bounded, limit.
 */
export const MAX_SASL_LINE = 8192;

/**
 * Octets past the limit read while looking for the end of an overlong line. A client that sends this
 * much more without a line feed is not speaking POP3: it is told so and disconnected ("runaway"),
 * rather than read until the idle timeout.
 */
export const OVERLONG_LINE_SLACK = 4096;

/** "runaway" is the last item a reader gives: it ignores everything after it until reset(). */
export type LineItem = { kind: "line"; line: Buffer } | { kind: "overlong" } | { kind: "runaway" };

export class LineReader {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Octets of an overlong line thrown away so far (0: not in one), and the limit it broke. */
  private discarded = 0;
  private discardLimit = 0;
  private stoppedValue = false;

  /** `limit` counts the line terminator; it may be changed between pushes (e.g. during SASL). */
  constructor(public limit: number = MAX_COMMAND_LINE) {}

  /** Octets buffered for an incomplete line. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** True once a runaway line was reported: nothing more is read. */
  get stopped(): boolean {
    return this.stoppedValue;
  }

  /**
   * Consumes a chunk and returns the complete lines it finished. Lines are returned without their CRLF
   * (a bare LF is accepted too, as many servers do for hand-typed telnet sessions).
   */
  push(chunk: Buffer): LineItem[] {
    const items: LineItem[] = [];
    let start = 0;
    while (start < chunk.length && !this.stoppedValue) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf === -1 ? chunk.length : lf + 1;
      const piece = chunk.subarray(start, end);
      start = end;
      if (this.discarded > 0) {
        this.discard(piece, lf !== -1, items);
        continue;
      }
      if (this.pendingLength + piece.length > this.limit) {
        this.discardLimit = this.limit;
        this.discarded = this.pendingLength;
        this.pending = [];
        this.pendingLength = 0;
        this.discard(piece, lf !== -1, items);
        continue;
      }
      this.pending.push(piece);
      this.pendingLength += piece.length;
      if (lf !== -1) {
        items.push({ kind: "line", line: stripTerminator(Buffer.concat(this.pending, this.pendingLength)) });
        this.pending = [];
        this.pendingLength = 0;
      }
    }
    return items;
  }

  private discard(piece: Buffer, complete: boolean, items: LineItem[]): void {
    this.discarded += piece.length;
    if (complete) {
      this.discarded = 0;
      items.push({ kind: "overlong" });
    } else if (this.discarded > this.discardLimit + OVERLONG_LINE_SLACK) {
      this.stoppedValue = true;
      items.push({ kind: "runaway" });
    }
  }

  /** Forgets any partial line (RFC 2595 §4 requires dropping what was pipelined after STLS). */
  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.discarded = 0;
    this.stoppedValue = false;
  }
}

function stripTerminator(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}
