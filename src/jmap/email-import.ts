// Email/import (RFC 8621 §4.8): a blob the user may read (an upload, or one of their messages) becomes
// an email in one mailbox through the store's append, as IMAP APPEND does, so both protocols see the
// same bytes, flags and internal date.

import { StoreError } from "../store/errors.js";
import type { Mailbox, MailboxMessage, Store } from "../store/types.js";
import { partBlobId } from "./blob-parts.js";
import { MAIL } from "./capabilities.js";
import { parseEmail } from "./email/email.js";
import { emailIdOf, parseMailboxId, stateOf, threadIdOf } from "./ids.js";
import { flagOf, isValidKeyword } from "./keywords.js";
import {
  attempt,
  checkSetSize,
  checkState,
  invalidProperty,
  objectMap,
  orNull,
  readIfInState,
  refuse,
  requireRoom,
  resolveId,
} from "./set.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

export type EmailImportStore = Pick<Store, "blobs" | "messages" | "mailboxes" | "emails" | "quotas">;

const PROPERTIES = new Set(["blobId", "mailboxIds", "keywords", "receivedAt"]);

/** RFC 8620 §1.4 UTCDate: "Z", no offset; fractions allowed and dropped by the store's second grain. */
export const UTC_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;

function readFlags(value: Json | undefined): string[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    invalidProperty("keywords", "keywords must be an object of keyword: true");
  }
  const keywords = Object.entries(value);
  for (const [keyword, set] of keywords) {
    if (set !== true || !isValidKeyword(keyword)) {
      invalidProperty(
        "keywords",
        `${JSON.stringify(keyword)} is not a keyword set to true (RFC 8621 §4.1.1)`,
      );
    }
  }
  return keywords.map(([keyword]) => flagOf(keyword));
}

function readReceivedAt(value: Json | undefined, now: Date): Date {
  if (value === undefined) return now;
  const time = typeof value === "string" && UTC_DATE.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time))
    invalidProperty("receivedAt", 'receivedAt must be a UTCDate like "2026-01-31T09:30:00Z"');
  return new Date(time);
}

export function emailImport(store: EmailImportStore, maxObjectsInSet: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: true,
    async run(args: JsonObject, context: MethodContext): Promise<JsonObject> {
      const emails = objectMap(args, "emails");
      checkSetSize(emails.size, maxObjectsInSet, "Email/import");
      const ifInState = readIfInState(args);
      const userId = context.account.userId;
      const oldState = stateOf(await store.emails.accountState(userId));
      checkState(ifInState, oldState);

      const mailboxOf = async (value: Json | undefined): Promise<Mailbox> => {
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          invalidProperty("mailboxIds", "mailboxIds must be an object of mailbox id: true");
        }
        const ids = Object.entries(value);
        if (ids.length === 0) invalidProperty("mailboxIds", "an email must be in a mailbox");
        if (ids.length > 1) {
          refuse("tooManyMailboxes", "an email is in exactly one mailbox here (maxMailboxesPerEmail is 1)");
        }
        const [given, set] = ids[0] as [string, Json];
        const number = parseMailboxId(resolveId(given, context.createdIds) ?? "");
        const mailbox = set === true && number !== null ? await store.mailboxes.getMailboxById(number) : null;
        if (mailbox === null || mailbox.userId !== userId) {
          invalidProperty("mailboxIds", `there is no mailbox ${given} to import into`);
        }
        return mailbox;
      };

      const created: JsonObject = {};
      const notCreated: JsonObject = {};
      for (const [creationId, object] of emails) {
        await attempt(notCreated, creationId, async () => {
          for (const key of Object.keys(object)) {
            if (!PROPERTIES.has(key))
              invalidProperty(key, `Email/import takes no property ${JSON.stringify(key)}`);
          }
          const now = new Date();
          const flags = readFlags(object.keywords);
          const receivedAt = readReceivedAt(object.receivedAt, now);
          const mailbox = await mailboxOf(object.mailboxIds);
          const { blobId } = object;
          const blob =
            typeof blobId === "string" ? await store.blobs.findReadableBlob(userId, blobId, now) : null;
          // §4.8 makes a blob id not found an invalidProperties, not Email/set's blobNotFound.
          if (blob === null)
            invalidProperty("blobId", `there is no blob ${JSON.stringify(blobId)} to import`);
          // Bytes without a single header field are not a message (RFC 5322 §3.5 requires fields).
          const bytes = await store.blobs.readBlobBytes(blob.blobId);
          if (
            parseEmail(bytes, { partBlobId: (part) => partBlobId(blob.blobId, part) }).headers.length === 0
          ) {
            refuse("invalidEmail", "the blob is not an RFC 5322 message: it has no header fields");
          }
          await requireRoom(store, userId, blob.size);
          let entry: Awaited<ReturnType<typeof store.messages.append>>;
          try {
            entry = await store.messages.append(
              mailbox.id,
              { id: blob.blobId, size: blob.size },
              flags,
              receivedAt,
            );
          } catch (error) {
            // The mailbox or the upload went away since they were looked up.
            if (!(error instanceof StoreError && error.code === "not-found")) throw error;
            if ((await store.mailboxes.getMailboxById(mailbox.id)) === null) {
              invalidProperty("mailboxIds", "the mailbox was destroyed meanwhile");
            }
            invalidProperty("blobId", "the blob expired meanwhile");
          }
          created[creationId] = createdEmail(entry);
          context.createdIds.set(creationId, emailIdOf(entry.emailId));
        });
      }
      return {
        accountId: context.account.accountId,
        oldState,
        newState: stateOf(await store.emails.accountState(userId)),
        created: orNull(created),
        notCreated: orNull(notCreated),
      };
    },
  };
}

/** What /set and /import say of an email they made (RFC 8621 §4.6, §4.8): the server-set properties. */
export function createdEmail(entry: MailboxMessage): JsonObject {
  return {
    id: emailIdOf(entry.emailId),
    blobId: entry.messageId,
    threadId: threadIdOf(entry.threadId),
    size: entry.size,
  };
}
