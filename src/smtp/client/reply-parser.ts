// Turns the bytes a server sends into replies (RFC 5321 §4.2), with bounds so a broken or hostile server
// cannot make the client buffer without limit.

import type { Reply } from "./types.js";

/** RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; some servers exceed it, so allow 4 times that. */
export const MAX_REPLY_LINE = 2048;
/** EHLO replies are the longest in practice: a few dozen lines. */
export const MAX_REPLY_LINES = 200;

/** A reply with its lines kept apart (EHLO keywords are read from them). */
export interface RawReply {
  code: number;
  /** The text after "250-" / "250 ", one entry per line. */
  lines: string[];
}

export class ReplyProtocolError extends Error {
  override name = "ReplyProtocolError";
}

const LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
const ENHANCED = /^([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: +|$)/;

export class ReplyParser {
  private partial = Buffer.alloc(0);
  private lines: string[] = [];
  private code: number | null = null;

  /** Returns the replies completed by `chunk`; throws ReplyProtocolError on malformed input. */
  push(chunk: Buffer): RawReply[] {
    const done: RawReply[] = [];
    let data = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    for (;;) {
      const newline = data.indexOf(0x0a);
      if (newline === -1) break;
      // A bare LF is tolerated as a line end; the CR of CRLF is dropped.
      const end = newline > 0 && data[newline - 1] === 0x0d ? newline - 1 : newline;
      if (end > MAX_REPLY_LINE)
        throw new ReplyProtocolError(`reply line longer than ${MAX_REPLY_LINE} bytes`);
      const reply = this.line(data.subarray(0, end).toString("utf8"));
      if (reply) done.push(reply);
      data = data.subarray(newline + 1);
    }
    if (data.length > MAX_REPLY_LINE)
      throw new ReplyProtocolError(`reply line longer than ${MAX_REPLY_LINE} bytes`);
    this.partial = Buffer.from(data);
    return done;
  }

  private line(text: string): RawReply | null {
    const match = LINE.exec(text);
    if (!match) throw new ReplyProtocolError(`not an SMTP reply: ${JSON.stringify(text.slice(0, 80))}`);
    const code = Number(match[1]);
    if (this.code !== null && code !== this.code) {
      // RFC 5321 §4.2.1: every line of a multiline reply carries the same code.
      throw new ReplyProtocolError(`multiline reply changed its code from ${this.code} to ${code}`);
    }
    this.code = code;
    this.lines.push(match[3] ?? "");
    if (this.lines.length > MAX_REPLY_LINES)
      throw new ReplyProtocolError(`reply longer than ${MAX_REPLY_LINES} lines`);
    if (match[2] === "-") return null;
    const reply = { code, lines: this.lines };
    this.lines = [];
    this.code = null;
    return reply;
  }
}

/** The enhanced status code (RFC 3463) is taken from the first line when its class matches the code's. */
export function toReply(raw: RawReply): Reply {
  const first = ENHANCED.exec(raw.lines[0] ?? "");
  const codeClass = String(raw.code)[0];
  const enhanced = first && first[1] === codeClass ? `${first[1]}.${first[2]}.${first[3]}` : null;
  const text = enhanced
    ? raw.lines.map((line) => (line.startsWith(enhanced) ? line.slice(enhanced.length).trimStart() : line))
    : raw.lines;
  return { code: raw.code, enhanced, text: text.join("\n") };
}

/** EHLO keywords (RFC 5321 §4.1.1.1): every line after the first, keyword upper-cased → its parameters. */
export function parseExtensions(raw: RawReply): Map<string, string> {
  const extensions = new Map<string, string>();
  for (const line of raw.lines.slice(1)) {
    const match = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (match?.[1]) extensions.set(match[1].toUpperCase(), (match[2] ?? "").trim());
  }
  return extensions;
}
