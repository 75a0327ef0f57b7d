// Blob ids of body parts (RFC 8621 §4.1.4: every non-multipart part has a blobId the client can
// download or hand to Email/parse). A part's id is its message's blob id and its partId, in the Id
// alphabet of RFC 8620 §1.2 (no dots): "<blob>_1-2" is part 1.2 of <blob>. The bytes are the part's
// content with its transfer encoding undone, worked out again from the message on each read.

import type { Store } from "../store/types.js";
import { parseEmail } from "./email/email.js";

const PART_BLOB = /^([0-9A-Za-z-]+)_(\d+(?:-\d+)*)$/;

export function partBlobId(blobId: string, partId: string): string {
  return `${blobId}_${partId.replaceAll(".", "-")}`;
}

export function parsePartBlobId(id: string): { blobId: string; partId: string } | null {
  const match = PART_BLOB.exec(id);
  if (!match) return null;
  return { blobId: match[1] as string, partId: (match[2] as string).replaceAll("-", ".") };
}

export interface BlobBytes {
  bytes: Buffer;
  /** The part's media type; null for a whole stored message or an upload's own type. */
  type: string | null;
}

/**
 * The bytes of a blob the user may read at `now`: a stored message, an upload, or a part of either.
 * Null when there is no such blob for this user.
 */
export async function readUserBlob(
  store: Pick<Store, "blobs">,
  userId: number,
  id: string,
  now: Date,
): Promise<BlobBytes | null> {
  const part = parsePartBlobId(id);
  const blob = await store.blobs.findReadableBlob(userId, part ? part.blobId : id, now);
  if (blob === null) return null;
  const bytes = await store.blobs.readBlobBytes(blob.blobId);
  if (part === null) return { bytes, type: blob.type };
  const email = parseEmail(bytes, { partBlobId: (partId) => partBlobId(blob.blobId, partId) });
  const content = email.partBytes(part.partId);
  if (content === null) return null;
  return { bytes: content, type: email.partType(part.partId) };
}
