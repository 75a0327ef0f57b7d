// The stored body as it goes out again: without the Return-Path line added at acceptance, because
// RFC 5321 §4.4 leaves that header to the final delivery, and an MTA relaying onwards must not send it.

import { Transform, type TransformCallback } from "node:stream";

/** A Return-Path field longer than this is not one we wrote: pass the bytes on untouched. */
const MAX_RETURN_PATH = 4096;
const PREFIX = Buffer.from("return-path:");

/**
 * Buffers the start of the stream only until it knows whether the first header field is Return-Path
 * (with any folded continuation lines), drops that field, and passes everything else through.
 */
export class ReturnPathStripper extends Transform {
  private head: Buffer | null = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.head === null) {
      callback(null, chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    const decided = this.decide(false);
    if (decided !== null) {
      this.head = null;
      callback(null, decided);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.head !== null) {
      const rest = this.decide(true) ?? this.head;
      this.head = null;
      if (rest.length > 0) this.push(rest);
    }
    callback();
  }

  /** The bytes to pass on once the first field is known, or null to wait for more. */
  private decide(ended: boolean): Buffer | null {
    const head = this.head as Buffer;
    const compared = Math.min(head.length, PREFIX.length);
    if (
      head.subarray(0, compared).toString("latin1").toLowerCase() !== PREFIX.subarray(0, compared).toString()
    ) {
      return head;
    }
    if (head.length > MAX_RETURN_PATH) return head;
    // The field ends at a CRLF not followed by whitespace (RFC 5322 §2.2.3 folding).
    let from = 0;
    for (;;) {
      const crlf = head.indexOf("\r\n", from);
      if (crlf === -1) return ended ? head : null;
      const next = head[crlf + 2];
      if (next === undefined) return ended ? Buffer.alloc(0) : null;
      if (next !== 0x20 && next !== 0x09) return head.subarray(crlf + 2);
      from = crlf + 2;
    }
  }
}

/** Whether any byte is outside 7-bit ASCII, so the body needs BODY=8BITMIME (RFC 6152). */
export async function hasEightBitBytes(stream: AsyncIterable<Buffer>): Promise<boolean> {
  for await (const chunk of stream) {
    for (const byte of chunk) if (byte > 0x7f) return true;
  }
  return false;
}
