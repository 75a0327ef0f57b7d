// The read, search and delete part of Mailpit's REST API (https://mailpit.axllent.org/docs/api-v1/),
// answered in capture mode from the catch-all account, so test suites written against Mailpit run
// unchanged. Sans-IO: a parsed request in, a status and body out; the messages come from JMAP method
// calls (the same queries, Email parsing and MIME code as any JMAP client gets), run by the backend.
//
// IDs are the catch-all account's JMAP Email ids. Deleting removes the message from every captured
// inbox (the recipients' too), as Mailpit's one mailbox would; the read flag is the catch-all's.

import { CORE, MAIL } from "../jmap/capabilities.js";
import type { AccountContext, Invocation, JmapRequest, Json, JsonObject } from "../jmap/types.js";
import { htmlToText } from "../mail/html-text.js";
import { parseSearch } from "./search.js";

export interface MailpitRequest {
  method: string;
  /** The URL path, e.g. "/api/v1/messages". */
  path: string;
  query: URLSearchParams;
  /** The request body (JSON for PUT and DELETE); null when there was none. */
  body: Buffer | null;
}

export interface MailpitResponse {
  status: number;
  contentType: "application/json" | "text/plain; charset=utf-8";
  body: string | Buffer;
}

export interface MailpitBackend {
  /** The catch-all account, which sees every captured message. */
  catchAll(): Promise<AccountContext>;
  /** Every account of this capture store (each recipient's inbox, the catch-all among them). */
  accounts(): Promise<AccountContext[]>;
  /** Runs a JMAP request as the account; the method responses, in order. */
  jmap(account: AccountContext, request: JmapRequest): Promise<Invocation[]>;
  /** A message's stored bytes, as JMAP's download would give them; null when gone. */
  readBlob(account: AccountContext, blobId: string): Promise<Buffer | null>;
}

/** Mailpit's page size when `limit` is not given. */
const DEFAULT_LIMIT = 50;
/** Ids per Email/get, Email/set and Email/query page: the JMAP limits (DEFAULT_LIMITS) allow 500. */
const PAGE = 500;
/** Mailpit's snippets are at most 250 characters. */
const SNIPPET_LENGTH = 250;

const USING = [CORE, MAIL];

const SUMMARY_PROPERTIES = [
  "id",
  "blobId",
  "messageId",
  "keywords",
  "from",
  "to",
  "cc",
  "bcc",
  "replyTo",
  "subject",
  "receivedAt",
  "size",
  "attachments",
  "preview",
];

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isMailpitPath(path: string): boolean {
  return path === "/api/v1" || path.startsWith("/api/v1/");
}

function json(body: unknown, status = 200): MailpitResponse {
  return { status, contentType: "application/json", body: JSON.stringify(body) };
}

function text(body: string | Buffer, status = 200): MailpitResponse {
  return { status, contentType: "text/plain; charset=utf-8", body };
}

export async function answerMailpit(
  request: MailpitRequest,
  backend: MailpitBackend,
): Promise<MailpitResponse> {
  try {
    return await route(request, backend);
  } catch (error) {
    // Mailpit answers its errors as plain text; only our own ApiErrors are told to the client.
    if (error instanceof ApiError) return text(error.message, error.status);
    throw error;
  }
}

async function route(request: MailpitRequest, backend: MailpitBackend): Promise<MailpitResponse> {
  const { method, path } = request;
  const allow = (allowed: string[]): void => {
    if (!allowed.includes(method)) {
      throw new ApiError(405, `${path} takes ${allowed.join(", ")}, not ${method}`);
    }
  };
  if (path === "/api/v1/messages") {
    allow(["GET", "PUT", "DELETE"]);
    if (method === "GET") return listMessages(backend, request.query, null);
    if (method === "PUT") return setRead(backend, request.body);
    return deleteMessages(backend, request.body);
  }
  if (path === "/api/v1/search") {
    allow(["GET", "DELETE"]);
    const query = (request.query.get("query") ?? "").trim();
    if (query === "") throw new ApiError(400, "Error: no search query; add ?query=…");
    const filter = searchFilter(query);
    if (method === "GET") return listMessages(backend, request.query, filter);
    return deleteSearch(backend, filter);
  }
  if (path === "/api/v1/info") {
    allow(["GET"]);
    return info(backend);
  }
  const message = /^\/api\/v1\/message\/([^/]+)(?:\/(raw|headers))?\/?$/.exec(path);
  if (message) {
    allow(["GET"]);
    const id = decodeURIComponent(message[1] as string);
    if (message[2] === "raw") return raw(backend, id);
    if (message[2] === "headers") return headers(backend, id);
    return fullMessage(backend, id);
  }
  throw new ApiError(
    404,
    `${path} is not part of mailroom's Mailpit API; it answers /api/v1/messages, /api/v1/message/{ID} (and /raw, /headers), /api/v1/search and /api/v1/info`,
  );
}

