// Email/get, Email/changes, Email/query and Email/queryChanges (RFC 8621 §4.2–4.5) over the store's
// emails part. An email is one mailbox entry (maxMailboxesPerEmail is 1); what its bytes say comes from
// email/ — from the stored header block alone when only header properties are asked for, so a message
// list never reads a body file.

import type { MailboxMessage, Store } from "../store/types.js";
import { partBlobId } from "./blob-parts.js";
import { MAIL } from "./capabilities.js";
import { changesMethod, queryChangesMethod } from "./changes.js";
import { EMAIL_PROPERTIES, HEADER_PROPERTIES, type ParsedEmail, parseEmail } from "./email/email.js";
import { headerFilterProperty } from "./email/header-forms.js";
import { GET_DEFAULTS, readEmailArguments } from "./email-arguments.js";
import {
  type EmailFacts,
  type EmailQuery,
  type FactAddress,
  type QueryEmail,
  type QuerySource,
  readsThreadMates,
  runEmailQuery,
} from "./email-query.js";
import { invalidArguments, MethodError } from "./errors.js";
import { readIds } from "./get-ids.js";
import { emailIdOf, mailboxIdOf, parseEmailId, parseMailboxId, stateOf, threadIdOf } from "./ids.js";
import { keywordOf, keywordsOf } from "./keywords.js";
import { applyWindow, readWindow } from "./query-window.js";
import type { Json, JsonObject, Method } from "./types.js";

export type EmailJmapStore = Pick<Store, "emails" | "blobs">;

/** Properties the store knows without the message's bytes: the first seven EMAIL_PROPERTIES list. */
const STORE_PROPERTIES = new Set([...EMAIL_PROPERTIES].slice(0, 7));

/**
 * RFC 8620 §1.4 UTCDate, to the second: IMAP's INTERNALDATE has no fractions, and both protocols show
 * one receivedAt.
 */
