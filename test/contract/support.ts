// What the parts of the store contract share: the context runStoreContract gives each part (one store
// for the whole run, and helpers that keep tests apart) and small assertions.

import assert from "node:assert/strict";
import type { BlobRef, Mailbox, MailboxEvent, Store, User } from "../../src/store/types.js";
import { StoreError } from "../../src/store/types.js";

export interface ContractContext {
  store(): Store;
  /** A fresh domain and user per test, so tests share one store without seeing each other. */
  freshUser(): Promise<{ domain: string; user: User; inbox: Mailbox }>;
  deliverTo(mailboxId: number, subject: string, flags?: string[]): Promise<{ blob: BlobRef; uid: number }>;
  collectEvents(): { events: MailboxEvent[]; stop: () => void };
}

export const CREDENTIALS = { passwordHash: "scrypt$test$hash", scramSha256: "scram$test$verifier" };

export async function rejectsWith(promise: Promise<unknown>, code: StoreError["code"]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
    assert.ok(error.message.length > 0);
    return true;
  });
}

export async function writeBlob(
  store: Store,
  bytes: Uint8Array | string,
  chunkSize = 64 * 1024,
): Promise<BlobRef> {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes);
  const writer = await store.blobs.createBlobWriter();
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    await writer.write(data.subarray(offset, offset + chunkSize));
  }
  const ref = await writer.finish();
  assert.equal(ref.id, writer.id);
  assert.equal(ref.size, data.length);
  return ref;
}

export function message(subject: string): string {
  return `From: a@example.net\r\nSubject: ${subject}\r\n\r\nHello ${subject}\r\n`;
}

export async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