function searchFilter(query: string): JsonObject {
  const parsed = parseSearch(query);
  if ("error" in parsed) throw new ApiError(400, parsed.error);
  return parsed.filter;
}

async function call(
  backend: MailpitBackend,
  account: AccountContext,
  calls: Invocation[],
): Promise<JsonObject[]> {
  const responses = await backend.jmap(account, { using: USING, methodCalls: calls });
  return responses.map(([name, args]) => {
    if (name === "error") throw new Error(`JMAP ${String(args.type)}: ${String(args.description ?? "")}`);
    return args;
  });
}

/** The catch-all's INBOX: its id and counts (Mailpit's total and unread). */
async function inbox(
  backend: MailpitBackend,
  account: AccountContext,
): Promise<{ id: string; total: number; unread: number }> {
  const [got] = await call(backend, account, [
    [
      "Mailbox/get",
      { accountId: account.accountId, ids: null, properties: ["id", "role", "totalEmails", "unreadEmails"] },
      "m",
    ],
  ]);
  const list = (got?.list ?? []) as JsonObject[];
  const found = list.find((mailbox) => mailbox.role === "inbox");
  if (!found) throw new Error("the catch-all account has no INBOX");
  return { id: String(found.id), total: Number(found.totalEmails), unread: Number(found.unreadEmails) };
}

function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const value = query.get(name);
  if (value === null || value === "") return fallback;
  if (!/^\d{1,9}$/.test(value)) throw new ApiError(400, `${name} must be a whole number of 0 or more`);
  return Number(value);
}

interface EmailAddress {
  Name: string;
  Address: string;
}

function addresses(value: Json | undefined): EmailAddress[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => {
    const address = entry as JsonObject;
    return {
      Name: typeof address.name === "string" ? address.name : "",
      Address: String(address.email ?? ""),
    };
  });
}

/** Inline parts (shown in the HTML by cid:) apart from the attachments proper, as Mailpit lists them. */
function isInline(part: JsonObject): boolean {
  return part.disposition === "inline" && typeof part.cid === "string";
}

function summary(email: JsonObject): JsonObject {
  const keywords = (email.keywords ?? {}) as JsonObject;
  const parts = (email.attachments ?? []) as JsonObject[];
  const messageId = Array.isArray(email.messageId) ? String(email.messageId[0] ?? "") : "";
  return {
    ID: String(email.id),
    MessageID: messageId,
    Read: keywords.$seen === true,
    From: (addresses(email.from)[0] ?? null) as unknown as Json,
    To: addresses(email.to) as unknown as Json,
    Cc: addresses(email.cc) as unknown as Json,
    Bcc: addresses(email.bcc) as unknown as Json,
    ReplyTo: addresses(email.replyTo) as unknown as Json,
    Subject: typeof email.subject === "string" ? email.subject : "",
    Created: String(email.receivedAt),
    Username: "",
    Tags: [],
    Size: Number(email.size),
    Attachments: parts.filter((part) => !isInline(part)).length,
    Snippet: typeof email.preview === "string" ? email.preview.slice(0, SNIPPET_LENGTH) : "",
  };
}

