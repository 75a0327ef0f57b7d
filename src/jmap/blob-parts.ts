// Blob ids of body parts (RFC 8621 §4.1.4: every non-multipart part has a blobId the client can
// download or hand to Email/parse). A part's id is its message's blob id and its partId, in the Id
// alphabet of RFC 8620 §1.2 (no dots): "<blob>_1-2" is part 1.2 of <blob>. The bytes are the part's
// content with its transfer encoding undone, worked out again from the message on each read.

import { createHash } from "node:crypto";
import type { SieveScript, Store } from "../store/types.js";
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

// A Sieve script's blob (RFC 9661 §2.2: a script's content is a blob) is not stored as one: the store
// keeps the script's text, whichever protocol wrote it. Its id names the script and a hash of its text,
// "sieve-<id>-<hex>", so it names the same bytes for as long as it resolves (RFC 8620 §6: blobs are
// immutable) and stops resolving when the script changes. Hex keeps "_" out: no part id looks like it.
const SCRIPT_BLOB = /^sieve-([1-9][0-9]{0,15})-([0-9a-f]{24})$/;

function sourceHash(source: string): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 24);
}

export function scriptBlobId(script: SieveScript & { id: number }): string {
  return `sieve-${script.id}-${sourceHash(script.source)}`;
}

export function parseScriptBlobId(id: string): { scriptId: number; hash: string } | null {
  const match = SCRIPT_BLOB.exec(id);
  return match ? { scriptId: Number(match[1]), hash: match[2] as string } : null;
}

/** The media type of a script's blob (RFC 5804 §4, RFC 9661 §2.2). */
export const SIEVE_TYPE = "application/sieve";

export interface BlobBytes {
  bytes: Buffer;
  /** The part's media type; null for a whole stored message or an upload's own type. */
  type: string | null;
}

/**
 * The bytes of a blob the user may read at `now`: a stored message, an upload, a part of either, or one
 * of the user's Sieve scripts.
 * Null when there is no such blob for this user.
 */
export async function readUserBlob(
  store: Pick<Store, "blobs" | "sieveScripts">,
  userId: number,
  id: string,
  now: Date,
): Promise<BlobBytes | null> {
  const scriptBlob = parseScriptBlobId(id);
  if (scriptBlob !== null) {
    const { scripts } = await store.sieveScripts.listScriptsWithState(userId);
    const script = scripts.find((each) => each.id === scriptBlob.scriptId);
    if (script === undefined || sourceHash(script.source) !== scriptBlob.hash) return null;
    return { bytes: Buffer.from(script.source, "utf8"), type: SIEVE_TYPE };
  }
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
