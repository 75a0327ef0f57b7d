// Line ends between the store and the files: mailroom stores messages with CRLF (RFC 5322 §2.1), while
// Maildir and mbox files conventionally hold LF. The two conversions are chosen so a store → file →
// store round trip gives back the same bytes: only a message whose every line ends in CRLF is written
// with LF, and only a file with no CRLF at all is read as LF text — a stray CR in it is kept, as
// Dovecot's IMAP serves such a file. Anything else (binary parts, a file already in CRLF) is copied
// byte for byte both ways.

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");

/** Whether every CR in `bytes` is followed by LF and every LF preceded by CR. */
function onlyCrlf(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === CR && bytes[i + 1] !== LF) return false;
    if (b === LF && bytes[i - 1] !== CR) return false;
  }
  return true;
}

/** The file form of a stored message: CRLF → LF when all its line ends are CRLF, else unchanged. */
export function toFileLineEnds(stored: Buffer): Buffer {
  if (!stored.includes(CR) || !onlyCrlf(stored)) return stored;
  const out = Buffer.allocUnsafe(stored.length - countByte(stored, CR));
  let o = 0;
  for (const b of stored) if (b !== CR) out[o++] = b;
  return out;
}

/** The stored form of a file's message: LF → CRLF when it holds no CRLF at all, else unchanged. */
export function toStoredLineEnds(file: Buffer): Buffer {
  if (file.includes(CRLF)) return file;
  const lines = countByte(file, LF);
  if (lines === 0) return file;
  const out = Buffer.allocUnsafe(file.length + lines);
  let o = 0;
  for (const b of file) {
    if (b === LF) out[o++] = CR;
    out[o++] = b;
  }
  return out;
}

function countByte(bytes: Uint8Array, value: number): number {
  let n = 0;
  for (const b of bytes) if (b === value) n++;
  return n;
}