async function listMessages(
  backend: MailpitBackend,
  query: URLSearchParams,
  filter: JsonObject | null,
): Promise<MailpitResponse> {
  const start = integerParam(query, "start", 0);
  const limit = integerParam(query, "limit", DEFAULT_LIMIT);
  const account = await backend.catchAll();
  const box = await inbox(backend, account);
  const inMailbox = { inMailbox: box.id };
  const calls: Invocation[] = [
    [
      "Email/query",
      {
        accountId: account.accountId,
        filter: filter === null ? inMailbox : { operator: "AND", conditions: [inMailbox, filter] },
        sort: [{ property: "receivedAt", isAscending: false }],
        position: start,
        limit: Math.min(limit, PAGE),
        calculateTotal: true,
      },
      "q",
    ],
    [
      "Email/get",
      {
        accountId: account.accountId,
        "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
        properties: SUMMARY_PROPERTIES,
      },
      "g",
    ],
  ];
  if (filter !== null) {
    calls.push([
      "Email/query",
      {
        accountId: account.accountId,
        filter: { operator: "AND", conditions: [inMailbox, filter, { notKeyword: "$seen" }] },
        limit: 0,
        calculateTotal: true,
      },
      "u",
    ]);
  }
  const [queried, got, unread] = await call(backend, account, calls);
  const messages = ((got?.list ?? []) as JsonObject[]).map(summary);
  const matching = Number(queried?.total ?? 0);
  return json({
    total: box.total,
    unread: box.unread,
    count: messages.length,
    messages_count: filter === null ? box.total : matching,
    messages_unread: filter === null ? box.unread : Number(unread?.total ?? 0),
    start,
    tags: [],
    messages,
  });
}

/** The catch-all's email with this id ("latest": the newest); 404 when there is none. */
async function findEmail(
  backend: MailpitBackend,
  account: AccountContext,
  id: string,
  properties: string[],
  extra: JsonObject = {},
): Promise<JsonObject> {
  let emailId = id;
  if (id === "latest") {
    const box = await inbox(backend, account);
    const [queried] = await call(backend, account, [
      [
        "Email/query",
        {
          accountId: account.accountId,
          filter: { inMailbox: box.id },
          sort: [{ property: "receivedAt", isAscending: false }],
          limit: 1,
        },
        "q",
      ],
    ]);
    const newest = (queried?.ids as string[] | undefined)?.[0];
    if (newest === undefined) throw new ApiError(404, "Message not found: no message has been captured");
    emailId = newest;
  }
  const [got] = await call(backend, account, [
    ["Email/get", { accountId: account.accountId, ids: [emailId], properties, ...extra }, "g"],
  ]);
  const email = ((got?.list ?? []) as JsonObject[])[0];
  if (email === undefined) throw new ApiError(404, `Message not found: no message with ID ${id}`);
  return email;
}

function attachment(part: JsonObject): JsonObject {
  return {
    PartID: String(part.partId ?? ""),
    FileName: typeof part.name === "string" ? part.name : "",
    ContentType: String(part.type ?? "application/octet-stream"),
    ContentID: typeof part.cid === "string" ? part.cid : "",
    Size: Number(part.size ?? 0),
  };
}

function bodyText(parts: Json | undefined, values: JsonObject, type: string): string {
  if (!Array.isArray(parts)) return "";
  return (parts as JsonObject[])
    .filter((part) => part.type === type)
    .map((part) => String(((values[String(part.partId)] ?? {}) as JsonObject).value ?? ""))
    .join("\n");
}

async function fullMessage(backend: MailpitBackend, id: string): Promise<MailpitResponse> {
  const account = await backend.catchAll();
  const email = await findEmail(
    backend,
    account,
    id,
    [
      ...SUMMARY_PROPERTIES,
      "sentAt",
      "textBody",
      "htmlBody",
      "bodyValues",
      "header:Return-Path",
      "header:List-Unsubscribe",
      "header:List-Unsubscribe-Post",
    ],
    { fetchTextBodyValues: true, fetchHTMLBodyValues: true },
  );
  const values = (email.bodyValues ?? {}) as JsonObject;
  const html = bodyText(email.htmlBody, values, "text/html");
  const plain = bodyText(email.textBody, values, "text/plain");
  const parts = (email.attachments ?? []) as JsonObject[];
  const { Read: _read, Created: _created, Snippet: _snippet, Attachments: _count, ...rest } = summary(email);
  const unsubscribe = email["header:List-Unsubscribe"];
  return json({
    ...rest,
    ReturnPath: String(email["header:Return-Path"] ?? "")
      .trim()
      .replace(/^<|>$/g, ""),
    Date: String(email.sentAt ?? email.receivedAt),
    ListUnsubscribe: {
      Header: typeof unsubscribe === "string" ? unsubscribe.trim() : "",
      Links: typeof unsubscribe === "string" ? [...unsubscribe.matchAll(/<([^>]+)>/g)].map((m) => m[1]) : [],
      Errors: "",
      HeaderPost: String(email["header:List-Unsubscribe-Post"] ?? "").trim(),
    },
    Text: plain !== "" || html === "" ? plain : htmlToText(html),
    HTML: html,
    Inline: parts.filter(isInline).map(attachment),
    Attachments: parts.filter((part) => !isInline(part)).map(attachment),
  });
}

