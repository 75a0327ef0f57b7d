// Finds a message's header section while its body is being written, so the store can keep it next to
// the message row and IMAP can answer header FETCH and SEARCH without reading the body file.

import { HEADER_BLOCK_LIMIT, StoreError } from "./types.js";

const CR = 0x0d;
const LF = 0x0a;
const INITIAL_CAPACITY = 4096;

/**
 * Watches the first bytes written to a body, across chunk boundaries, and keeps at most `limit` of them
 * until the empty line ending the header section (RFC 5322 §2.1) is seen.
 */
export class HeaderCapture {
  private buffer: Buffer | null = Buffer.alloc(INITIAL_CAPACITY);
  private length = 0;
  private block: Buffer | null = null;
  /** True once the header end is found or cannot be found any more; later bytes are not looked at. */
  private settled = false;

  constructor(private readonly limit = HEADER_BLOCK_LIMIT) {}

  feed(chunk: Uint8Array): void {
    if (this.settled || chunk.byteLength === 0) return;
    const buffer = this.buffer as Buffer;
    const take = Math.min(chunk.byteLength, this.limit + 1 - this.length);
    const grown = this.ensureCapacity(buffer, this.length + take);
    grown.set(chunk.subarray(0, take), this.length);
    // The empty line may straddle the previous chunk: look again at its last three bytes.
    const from = Math.max(0, this.length - 3);
    this.length += take;
    const end = findHeaderEnd(grown, from, this.length);
    if (end !== -1 && end <= this.limit) {
      this.block = Buffer.from(grown.subarray(0, end));
      this.settle();
    } else if (this.length > this.limit) {
      this.settle();
    }
  }

  /** The header block once every byte has been fed; null when it is unknown (no end within the limit). */
  result(): Buffer | null {
    if (this.settled) return this.block;
    // No empty line anywhere in a message that fits: the whole message is its header (RFC 5322 §3.5).
    return Buffer.from((this.buffer as Buffer).subarray(0, this.length));
  }

  private settle(): void {
    this.settled = true;
    this.buffer = null;
  }

  private ensureCapacity(buffer: Buffer, needed: number): Buffer {
    if (needed <= buffer.length) return buffer;
    let capacity = buffer.length;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.alloc(Math.min(capacity, this.limit + 1));
    buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    return grown;
  }
}

/** Index just past the empty line ending the header section in bytes[0, length), or -1. */
function findHeaderEnd(bytes: Buffer, from: number, length: number): number {
  // An empty first line means an empty header section: the block is that line alone.
  if (length >= 2 && bytes[0] === CR && bytes[1] === LF) return 2;
  const window = bytes.subarray(0, length);
  const at = window.indexOf("\r\n\r\n", from, "latin1");
  return at === -1 ? -1 : at + 4;
}

/** The header block of a whole message read from its body (see BlobStore.readHeaderBlocks); null when unknown. */
export function headerBlockOf(message: Uint8Array): Buffer | null {
  const capture = new HeaderCapture();
  capture.feed(message);
  return capture.result();
}

/**
 * Whether `block` can be the header block of a stored message of `messageSize` octets, judged without
 * reading the body: at most HEADER_BLOCK_LIMIT octets, and either the header section up to its first
 * empty line (a lone CRLF when the message starts with one), or the whole message when it has no empty
 * line (RFC 5322 §3.5).
 */
export function isHeaderBlockFor(block: unknown, messageSize: number): block is Buffer {
  if (!Buffer.isBuffer(block) || block.length > HEADER_BLOCK_LIMIT || block.length > messageSize)
    return false;
  if (block.length >= 2 && block[0] === CR && block[1] === LF) return block.length === 2;
  const firstEnd = block.indexOf("\r\n\r\n", 0, "latin1");
  if (firstEnd !== -1) return firstEnd === block.length - 4;
  return block.length === messageSize;
}

/** The entries of a saveHeaderBlocks argument, or "invalid" when it is not a map of ids to buffers. */
export function headerBlockEntries(blocks: ReadonlyMap<string, Buffer>): Array<[string, Buffer]> {
  if (!(blocks instanceof Map)) {
    throw new StoreError("invalid", "saveHeaderBlocks needs a Map from message ids to header blocks");
  }
  const entries = [...blocks.entries()] as Array<[unknown, unknown]>;
  for (const [id, block] of entries) {
    if (typeof id !== "string" || !Buffer.isBuffer(block)) {
      throw new StoreError("invalid", "saveHeaderBlocks needs message ids (strings) mapped to Buffers");
    }
  }
  return entries as Array<[string, Buffer]>;
}

/** The "invalid" error for a block that cannot be the header block of message `id`. */
export function notAHeaderBlock(id: string): StoreError {
  return new StoreError(
    "invalid",
    `the block given for message ${id} is not its header section (it must end at the first empty ` +
      `line, or be the whole message when there is none, within ${HEADER_BLOCK_LIMIT} octets); nothing was saved`,
  );
}
