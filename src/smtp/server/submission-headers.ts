// RFC 6409 §8.2 and §8.3: a submission server may add the Date and Message-ID fields a message lacks.
// Both belong in the header section, which comes first, so it is held back until its end is seen; the
// body streams through untouched. The hold is bounded: past the limit the message passes unchanged.

/** The most header section held back; a longer one is passed on as it is, without added fields. */
export const MAX_HEADER_SECTION = 256 * 1024;

const EMPTY = Buffer.alloc(0);

export interface AddedFields {
  /** RFC 5322 §3.3 date-time. */
  date: () => string;
  /** RFC 5322 §3.6.4 msg-id, with its angle brackets. */
  messageId: () => string;
}

export class SubmissionHeaders {
  private held: Buffer = EMPTY;
  /** Offset in `held` of the first line not yet looked at. */
  private scanned = 0;
  private passing = false;
  private hasDate = false;
  private hasMessageId = false;

  constructor(
    private readonly fields: AddedFields,
    private readonly limit = MAX_HEADER_SECTION,
  ) {}

  /** Takes message bytes; returns those to write now (nothing while the header section is held). */
  push(chunk: Buffer): Buffer {
    if (this.passing) return chunk;
    this.held = this.held.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.held, chunk]);
    for (;;) {
      const lf = this.held.indexOf(0x0a, this.scanned);
      if (lf === -1) break;
      const lineEnd = lf > this.scanned && this.held[lf - 1] === 0x0d ? lf - 1 : lf;
      if (lineEnd === this.scanned) {
        // RFC 5322 §2.1: the empty line ends the header section; the fields go just before it.
        return this.release(this.scanned, false);
      }
      this.note(this.held.subarray(this.scanned, lineEnd));
      this.scanned = lf + 1;
    }
    if (this.held.length > this.limit) {
      this.passing = true;
      const all = this.held;
      this.held = EMPTY;
      return all;
    }
    return EMPTY;
  }

  /** The data ended: what is still held, with the fields added when the whole message was header. */
  finish(): Buffer {
    if (this.passing) return EMPTY;
    // A header section without a body (RFC 5322 §3.5 makes the body optional), maybe without a final
    // CRLF when it came by BDAT.
    if (this.scanned < this.held.length) this.note(this.held.subarray(this.scanned));
    return this.release(this.held.length, this.held.length > 0 && this.held.at(-1) !== 0x0a);
  }

  private note(line: Buffer): void {
    const start = line.subarray(0, 16).toString("latin1");
    // RFC 5322 §4.5.3 (obsolete syntax) allows white space before the colon.
    if (/^date[ \t]*:/i.test(start)) this.hasDate = true;
    else if (/^message-id[ \t]*:/i.test(start)) this.hasMessageId = true;
  }

  private release(at: number, needsLineEnd: boolean): Buffer {
    this.passing = true;
    let added = needsLineEnd ? "\r\n" : "";
    if (!this.hasDate) added += `Date: ${this.fields.date()}\r\n`;
    if (!this.hasMessageId) added += `Message-ID: ${this.fields.messageId()}\r\n`;
    const held = this.held;
    this.held = EMPTY;
    if (added === "" || added === "\r\n") return held;
    return Buffer.concat([held.subarray(0, at), Buffer.from(added, "latin1"), held.subarray(at)]);
  }
}
