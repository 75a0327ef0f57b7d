/** Content-Transfer-Encoding decoders (RFC 2045 §6). */

export type TransferEncoding = "identity" | "base64" | "quoted-printable";

/** Classifies a Content-Transfer-Encoding value; null for an encoding this server cannot decode. */
export function transferEncodingOf(value: string | null): TransferEncoding | null {
  const name = (value ?? "7bit").trim().toLowerCase();
  if (name === "7bit" || name === "8bit" || name === "binary" || name === "") return "identity";
  if (name === "base64") return "base64";
  if (name === "quoted-printable") return "quoted-printable";
  return null;
}

/** RFC 2045 §6.8: characters outside the alphabet are ignored; decoding stops at padding. */
export function decodeBase64(data: Buffer): Buffer {
  return Buffer.from(data.toString("latin1").replace(/[^A-Za-z0-9+/]/g, ""), "base64");
}

/**
 * RFC 2045 §6.8: anything but the alphabet, line breaks and padding at the end, or a length that is not
 * a whole number of quanta, is "most likely" damage in transport; decodeBase64 skips over it.
 */
function isMalformedBase64(data: Buffer): boolean {
  const text = data.toString("latin1").replace(/[\r\n \t]/g, "");
  return text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

export interface DecodedBytes {
  bytes: Buffer;
  /** The input broke the encoding's rules somewhere (decoding went on as best it could). */
  malformed: boolean;
}

/**
 * RFC 2045 §6.7. Trailing whitespace on a line is dropped (rule 3: it may have been added in transport),
 * "=" at end of line is a soft break, "=XX" is an octet; a malformed "=" is kept as is (§6.7 note 1).
 */
function quotedPrintable(data: Buffer): DecodedBytes {
  const out = Buffer.alloc(data.length);
  let malformed = false;
  let n = 0;
  let lineStart = 0;
  while (lineStart < data.length) {
    let lineEnd = data.indexOf(0x0a, lineStart);
    const hasBreak = lineEnd >= 0;
    if (!hasBreak) lineEnd = data.length;
    let contentEnd = lineEnd;
    if (hasBreak && contentEnd > lineStart && data[contentEnd - 1] === 0x0d) contentEnd--;
    while (contentEnd > lineStart && (data[contentEnd - 1] === 0x20 || data[contentEnd - 1] === 0x09)) {
      contentEnd--;
    }
    let soft = false;
    for (let i = lineStart; i < contentEnd; i++) {
      const c = data[i] as number;
      if (c !== 0x3d) {
        out[n++] = c;
        continue;
      }
      if (i === contentEnd - 1) {
        soft = true;
        break;
      }
      const hi = hexValue(data[i + 1]);
      const lo = hexValue(data[i + 2]);
      if (hi >= 0 && lo >= 0 && i + 2 < contentEnd) {
        out[n++] = hi * 16 + lo;
        i += 2;
      } else {
        out[n++] = c;
        malformed = true;
      }
    }
    if (hasBreak && !soft) {
      // The line break is kept as stored (CRLF or a bare LF), so the output never outgrows the input.
      for (let i = contentEnd; i <= lineEnd; i++) {
        const c = data[i];
        if (c === 0x0d || c === 0x0a) out[n++] = c;
      }
    }
    lineStart = lineEnd + 1;
  }
  return { bytes: out.subarray(0, n), malformed };
}

/** Decodes `data` with the given encoding class and says whether the input was damaged. */
export function decodeTransferChecked(data: Buffer, encoding: TransferEncoding): DecodedBytes {
  if (encoding === "base64") return { bytes: decodeBase64(data), malformed: isMalformedBase64(data) };
  if (encoding === "quoted-printable") return quotedPrintable(data);
  return { bytes: data, malformed: false };
}

/** Decodes `data` with the given encoding class. */
export function decodeTransfer(data: Buffer, encoding: TransferEncoding): Buffer {
  // Not through decodeTransferChecked: SEARCH and BINARY need no verdict, so they skip the base64 check.
  if (encoding === "base64") return decodeBase64(data);
  if (encoding === "quoted-printable") return quotedPrintable(data).bytes;
  return data;
}
