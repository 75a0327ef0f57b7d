// The key that makes an import re-runnable: a message already in the target mailbox is not added
// again. It is Message-ID + Date + size of the stored form, read from what the store holds, so the
// store needs no record of its own: a message that came by SMTP or IMAP APPEND counts as much as one
// imported earlier. A message without a Message-ID (drafts, some robots) is keyed by a digest of its
// bytes instead, since Date + size alone would take different messages for the same one.

import { createHash } from "node:crypto";
import { fieldValue, findField, scanHeader } from "../mail/mime/header.js";
import type { Store } from "../store/types.js";

/** How many mailbox entries are read per round trip while the keys of a mailbox are gathered. */
const KEY_BATCH = 200;

/** The message's key from its header block; null when it has no Message-ID (key it by its bytes). */
export function headerKey(header: Buffer, size: number): string | null {
  const { fields } = scanHeader(header, 0, header.length);
  const messageIdField = findField(fields, "message-id");
  const messageId = messageIdField ? fieldValue(header, messageIdField) : "";
  if (messageId === "") return null;
  const dateField = findField(fields, "date");
  const date = dateField ? fieldValue(header, dateField) : "";
  return `id ${messageId}\n${date}\n${size}`;
}

export function bytesKey(message: Buffer): string {
  return `sha256 ${createHash("sha256").update(message).digest("hex")}`;
}

export function messageKey(message: Buffer): string {
  return headerKey(message, message.length) ?? bytesKey(message);
}

/** The keys of every message in the mailbox. */
export async function mailboxKeys(store: Store, mailboxId: number): Promise<Set<string>> {
  const keys = new Set<string>();
  const messages = await store.messages.listMessages(mailboxId);
  for (let i = 0; i < messages.length; i += KEY_BATCH) {
    const batch = messages.slice(i, i + KEY_BATCH);
    const headers = await store.blobs.readHeaderBlocks(batch.map((m) => m.messageId));
    for (const message of batch) {
      const header = headers.get(message.messageId);
      const key = header ? headerKey(header, message.size) : null;
      // No kept header block (an old body) or no Message-ID: the bytes decide.
      keys.add(key ?? messageKey(await store.blobs.readBlobBytes(message.messageId)));
    }
  }
  return keys;
}
