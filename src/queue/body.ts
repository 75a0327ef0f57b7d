// The stored body as it goes out again: without the Return-Path line added at acceptance, because
// RFC 5321 §4.4 leaves that header to the final delivery, and an MTA relaying onwards must not send it.

import { type Readable, Transform, type TransformCallback } from "node:stream";

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
    // The field ends at a CRLF not followed by whitespace (RFC 5322 §2.2.3 folding). Only its length
    // is limited, not the chunk's: a body read in 64 KiB chunks has its whole field in the first one.
    let from = 0;
    for (;;) {
      const crlf = head.indexOf("\r\n", from);
      if (crlf === -1 || crlf + 2 > MAX_RETURN_PATH)
        return ended || head.length > MAX_RETURN_PATH ? head : null;
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

/** Bodies up to this size are read once and sent from memory; larger ones are streamed from the store. */
export const IN_MEMORY_BODY_LIMIT = 256 * 1024;

/**
 * A body to relay and whether it needs 8BITMIME, from one read when it is small: the relay used to read
 * every body twice (once to look for 8-bit bytes, once to send it), two file opens per message.
 * A larger body is scanned here and streamed again by `open` when sent, so memory stays bounded.
 */
export async function loadOutgoing(
  open: () => Readable,
): Promise<{ body: Buffer | (() => Readable); eightBit: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let eightBit = false;
  let tooLarge = false;
  const stream = open();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!eightBit) {
        for (let index = 0; index < chunk.length; index++) {
          if ((chunk[index] as number) > 0x7f) {
            eightBit = true;
            break;
          }
        }
      }
      if (!tooLarge) {
        size += chunk.length;
        tooLarge = size > IN_MEMORY_BODY_LIMIT;
        if (tooLarge) chunks.length = 0;
        else chunks.push(chunk);
      }
      // Past the limit only the 8-bit answer is still wanted, and the first such byte gives it.
      if (tooLarge && eightBit) break;
    }
  } finally {
    stream.destroy();
  }
  return tooLarge ? { body: open, eightBit } : { body: Buffer.concat(chunks, size), eightBit };
}
