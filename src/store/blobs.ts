// Message bodies: written once through a BlobWriter, then immutable and shared by every mailbox entry
// and queue entry that names them; the header block of each is kept beside it for cheap header reads.

import type { Readable } from "node:stream";

/**
 * How far into a message the store looks for the end of its header section (see readHeaderBlocks);
 * bounds the memory a writer spends on it.
 */
export const HEADER_BLOCK_LIMIT = 256 * 1024;

/** A committed, immutable message body. */
export interface BlobRef {
  /** The message id: also the id shown in "250 2.0.0 Ok: queued as <id>". */
  id: string;
  size: number;
}

export interface FinishOptions {
  /** false: a scratch body, not made durable (see BlobWriter.finish). Default true. */
  durable?: boolean;
}

/**
 * Streams a body into the store. Nothing is visible to readers until `finish()` resolves, and nothing
 * is referenced by any mailbox until a `deliver()`/`append()` names it; an unreferenced body is garbage.
 */
export interface BlobWriter {
  readonly id: string;
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the bytes durable (fsync) and returns the reference. With `durable: false` the body is
   * readable at once but may be lost or cut short by a crash: for a scratch body that is read and then
   * replaced before anything references it (an MX message's original, whose copy with
   * Authentication-Results is what gets delivered), so it costs no fsync. Never deliver such a body.
   */
  finish(options?: FinishOptions): Promise<BlobRef>;
  /** Throws the bytes away; safe to call at any point, also after finish() failed. */
  abort(): Promise<void>;
}

/**
 * A body uploaded over JMAP (RFC 8620 §6.1) that no message names yet: kept for its user until it
 * expires, then swept like any unreferenced body.
 */
export interface Upload {
  blobId: string;
  userId: number;
  /** The media type the client gave (Content-Type of the upload). */
  type: string;
  size: number;
  expiresAt: Date;
}

/** A body a user may read: one of their messages, or one of their uploads not yet expired. */
export interface ReadableBlob {
  blobId: string;
  size: number;
  /** The upload's media type; null for a message ("message/rfc822" is the caller's to say). */
  type: string | null;
}

export interface BlobStore {
  /**
   * `id` (import only): the body keeps the id it has in another store, since "queued as" and queue
   * entries name it; "invalid" unless it has the form of a store id, "exists" when a finished body
   * already has it.
   */
  createBlobWriter(options?: { id?: string }): Promise<BlobWriter>;
  readBlob(messageId: string): Readable;
  /**
   * The whole body in one buffer. `size`, when the caller already has the message's recorded size
   * (MailboxMessage.size), spares a backend that reads files looking it up before the read (one query
   * per body in a FETCH of thousands); it must be that recorded size, and a backend may ignore it.
   */
  readBlobBytes(messageId: string, size?: number): Promise<Buffer>;
  /**
   * The header section of each named message: its bytes from the start up to and including the empty
   * line that ends it (CRLF CRLF), exactly as stored. A message whose first line is empty has the header
   * block CRLF. A message with no empty line at all (RFC 5322 §3.5 allows a message without a body) is
   * all header: its block is the whole message, when that is at most HEADER_BLOCK_LIMIT octets.
   * Missing from the map when unknown (the message has no header end within HEADER_BLOCK_LIMIT octets,
   * was stored before headers were kept, or the id names no message); callers then read the blob.
   * One round trip for the whole list.
   */
  readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Keeps header blocks that a reader extracted from whole bodies (messages stored before headers were
   * kept), so later header reads skip the body. Only fills a missing block, never replaces one; ids of
   * no stored message are ignored. Each block must end with CRLF CRLF at its first empty line (or be
   * CRLF alone), or be the whole message when it has no empty line, and be at most HEADER_BLOCK_LIMIT
   * octets; otherwise "invalid" and nothing is saved. One transaction.
   */
  saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void>;
  /**
   * The stored structure (see src/store/structure.ts) of each named message; missing from the map when
   * not yet computed or when the id names no message. One round trip for the whole list.
   */
  readStructures(messageIds: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Keeps structures a reader computed from whole bodies. Only fills a missing one, never replaces it;
   * ids of no stored message are ignored; "invalid" (nothing saved) for a value that is not a Buffer.
   */
  saveStructures(structures: ReadonlyMap<string, Buffer>): Promise<void>;
  /**
   * The stored sort inputs (see src/store/sort-inputs.ts, encoded) of each named message; missing from
   * the map when not yet computed or when the id names no message. One round trip for the whole list.
   */
  readSortInputs(messageIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * Keeps sort inputs a reader computed from header sections. Only fills missing ones, never replaces
   * one; ids of no stored message are ignored; "invalid" (nothing saved) for a value that is not encoded
   * sort inputs. One transaction.
   */
  saveSortInputs(inputs: ReadonlyMap<string, string>): Promise<void>;
  /**
   * Keeps a finished body as the user's upload until `expiresAt`. Uploads already expired (anyone's)
   * are forgotten in the same transaction, and their bodies go unless a message names them.
   * "not-found" for an unknown user or a body that is not finished; "invalid" for a bad type or date.
   */
  recordUpload(upload: { userId: number; blobId: string; type: string; expiresAt: Date }): Promise<Upload>;
  /** The user's uploads that have not expired at `now`: how many, and their total size. */
  uploadUsage(userId: number, now: Date): Promise<{ count: number; bytes: number }>;
  /** The body if the user may read it at `now` (see ReadableBlob), else null. One round trip. */
  findReadableBlob(userId: number, blobId: string, now: Date): Promise<ReadableBlob | null>;
}