export function utcDate(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

function storeProperty(row: MailboxMessage, name: string): Json | undefined {
  switch (name) {
    case "id":
      return emailIdOf(row.emailId);
    case "blobId":
      return row.messageId;
    case "threadId":
      return threadIdOf(row.threadId);
    case "mailboxIds":
      return { [mailboxIdOf({ id: row.mailboxId })]: true };
    case "keywords":
      return keywordsOf(row.flags);
    case "size":
      return row.size;
    case "receivedAt":
      return utcDate(row.internalDate);
    default:
      return undefined;
  }
}

/** Bytes per message, header blocks where they suffice, in as few store round trips as there are kinds. */
async function loadBytes(
  store: EmailJmapStore,
  rows: readonly MailboxMessage[],
  headersOnly: boolean,
): Promise<Map<string, Buffer>> {
  const bytes = new Map<string, Buffer>();
  if (headersOnly) {
    for (const [id, block] of await store.blobs.readHeaderBlocks(rows.map((row) => row.messageId))) {
      bytes.set(id, block);
    }
  }
  // All at once and with the size the row records: the store then reads them as one batch, where one
  // read after another would cost a round trip to its reading thread and a size lookup each.
  const missing = new Map<string, number>();
  for (const row of rows) if (!bytes.has(row.messageId)) missing.set(row.messageId, row.size);
  const read = await Promise.all(
    [...missing].map(async ([id, size]) => [id, await store.blobs.readBlobBytes(id, size)] as const),
  );
  for (const [id, body] of read) bytes.set(id, body);
  return bytes;
}

const parsed = (row: MailboxMessage, bytes: Buffer): ParsedEmail =>
  parseEmail(bytes, { partBlobId: (partId) => partBlobId(row.messageId, partId) });

/** Properties an Email/get can answer from the flags alone. */
const KEYWORDS_ONLY = new Set(["id", "keywords"]);

/**
 * Email/get of ids and keywords only — what a client asks after Email/changes to bring its flags up to
 * date: the store reads just the flags instead of whole rows.
 */
async function keywordsOnly(
  store: EmailJmapStore,
  account: { userId: number; accountId: string },
  wanted: readonly string[],
  properties: readonly string[],
): Promise<JsonObject> {
  const numbers = wanted.map(parseEmailId);
  const flags = await store.emails.emailFlags(
    account.userId,
    numbers.filter((id): id is number => id !== null),
  );
  const state = stateOf(await store.emails.accountState(account.userId));
  const withKeywords = properties.includes("keywords");
  const list: JsonObject[] = [];
  const notFound: string[] = [];
  for (const [index, id] of wanted.entries()) {
    const found = numbers[index] === null ? undefined : flags.get(numbers[index] as number);
    if (found === undefined) {
      notFound.push(id);
      continue;
    }
    const object: JsonObject = { id: emailIdOf(numbers[index] as number) };
    if (withKeywords) object.keywords = keywordsOf(found);
    list.push(object);
  }
  return { accountId: account.accountId, state, list, notFound };
}

export function emailGet(store: EmailJmapStore, maxObjects: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const wanted = readIds(args, maxObjects, "Email/get", context);
      const { properties, body } = readEmailArguments(args, GET_DEFAULTS);
      const userId = context.account.userId;
      if (wanted !== null && properties.every((name) => KEYWORDS_ONLY.has(name))) {
        return keywordsOnly(store, context.account, wanted, properties);
      }
      let rows: MailboxMessage[];
      const notFound: string[] = [];
      if (wanted !== null) {
        const numbers = wanted.map(parseEmailId);
        const found = await store.emails.getEmails(
          userId,
          numbers.filter((id): id is number => id !== null),
        );
        const byId = new Map(found.map((row) => [row.emailId, row]));
        rows = [];
        for (const [index, id] of wanted.entries()) {
          const row = numbers[index] === null ? undefined : byId.get(numbers[index] as number);
          if (row) rows.push(row);
          else notFound.push(id);
        }
      } else {
        rows = await store.emails.listEmails(userId);
        if (rows.length > maxObjects) {
          throw new MethodError(
            "requestTooLarge",
            `the account has ${rows.length} emails, more than ${maxObjects} (maxObjectsInGet); ask for ids from Email/query`,
          );
        }
      }
      const state = stateOf(await store.emails.accountState(userId));
      const parsedNames = properties.filter((name) => !STORE_PROPERTIES.has(name));
      const needsBytes = parsedNames.length > 0;
      const headersOnly = parsedNames.every(
        (name) => HEADER_PROPERTIES.has(name) || name.startsWith("header:"),
      );
      const bytes = needsBytes ? await loadBytes(store, rows, headersOnly) : new Map<string, Buffer>();
      const list = rows.map((row) => {
        const object: JsonObject = { id: emailIdOf(row.emailId) };
        for (const name of properties) {
          const value = storeProperty(row, name);
          if (value !== undefined) object[name] = value;
        }
        const data = bytes.get(row.messageId);
        if (data !== undefined) Object.assign(object, parsed(row, data).properties(parsedNames, body));
        return object;
      });
      return { accountId: context.account.accountId, state, list, notFound };
    },
  };
}

export function emailChanges(store: EmailJmapStore): Method {
  return changesMethod({
    type: "Email",
    idOf: emailIdOf,
    changes: (userId, since, max) => store.emails.emailChanges(userId, since, max),
  });
}

function asFactAddresses(value: Json | undefined): FactAddress[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => {
    const address = (entry ?? {}) as { name?: string | null; email?: string | null };
    return { name: address.name ?? null, email: address.email ?? null };
  });
}

