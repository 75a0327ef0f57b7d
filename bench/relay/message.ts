// The relayed load: N messages of about `size` octets, each to one recipient, spread round-robin over
// several destination domains (each is a separate queue destination for mailroom).

export const SENDER = "bench@sender.bench.invalid";

export function domainOf(index: number, domains: number): string {
  return `d${index % domains}.relay.bench.invalid`;
}

export function recipientOf(index: number, domains: number): string {
  return `rcpt${index}@${domainOf(index, domains)}`;
}

/** A plain-text message with CRLF lines, padded to `size` octets. */
export function benchMessage(index: number, domains: number, size: number): Buffer {
  const header =
    `From: <${SENDER}>\r\nTo: <${recipientOf(index, domains)}>\r\nSubject: relay bench ${index}\r\n` +
    `Date: Tue, 24 Nov 2026 12:00:00 +0000\r\nMessage-ID: <relay-bench-${index}@sender.bench.invalid>\r\n\r\n`;
  const line = `${"x".repeat(70)}\r\n`;
  let body = "";
  while (header.length + body.length + line.length <= size) body += line;
  return Buffer.from(header + body, "latin1");
}
