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

export type LineItem = { kind: "line"; line: Buffer } | { kind: "overlong" };

export class LineReader {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private discarding = false;

  /** `limit` counts the line terminator; it may be changed between pushes (e.g. during SASL). */
  constructor(public limit: number = MAX_COMMAND_LINE) {}

  /** Octets buffered for an incomplete line. */
  get buffered(): number {
    return this.pendingLength;
  }

  /**
   * Consumes a chunk and returns the complete lines it finished. Lines are returned without their CRLF
   * (a bare LF is accepted too, as many servers do for hand-typed telnet sessions).
   */
  push(chunk: Buffer): LineItem[] {
    const items: LineItem[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      const end = lf === -1 ? chunk.length : lf + 1;
      const piece = chunk.subarray(start, end);
      start = end;
      if (this.discarding) {
        if (lf !== -1) {
          this.discarding = false;
          items.push({ kind: "overlong" });
        }
        continue;
      }
      if (this.pendingLength + piece.length > this.limit) {
        this.pending = [];
        this.pendingLength = 0;
        if (lf === -1) {
          this.discarding = true;
        } else {
          items.push({ kind: "overlong" });
        }
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

  /** Forgets any partial line (RFC 2595 §4 requires dropping what was pipelined after STLS). */
  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.discarding = false;
  }
}

function stripTerminator(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}