async function raw(backend: MailpitBackend, id: string): Promise<MailpitResponse> {
  const account = await backend.catchAll();
  const email = await findEmail(backend, account, id, ["blobId"]);
  const bytes = await backend.readBlob(account, String(email.blobId));
  if (bytes === null) throw new ApiError(404, `Message not found: no message with ID ${id}`);
  return text(bytes);
}

async function headers(backend: MailpitBackend, id: string): Promise<MailpitResponse> {
  const account = await backend.catchAll();
  const email = await findEmail(backend, account, id, ["headers"]);
  const fields: Record<string, string[]> = {};
  for (const field of (email.headers ?? []) as JsonObject[]) {
    // The raw value, unfolded (RFC 5322 §2.2.3), as Mailpit lists each field's values under its name.
    const value = String(field.value ?? "")
      .replace(/\r?\n[ \t]/g, " ")
      .trim();
    const name = String(field.name);
    fields[name] = [...(fields[name] ?? []), value];
  }
  return json(fields);
}

function bodyObject(body: Buffer | null): JsonObject {
  if (body === null || body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ApiError(400, 'the request body is not JSON; send e.g. {"IDs": ["…"]}');
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ApiError(400, 'the request body must be a JSON object, e.g. {"IDs": ["…"]}');
  }
  return parsed as JsonObject;
}

function idList(body: JsonObject): string[] {
  const ids = body.IDs ?? [];
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
    throw new ApiError(400, "IDs must be a list of message IDs (strings)");
  }
  return ids as string[];
}

/** Every catch-all INBOX id matching the filter (all of them without one). */
async function matchingIds(
  backend: MailpitBackend,
  account: AccountContext,
  filter: JsonObject | null,
): Promise<string[]> {
  const box = await inbox(backend, account);
  const inMailbox = { inMailbox: box.id };
  const ids: string[] = [];
  for (;;) {
    const [queried] = await call(backend, account, [
      [
        "Email/query",
        {
          accountId: account.accountId,
          filter: filter === null ? inMailbox : { operator: "AND", conditions: [inMailbox, filter] },
          position: ids.length,
          limit: PAGE,
        },
        "q",
      ],
    ]);
    const page = (queried?.ids ?? []) as string[];
    ids.push(...page);
    if (page.length < PAGE) return ids;
  }
}

async function setRead(backend: MailpitBackend, body: Buffer | null): Promise<MailpitResponse> {
  const request = bodyObject(body);
  const read = request.Read === true;
  const ids = idList(request);
  const search = typeof request.Search === "string" ? request.Search.trim() : "";
  if (ids.length > 0 && search !== "") {
    throw new ApiError(400, "You may specify either IDs or a search query, not both");
  }
  const account = await backend.catchAll();
  const targets =
    ids.length > 0 ? ids : await matchingIds(backend, account, search === "" ? null : searchFilter(search));
  for (let at = 0; at < targets.length; at += PAGE) {
    const update: JsonObject = {};
    for (const id of targets.slice(at, at + PAGE)) update[id] = { "keywords/$seen": read ? true : null };
    await call(backend, account, [["Email/set", { accountId: account.accountId, update }, "s"]]);
  }
  return text("ok");
}

/** Destroys these emails in one account, a page at a time. */
async function destroy(backend: MailpitBackend, account: AccountContext, ids: string[]): Promise<void> {
  for (let at = 0; at < ids.length; at += PAGE) {
    await call(backend, account, [
      ["Email/set", { accountId: account.accountId, destroy: ids.slice(at, at + PAGE) }, "d"],
    ]);
  }
}

