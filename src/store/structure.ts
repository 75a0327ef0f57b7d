// A message's IMAP structure answers (ENVELOPE, BODY, BODYSTRUCTURE), encoded once from its body and
// kept with it, so FETCH of them reads no body file. The store holds the bytes opaquely; this module
// fixes their layout: three length-prefixed (4-octet big-endian) IMAP-encoded values in that order.

import { StoreError } from "./types.js";

export interface MessageStructure {
  envelope: Buffer;
  body: Buffer;
  bodyStructure: Buffer;
}

export function encodeStructure(structure: MessageStructure): Buffer {
  const parts = [structure.envelope, structure.body, structure.bodyStructure];
  const out = Buffer.alloc(parts.reduce((sum, p) => sum + 4 + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.writeUInt32BE(part.length, at);
    part.copy(out, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/** The structure in `bytes`, or null when they are not one (a damaged row is recomputed, not trusted). */
export function decodeStructure(bytes: Buffer): MessageStructure | null {
  const parts: Buffer[] = [];
  let at = 0;
  while (parts.length < 3) {
    if (at + 4 > bytes.length) return null;
    const length = bytes.readUInt32BE(at);
    if (at + 4 + length > bytes.length) return null;
    parts.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== bytes.length) return null;
  const [envelope, body, bodyStructure] = parts as [Buffer, Buffer, Buffer];
  return { envelope, body, bodyStructure };
}

/** The entries of a saveStructures argument, or "invalid" when it is not a map of ids to structures. */
export function structureEntries(structures: ReadonlyMap<string, Buffer>): Array<[string, Buffer]> {
  if (!(structures instanceof Map)) {
    throw new StoreError("invalid", "saveStructures needs a Map from message ids to structures");
  }
  const entries = [...structures.entries()] as Array<[unknown, unknown]>;
  for (const [id, value] of entries) {
    if (typeof id !== "string" || !Buffer.isBuffer(value) || decodeStructure(value) === null) {
      throw new StoreError("invalid", `saveStructures: not a structure for ${String(id)}`);
    }
  }
  return entries as Array<[string, Buffer]>;
}
