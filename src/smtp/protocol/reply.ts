// SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034, RFC 3463).

/** One reply: a three-digit code, an enhanced status code where one applies, and its text lines. */
export interface Reply {
  code: number;
  /**
   * "x.y.z", or null. RFC 2034 §3 exempts the greeting and the replies to HELO/EHLO; 3xx replies (354,
   * 334) have no enhanced class in RFC 3463 §2, and a 334 carries base64 that must stand alone.
   */
  enhanced: string | null;
  lines: string[];
}

export function reply(code: number, enhanced: string | null, text: string | string[]): Reply {
  return { code, enhanced, lines: typeof text === "string" ? [text] : text };
}

/** Reply text must not break the framing: CR, LF and other controls are replaced. */
function sanitize(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, " ");
}

/** "250-first\r\n250 last\r\n": every line but the last uses "-" (RFC 5321 §4.2.1). */
export function formatReply(value: Reply): string {
  const lines = value.lines.length > 0 ? value.lines : [""];
  const prefix = value.enhanced === null ? "" : `${value.enhanced} `;
  return lines
    .map((line, index) => {
      const separator = index === lines.length - 1 ? " " : "-";
      return `${value.code}${separator}${prefix}${sanitize(line)}`;
    })
    .map((line) => `${line}\r\n`)
    .join("");
}