/** Every email of the account, in any mailbox. */
async function everyEmail(backend: MailpitBackend, account: AccountContext): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const [queried] = await call(backend, account, [
      ["Email/query", { accountId: account.accountId, position: ids.length, limit: PAGE }, "q"],
    ]);
    const page = (queried?.ids ?? []) as string[];
    ids.push(...page);
    if (page.length < PAGE) return ids;
  }
}

/**
 * Removes these catch-all messages and every recipient's copy of them. A copy is the same stored body
 * (one delivery, one blob) with the same arrival time, so each account is asked for its emails of
 * that second only and they are confirmed by blob id.
 */
async function removeEverywhere(backend: MailpitBackend, ids: string[]): Promise<void> {
  const catchAll = await backend.catchAll();
  const blobs = new Set<string>();
  const seconds = new Set<string>();
  for (let at = 0; at < ids.length; at += PAGE) {
    const [got] = await call(backend, catchAll, [
      [
        "Email/get",
        {
          accountId: catchAll.accountId,
          ids: ids.slice(at, at + PAGE),
          properties: ["blobId", "receivedAt"],
        },
        "g",
      ],
    ]);
    for (const email of (got?.list ?? []) as JsonObject[]) {
      blobs.add(String(email.blobId));
      seconds.add(String(email.receivedAt));
    }
  }
  if (blobs.size === 0) return;
  for (const account of await backend.accounts()) {
    const candidates = await receivedDuring(backend, account, [...seconds]);
    const copies: string[] = [];
    for (let at = 0; at < candidates.length; at += PAGE) {
      const [got] = await call(backend, account, [
        [
          "Email/get",
          { accountId: account.accountId, ids: candidates.slice(at, at + PAGE), properties: ["blobId"] },
          "g",
        ],
      ]);
      for (const email of (got?.list ?? []) as JsonObject[]) {
        if (blobs.has(String(email.blobId))) copies.push(String(email.id));
      }
    }
    await destroy(backend, account, copies);
  }
}

/** The account's emails that arrived in any of these seconds (JMAP UTCDates, RFC 8621 §4.1.1 receivedAt). */
async function receivedDuring(
  backend: MailpitBackend,
  account: AccountContext,
  seconds: string[],
): Promise<string[]> {
  const found = new Set<string>();
  // JMAP allows 32 method calls per request.
  for (let at = 0; at < seconds.length; at += 30) {
    const calls: Invocation[] = seconds.slice(at, at + 30).map((second, index) => {
      const start = Math.floor(Date.parse(second) / 1000) * 1000;
      const utc = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
      // RFC 8621 §4.4.1: "after" is receivedAt >= the date, "before" is receivedAt < it.
      const filter = { after: utc(start), before: utc(start + 1000) };
      return ["Email/query", { accountId: account.accountId, filter }, `q${index}`];
    });
    for (const queried of await call(backend, account, calls)) {
      for (const id of (queried.ids ?? []) as string[]) found.add(id);
    }
  }
  return [...found];
}

async function deleteMessages(backend: MailpitBackend, body: Buffer | null): Promise<MailpitResponse> {
  const ids = idList(bodyObject(body));
  if (ids.length > 0) {
    await removeEverywhere(backend, ids);
    return text("ok");
  }
  // No IDs: everything captured goes, in every account (Mailpit's "delete all").
  for (const account of await backend.accounts())
    await destroy(backend, account, await everyEmail(backend, account));
  return text("ok");
}

async function deleteSearch(backend: MailpitBackend, filter: JsonObject): Promise<MailpitResponse> {
  const account = await backend.catchAll();
  await removeEverywhere(backend, await matchingIds(backend, account, filter));
  return text("ok");
}

async function info(backend: MailpitBackend): Promise<MailpitResponse> {
  const account = await backend.catchAll();
  const box = await inbox(backend, account);
  return json({
    Version: "mailroom capture mode",
    LatestVersion: "",
    Database: "",
    DatabaseSize: 0,
    Messages: box.total,
    Unread: box.unread,
    Tags: {},
    RuntimeStats: {},
  });
}
