// Bench messages: a fixed body of plain ASCII lines and a small per-message header block, sized so the
// whole message (headers + body, CRLF line ends, before the terminating dot) is the requested size.

const FILLER = "The quick brown fox jumps over the lazy dog while the mailroom counts its letters. ";

export interface MessageTemplate {
  size: number;
  /** The bytes to send after 354 for message number `n`, without the final ".\r\n". */
  render(n: number): Buffer;
}

function headers(n: number, from: string, to: string): string {
  return (
    `From: <${from}>\r\nTo: <${to}>\r\nSubject: bench message ${n}\r\n` +
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}\r\n` +
    `Message-ID: <bench.${process.pid}.${n}@bench.test>\r\nMIME-Version: 1.0\r\n` +
    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
  );
}

function bodyOfLength(length: number): string {
  let body = "";
  let line = 0;
  while (body.length < length) {
    const start = (line * 7) % FILLER.length;
    // 76 characters then CRLF; no line starts with "." so no dot-stuffing is needed (RFC 5321 §4.5.2).
    const text = (FILLER + FILLER).slice(start, start + 76).replace(/^[. ]/, "x");
    body += `${text}\r\n`;
    line += 1;
  }
  // Trim to size but keep a CRLF ending, as the DATA terminator must follow a line end.
  return `${body.slice(0, Math.max(0, length - 2))}\r\n`;
}

export function messageTemplate(size: number, from: string, to: string): MessageTemplate {
  const headerLength = headers(0, from, to).length;
  const body = Buffer.from(bodyOfLength(Math.max(2, size - headerLength)), "latin1");
  return {
    size: headerLength + body.length,
    render: (n) => Buffer.concat([Buffer.from(headers(n, from, to), "latin1"), body]),
  };
}
