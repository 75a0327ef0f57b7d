/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3), used with IMAP4rev1 clients that have not
 * enabled UTF8=ACCEPT (RFC 9051 §5.1, RFC 6855).
 */

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

export function encodeMailboxUtf7(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((unit, i) => {
      bytes.writeUInt16BE(unit, i * 2);
    });
    out += `&${bytes.toString("base64").replace(/=+$/, "").replace(/\//g, ",")}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (isDirect(unit)) {
      flush();
      out += unit === 0x26 ? "&-" : name[i];
    } else {
      pending.push(unit);
    }
  }
  flush();
  return out;
}

/** Returns null when `text` is not valid modified UTF-7. */
export function decodeMailboxUtf7(text: string): string | null {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const code = text.charCodeAt(i);
    if (!isDirect(code)) return null;
    if (ch !== "&") {
      out += ch;
      i++;
      continue;
    }
    const end = text.indexOf("-", i + 1);
    if (end < 0) return null;
    const encoded = text.slice(i + 1, end);
    i = end + 1;
    if (encoded === "") {
      out += "&";
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(encoded)) return null;
    const bytes = Buffer.from(encoded.replace(/,/g, "/"), "base64");
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    let decoded = "";
    for (let j = 0; j < bytes.length; j += 2) decoded += String.fromCharCode(bytes.readUInt16BE(j));
    // RFC 3501 §5.1.3: printable ASCII must not be encoded, so the form is unique.
    if ([...decoded].some((c) => isDirect(c.charCodeAt(0)))) return null;
    if (encodeMailboxUtf7(decoded) !== `&${encoded}-`) return null;
    out += decoded;
  }
  return out;
}