/** Facts for Email/query from header blocks (one round trip for all) and, for bodies, the whole message. */
function querySource(
  store: EmailJmapStore & Pick<Store, "search">,
  rows: readonly MailboxMessage[],
  scope: { userId: number; mailboxId: number | null },
): QuerySource {
  const byEmail = new Map(rows.map((row) => [row.emailId, row]));
  /** Each distinct text condition asks the index once: the bodies it finds, by field and text. */
  const searches = new Map<string, Promise<Set<string>>>();
  let headers: Promise<Map<string, Buffer>> | undefined;
  const facts = new Map<number, Promise<EmailFacts>>();
  const whole = new Map<number, Promise<ParsedEmail>>();
  const message = (row: MailboxMessage) => {
    let email = whole.get(row.emailId);
    if (email === undefined) {
      email = store.blobs.readBlobBytes(row.messageId).then((data) => parsed(row, data));
      whole.set(row.emailId, email);
    }
    return email;
  };
  const rowOf = (email: QueryEmail) => byEmail.get(parseEmailId(email.id) as number) as MailboxMessage;
  return {
    facts(email) {
      const row = rowOf(email);
      let known = facts.get(row.emailId);
      if (known === undefined) {
        headers ??= store.blobs.readHeaderBlocks(rows.map((each) => each.messageId));
        known = headers.then(async (blocks) => {
          const block = blocks.get(row.messageId);
          const header = block ? parsed(row, block) : await message(row);
          const values = header.properties(["from", "to", "cc", "bcc", "subject", "sentAt"]);
          const sentAt = typeof values.sentAt === "string" ? Date.parse(values.sentAt) : Number.NaN;
          return {
            from: asFactAddresses(values.from),
            to: asFactAddresses(values.to),
            cc: asFactAddresses(values.cc),
            bcc: asFactAddresses(values.bcc),
            subject: typeof values.subject === "string" ? values.subject : "",
            sentAt: Number.isNaN(sentAt) ? null : sentAt,
            header: (name: string) => {
              const property = headerFilterProperty(name);
              const all = property === null ? [] : header.header(property);
              return Array.isArray(all) ? (all as string[]) : [];
            },
          };
        });
        facts.set(row.emailId, known);
      }
      return known;
    },
    async hasAttachment(email) {
      return (await message(rowOf(email))).hasAttachment;
    },
    async search(email, fields, text) {
      const key = `${fields.join(" ")}\u0000${text}`;
      let found = searches.get(key);
      if (found === undefined) {
        const options = scope.mailboxId === null ? undefined : { mailboxId: scope.mailboxId };
        found = store.search.search(scope.userId, fields, text, options).then((ids) => new Set(ids));
        searches.set(key, found);
      }
      return (await found).has(rowOf(email).messageId);
    },
    async bodyText(email) {
      const values = (await message(rowOf(email))).bodyValues({ fetchAllBodyValues: true });
      return Object.values(values)
        .map((value) => value.value)
        .join("\n");
    },
  };
}

/** Email/query's filter, sort and collapseThreads arguments. */
function emailQueryOf(args: JsonObject): EmailQuery & { collapseThreads: boolean } {
  const { filter, sort, collapseThreads } = args;
  if (collapseThreads !== undefined && collapseThreads !== null && typeof collapseThreads !== "boolean") {
    throw invalidArguments('"collapseThreads" must be true or false');
  }
  return {
    ...(filter !== undefined ? { filter } : {}),
    ...(sort !== undefined ? { sort } : {}),
    collapseThreads: collapseThreads === true,
  };
}

/**
 * The mailbox of a filter with an inMailbox condition at its top: such a query (what a mail client's list
 * asks) reads only that mailbox's entries.
 */
function inMailboxOf(filter: Json | undefined): number | null {
  return filter !== null &&
    typeof filter === "object" &&
    !Array.isArray(filter) &&
    typeof filter.inMailbox === "string"
    ? parseMailboxId(filter.inMailbox)
    : null;
}

/** Email/query's whole result (before any window) at the account state it was read in. */
async function queryResult(
  store: EmailJmapStore & Pick<Store, "mailboxes" | "search">,
  args: JsonObject,
  userId: number,
): Promise<{ ids: string[]; state: number }> {
  const query = emailQueryOf(args);
  const { filter } = query;
  const only = inMailboxOf(filter);
  const [rows, state] = await Promise.all([
    store.emails.listEmails(userId, only === null ? undefined : { mailboxId: only }),
    store.emails.accountState(userId),
  ]);
  const emails: QueryEmail[] = rows.map(toQueryEmail);
  // Threads reach across mailboxes, but only thread-keyword conditions and sorts look beyond the
  // queried mailbox; a plain mailbox list reads its own entries once.
  const threadMates =
    only !== null && readsThreadMates(query)
      ? (await store.emails.listEmails(userId)).map(toQueryEmail)
      : emails;
  const source = querySource(store, rows, { userId, mailboxId: only });
  const ids = await runEmailQuery(emails, query, source, threadMates);
  return { ids, state };
}

