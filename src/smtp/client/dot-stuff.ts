// The DATA encoding of a message body (RFC 5321 §4.5.2): a "." at the start of a line is doubled, and
// the body ends with CRLF "." CRLF. Bare LFs become CRLF, since RFC 5321 §2.3.8 forbids sending them.
// Works chunk by chunk, so a line start split across chunks is still seen.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const DOT_BUFFER = Buffer.from(".");
const CR_BUFFER = Buffer.from("\r");

export class DotStuffer {
  private atLineStart = true;
  private lastWasCr = false;

  /** The encoded form of `chunk`. */
  push(chunk: Buffer): Buffer {
    const pieces: Buffer[] = [];
    let from = 0;
    let changed = false;
    for (let index = 0; index < chunk.length; index += 1) {
      const byte = chunk[index];
      if (byte === DOT && this.atLineStart) {
        pieces.push(chunk.subarray(from, index), DOT_BUFFER);
        from = index;
        changed = true;
      } else if (byte === LF && !this.lastWasCr) {
        pieces.push(chunk.subarray(from, index), CR_BUFFER);
        from = index;
        changed = true;
      }
      this.atLineStart = byte === LF;
      this.lastWasCr = byte === CR;
    }
    if (!changed) return chunk;
    pieces.push(chunk.subarray(from));
    return Buffer.concat(pieces);
  }

  /** The terminator: completes an unfinished last line, then "." CRLF. */
  end(): Buffer {
    if (this.atLineStart) return Buffer.from(".\r\n");
    return Buffer.from(this.lastWasCr ? "\n.\r\n" : "\r\n.\r\n");
  }
}

/** The whole DATA payload for a body held in memory. */
export function dotStuff(body: Buffer): Buffer {
  const stuffer = new DotStuffer();
  return Buffer.concat([stuffer.push(body), stuffer.end()]);
}
