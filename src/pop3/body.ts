// Turns stored message bytes into a POP3 multi-line response body (RFC 1939 §3): every line that starts
// with "." gets another "." in front, and the response ends with CRLF "." CRLF. Works chunk by chunk, so
// a message of any size passes through holding one chunk at a time.

const DOT = 0x2e;
const LF = 0x0a;
const CR = 0x0d;
const TERMINATOR = Buffer.from(".\r\n");
const CRLF = Buffer.from("\r\n");
const DOT_BUFFER = Buffer.from(".");
const CRLF_TERMINATOR = Buffer.concat([CRLF, TERMINATOR]);

export class DotStuffer {
  private atLineStart = true;
  private lineLength = 0;
  private lineStartsWithCr = false;
  private inHeaders = true;
  private bodyLinesLeft: number;
  private complete = false;

  /** With `bodyLines` (TOP n m): the header, the blank line, then that many body lines; else everything. */
  constructor(bodyLines?: number) {
    this.bodyLinesLeft = bodyLines ?? Number.POSITIVE_INFINITY;
  }

  /** True once TOP's line budget is spent: the rest of the source need not be read. */
  get done(): boolean {
    return this.complete;
  }

  push(chunk: Uint8Array): Buffer {
    const input = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const parts: Buffer[] = [];
    let start = 0;
    while (start < input.length && !this.complete) {
      if (!this.inHeaders && this.atLineStart && this.bodyLinesLeft <= 0) {
        this.complete = true;
        break;
      }
      const lf = input.indexOf(LF, start);
      const end = lf === -1 ? input.length : lf + 1;
      if (this.atLineStart && input[start] === DOT) parts.push(DOT_BUFFER);
      if (this.lineLength === 0) this.lineStartsWithCr = input[start] === CR;
      parts.push(input.subarray(start, end));
      this.lineLength += end - start;
      start = end;
      if (lf === -1) {
        this.atLineStart = false;
        continue;
      }
      this.endLine();
    }
    if (!this.inHeaders && this.atLineStart && this.bodyLinesLeft <= 0) this.complete = true;
    return Buffer.concat(parts);
  }

  /** The bytes that close the response: a CRLF if the message lacked a final one, then ".CRLF". */
  finish(): Buffer {
    return this.atLineStart ? TERMINATOR : Buffer.concat([CRLF, TERMINATOR]);
  }

  private endLine(): void {
    const blank = this.lineLength === 1 || (this.lineLength === 2 && this.lineStartsWithCr);
    if (this.inHeaders) {
      if (blank) this.inHeaders = false;
    } else {
      this.bodyLinesLeft--;
    }
    this.atLineStart = true;
    this.lineLength = 0;
  }
}

/**
 * The multi-line body of RETR/TOP from an already-started iterator over the stored bytes. The iterator
 * is closed (destroying the underlying stream) when the body is complete, when TOP's budget is spent,
 * or when the consumer stops early.
 */
export async function* multilineBody(
  first: Uint8Array | null,
  rest: AsyncIterator<Uint8Array>,
  bodyLines?: number,
): AsyncGenerator<Buffer> {
  const stuffer = new DotStuffer(bodyLines);
  try {
    if (first !== null) {
      const out = stuffer.push(first);
      if (out.length > 0) yield out;
    }
    while (!stuffer.done) {
      const next = await rest.next();
      if (next.done) break;
      const out = stuffer.push(next.value);
      if (out.length > 0) yield out;
    }
    yield stuffer.finish();
  } finally {
    await rest.return?.();
  }
}

/**
 * A whole multi-line response in one buffer: the status line, the body with every line that starts
 * with "." given another "." (RFC 1939 §3), a CRLF if the body lacks a final one, then ".CRLF". The
 * same bytes DotStuffer produces, with one copy and no per-line work for lines that need none.
 */
export function stuffedResponse(status: string, body: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from(status, "latin1")];
  let start = 0;
  if (body[0] === DOT) parts.push(DOT_BUFFER);
  for (;;) {
    const dotLine = body.indexOf("\n.", start, "latin1");
    if (dotLine === -1) break;
    parts.push(body.subarray(start, dotLine + 1), DOT_BUFFER);
    start = dotLine + 1;
  }
  parts.push(body.subarray(start));
  parts.push(body.length === 0 || body[body.length - 1] === LF ? TERMINATOR : CRLF_TERMINATOR);
  return Buffer.concat(parts);
}
