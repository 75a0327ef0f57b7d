// Email/set (RFC 8621 §4.6): new messages (drafts) composed from Email properties, keyword and mailbox
// changes, and destruction — each through the same store calls IMAP makes (append, STORE, MOVE, EXPUNGE),
// so the two protocols see one mailbox.

import MailComposer from "nodemailer/lib/mail-composer";
import { toCrlf } from "../mail/compose.js";
import type { MailboxMessage, Store } from "../store/types.js";
import { readUserBlob } from "./blob-parts.js";
import { MAIL } from "./capabilities.js";
import { HEADER_PROPERTIES } from "./email/email.js";
import { createdEmail } from "./email-import.js";
import { parseEmailId, parseMailboxId, stateOf } from "./ids.js";
import { flagOf, isValidKeyword, keywordOf } from "./keywords.js";
import {
  attempt,
  checkState,
  readSetArguments,
  requireRoom,
  resolveId,
  SetRefusal,
  SetResults,
  setError,
} from "./set.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

type EmailSetStore = Pick<Store, "emails" | "messages" | "mailboxes" | "blobs" | "quotas" | "sieveScripts">;

const invalid = (property: string, why: string) =>
  new SetRefusal(setError("invalidProperties", `${property}: ${why}`, [property]));

/** "#creationId" stands for what an earlier create in this request made (RFC 8620 §5.3). */
const idIn = (id: string, context: MethodContext) => resolveId(id, context.createdIds) ?? id;

function keywordSet(value: Json, property: string): Set<string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(property, "must be an object of keywords set to true");
  }
  const keywords = new Set<string>();
  for (const [keyword, on] of Object.entries(value)) {
    if (on !== true || !isValidKeyword(keyword))
      throw invalid(property, `${JSON.stringify(keyword)} is not a keyword set to true`);
    keywords.add(keyword.toLowerCase());
  }
  return keywords;
}

/** maxMailboxesPerEmail is 1: exactly one mailbox, and it must be the user's. */
async function onlyMailbox(
  store: EmailSetStore,
  userId: number,
  ids: Iterable<string>,
  context: MethodContext,
): Promise<number> {
  const list = [...ids].map((id) => idIn(id, context));
  if (list.length !== 1) {
    throw new SetRefusal(
      setError("tooManyMailboxes", "an email is in exactly one mailbox here (maxMailboxesPerEmail 1)", [
        "mailboxIds",
      ]),
    );
  }
  const mailboxId = parseMailboxId(list[0] as string);
  const mailbox = mailboxId === null ? null : await store.mailboxes.getMailboxById(mailboxId);
  if (mailbox === null || mailbox.userId !== userId) throw invalid("mailboxIds", `no mailbox ${list[0]}`);
  return mailbox.id;
}

function mailboxIdSet(value: Json): Set<string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid("mailboxIds", "must be an object of mailbox ids set to true");
  }
  const ids = new Set<string>();
  for (const [id, on] of Object.entries(value)) {
    if (on !== true) throw invalid("mailboxIds", `${id} must be set to true`);
    ids.add(id);
  }
  return ids;
}

/** The email's keywords and mailboxes after a PatchObject (RFC 8620 §5.3) of those two properties. */
function applyPatch(
  row: MailboxMessage,
  patch: JsonObject,
): { keywords: Set<string>; mailboxIds: Set<string> } {
  const keywords = new Set(row.flags.map(keywordOf).filter((keyword): keyword is string => keyword !== null));
  const mailboxIds = new Set([`M${row.mailboxId}`]);
  for (const [path, value] of Object.entries(patch)) {
    if (path === "keywords") {
      keywords.clear();
      for (const keyword of keywordSet(value, path)) keywords.add(keyword);
    } else if (path.startsWith("keywords/")) {
      const keyword = path.slice("keywords/".length);
      if (!isValidKeyword(keyword)) throw invalid(path, "not a keyword");
      if (value === true) keywords.add(keyword.toLowerCase());
      else if (value === null) keywords.delete(keyword.toLowerCase());
      else throw invalid(path, "must be true or null");
    } else if (path === "mailboxIds") {
      mailboxIds.clear();
      for (const id of mailboxIdSet(value)) mailboxIds.add(id);
    } else if (path.startsWith("mailboxIds/")) {
      const id = path.slice("mailboxIds/".length);
      if (value === true) mailboxIds.add(id);
      else if (value === null) mailboxIds.delete(id);
      else throw invalid(path, "must be true or null");
    } else {
      // RFC 8621 §4.6: everything else about an existing email is immutable.
      throw invalid(path, "cannot be changed; only keywords and mailboxIds can");
    }
  }
  return { keywords, mailboxIds };
}