export function emailQuery(store: EmailJmapStore & Pick<Store, "mailboxes" | "search">): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const window = readWindow(args);
      const { filter, sort, collapseThreads } = emailQueryOf(args);
      const userId = context.account.userId;
      const only = inMailboxOf(filter);
      if (
        only !== null &&
        isMailboxList(filter as JsonObject, sort) &&
        window.anchor === null &&
        window.position >= 0
      ) {
        const [page, modseq] = await Promise.all([
          store.emails.pageMailbox(userId, only, {
            collapseThreads,
            position: window.position,
            limit: window.limit,
            // From position 0 the answer's position is 0 whatever the total: count only when asked
            // or when a position past the end must be brought back to it.
            count: window.calculateTotal || window.position > 0,
          }),
          store.emails.accountState(userId),
        ]);
        return {
          accountId: context.account.accountId,
          queryState: stateOf(modseq),
          canCalculateChanges: true,
          position: page.total === null ? window.position : Math.min(window.position, page.total),
          ids: page.emailIds.map(emailIdOf),
          ...(window.calculateTotal ? { total: page.total } : {}),
        };
      }
      const { ids, state } = await queryResult(store, args, userId);
      return {
        accountId: context.account.accountId,
        queryState: stateOf(state),
        canCalculateChanges: true,
        ...applyWindow(ids, window),
      };
    },
  };
}

/**
 * What a mail client's list asks — one mailbox, newest first (or the default order, which is the same) —
 * which the database sorts and windows; runEmailQuery's order for it is identical.
 */
function isMailboxList(filter: JsonObject, sort: Json | undefined): boolean {
  if (Object.keys(filter).length !== 1) return false;
  if (sort === undefined || sort === null) return true;
  if (!Array.isArray(sort) || sort.length > 1) return false;
  if (sort.length === 0) return true;
  const comparator = sort[0];
  if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator)) return false;
  const { property, isAscending, collation, ...rest } = comparator;
  return (
    property === "receivedAt" &&
    isAscending === false &&
    (collation === undefined || collation === "i;unicode-casemap") &&
    Object.keys(rest).length === 0
  );
}

function toQueryEmail(row: MailboxMessage): QueryEmail {
  const keywords = new Set<string>();
  for (const flag of row.flags) {
    const keyword = keywordOf(flag);
    if (keyword !== null) keywords.add(keyword);
  }
  return {
    id: emailIdOf(row.emailId),
    threadId: threadIdOf(row.threadId),
    mailboxId: mailboxIdOf({ id: row.mailboxId }),
    receivedAt: row.internalDate.getTime(),
    size: row.size,
    keywords,
  };
}

/**
 * Email/queryChanges (RFC 8620 §5.6): every email changed since the old state counts as changed. When
 * threads count (collapseThreads, or a thread-keyword filter or sort), an email's place can move
 * because a thread mate changed, so every email of a changed thread counts as changed.
 */
export function emailQueryChanges(store: EmailJmapStore & Pick<Store, "mailboxes" | "search">): Method {
  return queryChangesMethod({
    type: "Email",
    result: (args, userId) => queryResult(store, args, userId),
    async changed(args, userId, since) {
      const changed = new Set<string>();
      const emails = await store.emails.emailChanges(userId, since);
      const changedEmails = [...emails.created, ...emails.updated, ...emails.destroyed];
      for (const id of changedEmails) changed.add(emailIdOf(id));
      const query = emailQueryOf(args);
      if (query.collapseThreads || readsThreadMates(query)) {
        const threadChanges = await store.emails.threadChanges(userId, since);
        const threads = new Set([...threadChanges.created, ...threadChanges.updated]);
        const all = await store.emails.listEmails(userId);
        const touched = new Set(changedEmails);
        for (const row of all) if (touched.has(row.emailId)) threads.add(row.threadId);
        for (const row of all) if (threads.has(row.threadId)) changed.add(emailIdOf(row.emailId));
      }
      return changed;
    },
  });
}
