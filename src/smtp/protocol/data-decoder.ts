// The DATA body decoder (RFC 5321 §4.1.1.4, §4.5.2): streams bytes in, returns the unstuffed message
// bytes, and finds the end of data.
//
// Line ends: RFC 5321 §2.3.8 says CR and LF "MUST NOT appear" except together as CRLF, and §4.1.1.4
// defines the end of data as CRLF "." CRLF only. Servers that also took a bare LF as a line end let a
// sender hide a second message inside the first that the next hop reads differently (SMTP smuggling,
// CVE-2023-51764 and relatives). mailroom therefore never treats a bare CR or LF as a line end, and refuses
// a message containing either (550 5.6.11 once the real end marker arrives), so it never stores or relays
// bytes that another server could split differently.

export type DataError =
  /** A line (CRLF included) longer than the limit (RFC 5321 §4.5.3.1.6). */
  | "line-too-long"
  /** The message is larger than the limit. */
  | "too-big"
  /** A CR or LF that is not part of a CRLF pair. */
  | "bare-line-end";

export interface DataLimits {
  /** Octets per line, CRLF included. */
  maxLine: number;
  /** Octets of the decoded message. */
  maxSize: number;
}

export interface DataProgress {
  /** Decoded message bytes from this chunk (empty once an error is set: the rest is discarded). */
  data: Buffer[];
  /** True once the end marker was read. */
  done: boolean;
  /** Bytes after the end marker (the next commands), when done. */
  rest: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

enum State {
  /** At the start of a line. */
  LineStart,
  /** Inside a line. */
  Text,
  /** Just after a CR inside a line. */
  Cr,
  /** After a "." that started a line. */
  Dot,
  /** After "." CR at the start of a line. */
  DotCr,
}

export class DataDecoder {
  private state = State.LineStart;
  private lineLength = 0;
  private decodedSize = 0;
  private failure: DataError | null = null;
  private finished = false;

  constructor(private readonly limits: DataLimits) {}

  /** The first problem seen, if any; the caller answers it once `done`. */
  get error(): DataError | null {
    return this.failure;
  }

  /** Decoded octets so far (counted even past the limit, for logs). */
  get size(): number {
    return this.decodedSize;
  }

  feed(chunk: Uint8Array): DataProgress {
    if (this.finished) throw new Error("DataDecoder: feed after the end of data");
    const input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const data: Buffer[] = [];
    let runStart = 0;
    const flush = (end: number) => {
      if (end > runStart) {
        const piece = input.subarray(runStart, end);
        this.decodedSize += piece.length;
        if (this.failure === null && this.decodedSize > this.limits.maxSize) this.failure = "too-big";
        if (this.failure === null) data.push(piece);
      }
    };
    for (let index = 0; index < input.length; index += 1) {
      const byte = input[index]!;
      this.lineLength += 1;
      if (this.failure === null && this.lineLength > this.limits.maxLine) this.failure = "line-too-long";
      switch (this.state) {
        case State.LineStart:
          if (byte === DOT) {
            // Transparency (§4.5.2): the leading dot is dropped, whatever follows it.
            flush(index);
            runStart = index + 1;
            this.state = State.Dot;
          } else {
            this.state = this.textByte(byte);
          }
          break;
        case State.Text:
          this.state = this.textByte(byte);
          break;
        case State.Cr:
          if (byte === LF) {
            this.state = State.LineStart;
            this.lineLength = 0;
          } else {
            this.fail("bare-line-end");
            this.state = this.textByte(byte);
          }
          break;
        case State.Dot:
          if (byte === CR) {
            // Possibly the end marker: hold the CR back until the next byte decides.
            flush(index);
            runStart = index + 1;
            this.state = State.DotCr;
          } else {
            this.state = this.textByte(byte);
          }
          break;
        case State.DotCr:
          if (byte === LF) {
            this.finished = true;
            flush(runStart);
            return { data, done: true, rest: input.subarray(index + 1) };
          }
          // "." CR then something else: a bare CR, so the message is refused anyway.
          this.fail("bare-line-end");
          runStart = index;
          this.state = this.textByte(byte);
          break;
      }
    }
    flush(input.length);
    return { data, done: false, rest: Buffer.alloc(0) };
  }

  private textByte(byte: number): State {
    if (byte === CR) return State.Cr;
    if (byte === LF) this.fail("bare-line-end");
    return State.Text;
  }

  private fail(error: DataError): void {
    if (this.failure === null) this.failure = error;
  }
}

/**
 * Watches BDAT content for bare CR/LF (RFC 3030 chunks have no end marker, but the message may later be
 * relayed with DATA, where a bare line end would be read differently; BINARYMIME bodies are exempt).
 */
export class LineEndChecker {
  private afterCr = false;
  bare = false;

  feed(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (this.afterCr && byte !== LF) this.bare = true;
      if (!this.afterCr && byte === LF) this.bare = true;
      this.afterCr = byte === CR;
    }
  }

  /** At the end of the message a trailing CR is bare too. */
  finish(): boolean {
    return this.bare || this.afterCr;
  }
}