async function updateEmail(
  store: EmailSetStore,
  context: MethodContext,
  row: MailboxMessage,
  patch: Json,
): Promise<void> {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
    throw new SetRefusal(setError("invalidPatch", "an update is a PatchObject"));
  }
  const { keywords, mailboxIds } = applyPatch(row, patch);
  const target = await onlyMailbox(store, context.account.userId, mailboxIds, context);
  const flags = [...keywords].map(flagOf);
  const current = new Set(row.flags.map((flag) => flag.toLowerCase()));
  const same = flags.length === current.size && flags.every((flag) => current.has(flag.toLowerCase()));
  if (!same) await store.messages.updateFlags(row.mailboxId, [row.uid], "set", flags);
  // MOVE keeps the email id, so the client's id stays valid (RFC 8621 §4.1.1 "id" is immutable).
  if (target !== row.mailboxId) await store.messages.moveMessages(row.mailboxId, [row.uid], target);
}

interface AddressInput {
  name?: string | null;
  email: string;
}

function addresses(value: Json | undefined, property: string): AddressInput[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(property, "must be a list of EmailAddress objects");
  return value.map((entry) => {
    const address = entry as JsonObject | null;
    if (address === null || typeof address !== "object" || typeof address.email !== "string") {
      throw invalid(property, "each EmailAddress needs an email");
    }
    if (address.name !== undefined && address.name !== null && typeof address.name !== "string") {
      throw invalid(property, "a name is a string or null");
    }
    return { name: (address.name as string | null | undefined) ?? null, email: address.email };
  });
}

const asMailbox = (address: AddressInput) => ({ name: address.name ?? "", address: address.email });

/** The properties Email/set can build a message from; the rest of §4.6's list is refused by name. */
const CREATE_PROPERTIES = new Set([
  "mailboxIds",
  "keywords",
  "receivedAt",
  ...[...HEADER_PROPERTIES].filter((name) => name !== "headers"),
  "textBody",
  "htmlBody",
  "attachments",
  "bodyValues",
]);

function idList(value: Json | undefined, property: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((id) => typeof id !== "string")) {
    throw invalid(property, "must be a list of message ids without angle brackets");
  }
  return value as string[];
}

/** The text of a one-part textBody/htmlBody, from bodyValues by its partId. */
function bodyText(object: JsonObject, property: "textBody" | "htmlBody"): string | undefined {
  const parts = object[property];
  if (parts === undefined || parts === null) return undefined;
  if (!Array.isArray(parts) || parts.length !== 1) throw invalid(property, "must be one body part");
  const part = parts[0] as JsonObject;
  const values = (object.bodyValues ?? {}) as JsonObject;
  const value =
    typeof part?.partId === "string" ? (values[part.partId] as JsonObject | undefined) : undefined;
  if (value === undefined || typeof value.value !== "string") {
    throw invalid(property, "its partId must name a value in bodyValues");
  }
  return value.value;
}

async function composeEmail(store: EmailSetStore, userId: number, object: JsonObject): Promise<Buffer> {
  for (const key of Object.keys(object)) {
    if (!CREATE_PROPERTIES.has(key) && !key.startsWith("header:"))
      throw invalid(key, "cannot be set when creating an email");
    if (key.startsWith("header:"))
      throw invalid(key, "header properties cannot be set here yet; use the named properties");
  }
  const attachments: Array<{
    content: Buffer;
    contentType: string;
    filename?: string;
    cid?: string;
    contentDisposition?: "inline" | "attachment";
  }> = [];
  const list = object.attachments;
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw invalid("attachments", "must be a list of body parts");
    const now = new Date();
    for (const entry of list) {
      const part = entry as JsonObject;
      if (typeof part?.blobId !== "string") throw invalid("attachments", "each attachment needs a blobId");
      // An upload, or a part of a message the user has (RFC 8621 §4.1.4), as when a draft is saved
      // again or a message forwarded with its attachments.
      const blob = await readUserBlob(store, userId, part.blobId, now);
      if (blob === null)
        throw new SetRefusal({
          ...setError("blobNotFound", `no blob ${part.blobId}`),
          notFound: [part.blobId],
        });
      attachments.push({
        content: blob.bytes,
        contentType: typeof part.type === "string" ? part.type : (blob.type ?? "application/octet-stream"),
        ...(typeof part.name === "string" ? { filename: part.name } : {}),
        ...(typeof part.cid === "string" ? { cid: part.cid } : {}),
        ...(part.disposition === "inline" || part.disposition === "attachment"
          ? { contentDisposition: part.disposition }
          : {}),
      });
    }
  }
  const from = addresses(object.from, "from");
  const sentAt = object.sentAt;
  if (
    sentAt !== undefined &&
    sentAt !== null &&
    (typeof sentAt !== "string" || Number.isNaN(Date.parse(sentAt)))
  ) {
    throw invalid("sentAt", "must be a date");
  }
  const messageIds = idList(object.messageId, "messageId");
  const inReplyTo = idList(object.inReplyTo, "inReplyTo");
  const references = idList(object.references, "references");
  const subject = object.subject;
  if (subject !== undefined && subject !== null && typeof subject !== "string")
    throw invalid("subject", "must be a string");
  const text = bodyText(object, "textBody");
  const html = bodyText(object, "htmlBody");
  const sender = addresses(object.sender, "sender")?.[0];
  const composer = new MailComposer({
    ...(from ? { from: from.map(asMailbox) as never } : {}),
    ...(sender ? { sender: asMailbox(sender) } : {}),
    to: addresses(object.to, "to")?.map(asMailbox),
    cc: addresses(object.cc, "cc")?.map(asMailbox),
    bcc: addresses(object.bcc, "bcc")?.map(asMailbox),
    replyTo: addresses(object.replyTo, "replyTo")?.map(asMailbox),
    ...(typeof subject === "string" ? { subject } : {}),
    date: typeof sentAt === "string" ? new Date(sentAt) : new Date(),
    ...(messageIds?.[0] ? { messageId: `<${messageIds[0]}>` } : {}),
    ...(inReplyTo ? { inReplyTo: inReplyTo.map((id) => `<${id}>`).join(" ") } : {}),
    ...(references ? { references: references.map((id) => `<${id}>`) } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(html !== undefined ? { html } : {}),
    attachments,
  } as ConstructorParameters<typeof MailComposer>[0]);
  const root = composer.compile();
  // A draft keeps its Bcc; EmailSubmission removes it when the message is sent (as nodemailer's own
  // stream transport asks the same way).
  root.keepBcc = true;
  return toCrlf(await root.build());
}

async function createEmail(store: EmailSetStore, context: MethodContext, object: Json): Promise<JsonObject> {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new SetRefusal(setError("invalidProperties", "an Email to create is an object"));
  }
  const userId = context.account.userId;
  const mailboxId = await onlyMailbox(store, userId, mailboxIdSet(object.mailboxIds ?? null), context);
  const keywords =
    object.keywords === undefined ? new Set<string>() : keywordSet(object.keywords, "keywords");
  const receivedAt = object.receivedAt;
  if (receivedAt !== undefined && (typeof receivedAt !== "string" || Number.isNaN(Date.parse(receivedAt)))) {
    throw invalid("receivedAt", "must be a UTCDate");
  }
  const bytes = await composeEmail(store, userId, object);
  await requireRoom(store, userId, bytes.length);
  const writer = await store.blobs.createBlobWriter();
  let added: MailboxMessage;
  try {
    await writer.write(bytes);
    const blob = await writer.finish();
    added = await store.messages.append(
      mailboxId,
      blob,
      [...keywords].map(flagOf),
      typeof receivedAt === "string" ? new Date(receivedAt) : new Date(),
    );
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return createdEmail(added);
}

export function emailSet(store: EmailSetStore, maxObjects: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: true,
    async run(args, context) {
      const { ifInState, create, update, destroy } = readSetArguments(args, maxObjects, "Email/set");
      const userId = context.account.userId;
      const oldState = stateOf(await store.emails.accountState(userId));
      checkState(ifInState, oldState);
      const results = new SetResults();
      const { created, updated, destroyed, notCreated, notUpdated, notDestroyed } = results;
      const find = async (id: string): Promise<MailboxMessage> => {
        const emailId = parseEmailId(idIn(id, context));
        const [row] = emailId === null ? [] : await store.emails.getEmails(userId, [emailId]);
        if (row === undefined) throw new SetRefusal(setError("notFound", `no email ${id}`));
        return row;
      };
      // RFC 8620 §5.3: creates, then updates, then destroys.
      for (const [creationId, object] of create) {
        await attempt(notCreated, creationId, async () => {
          const made = await createEmail(store, context, object);
          created[creationId] = made;
          context.createdIds.set(creationId, made.id as string);
        });
      }
      for (const [id, patch] of update) {
        await attempt(notUpdated, id, async () => {
          await updateEmail(store, context, await find(id), patch);
          updated[id] = null;
        });
      }
      for (const id of destroy) {
        await attempt(notDestroyed, id, async () => {
          const row = await find(id);
          await store.messages.expunge(row.mailboxId, [row.uid]);
          destroyed.push(id);
        });
      }
      return results.response(
        context.account.accountId,
        oldState,
        stateOf(await store.emails.accountState(userId)),
      );
    },
  };
}
