// Mailbox/get, Mailbox/query, Mailbox/queryChanges and Mailbox/changes (RFC 8621 §2) over the store's mailboxes part. The
// state is the account's (ids.ts): every change to a mailbox or the messages in it raises it.

import type { Mailbox, MailboxStatus, SpecialUse, Store } from "../store/types.js";
import { MAIL } from "./capabilities.js";
import { changesMethod, queryChangesMethod } from "./changes.js";
import { invalidArguments, MethodError } from "./errors.js";
import { type Condition, compileFilter } from "./filter.js";
import { mailboxIdOf, parseState, stateOf } from "./ids.js";
import { applyWindow, readWindow } from "./query-window.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

export type MailboxJmapStore = Pick<Store, "mailboxes" | "emails">;

export const ROLES: Readonly<Record<SpecialUse, string>> = {
  "\\Drafts": "drafts",
  "\\Sent": "sent",
  "\\Trash": "trash",
  "\\Junk": "junk",
  "\\Archive": "archive",
  "\\All": "all",
  "\\Flagged": "flagged",
};

const PROPERTIES = [
  "id",
  "name",
  "parentId",
  "role",
  "sortOrder",
  "totalEmails",
  "unreadEmails",
  "totalThreads",
  "unreadThreads",
  "myRights",
  "isSubscribed",
] as const;

export interface Loaded {
  mailboxes: Mailbox[];
  subscribed: Set<string>;
  state: string;
}

export async function load(store: MailboxJmapStore, userId: number): Promise<Loaded> {
  const [mailboxes, subscriptions, modseq] = await Promise.all([
    store.mailboxes.listMailboxes(userId),
    store.mailboxes.listSubscriptions(userId),
    store.emails.accountState(userId),
  ]);
  return { mailboxes, subscribed: new Set(subscriptions), state: stateOf(modseq) };
}

function roleOf(mailbox: Mailbox): string | null {
  if (mailbox.name.toUpperCase() === "INBOX") return "inbox";
  return mailbox.specialUse ? ROLES[mailbox.specialUse] : null;
}

/** The nearest existing ancestor is the parent; the name is what follows it ("a/b" when "x" holds "x/a/b"). */
function placeOf(
  mailbox: Mailbox,
  byName: ReadonlyMap<string, Mailbox>,
): { name: string; parent: Mailbox | null } {
  const parts = mailbox.name.split("/");
  for (let cut = parts.length - 1; cut > 0; cut--) {
    const parent = byName.get(parts.slice(0, cut).join("/"));
    if (parent) return { name: parts.slice(cut).join("/"), parent };
  }
  return { name: mailbox.name, parent: null };
}

export interface MailboxView {
  mailbox: Mailbox;
  name: string;
  parent: Mailbox | null;
  role: string | null;
  isSubscribed: boolean;
}

export function views(loaded: Loaded): MailboxView[] {
  const byName = new Map(loaded.mailboxes.map((mailbox) => [mailbox.name, mailbox]));
  return loaded.mailboxes.map((mailbox) => {
    const { name, parent } = placeOf(mailbox, byName);
    return {
      mailbox,
      name,
      parent,
      role: roleOf(mailbox),
      isSubscribed: loaded.subscribed.has(mailbox.name),
    };
  });
}

export interface ThreadCounts {
  total: number;
  unread: number;
}

/** RFC 8621 §2: threads with an email here, and those with an unread email here. */
async function threadCounts(
  store: MailboxJmapStore,
  userId: number,
  mailboxId: number,
): Promise<ThreadCounts> {
  const emails = await store.emails.listEmails(userId, { mailboxId });
  const all = new Set<number>();
  const unread = new Set<number>();
  for (const email of emails) {
    all.add(email.threadId);
    if (!email.flags.some((flag) => flag.toLowerCase() === "\\seen")) unread.add(email.threadId);
  }
  return { total: all.size, unread: unread.size };
}

export function toObject(
  view: MailboxView,
  status: MailboxStatus,
  threads: ThreadCounts | null,
): Record<(typeof PROPERTIES)[number], Json> {
  const isInbox = view.role === "inbox";
  return {
    id: mailboxIdOf(view.mailbox),
    name: view.name,
    parentId: view.parent ? mailboxIdOf(view.parent) : null,
    role: view.role,
    sortOrder: 0,
    totalEmails: status.messages,
    unreadEmails: status.unseen,
    totalThreads: threads?.total ?? null,
    unreadThreads: threads?.unread ?? null,
    // The user owns every mailbox of their account; INBOX cannot be renamed away or deleted.
    myRights: {
      mayReadItems: true,
      mayAddItems: true,
      mayRemoveItems: true,
      maySetSeen: true,
      maySetKeywords: true,
      mayCreateChild: true,
      mayRename: !isInbox,
      mayDelete: !isInbox,
      maySubmit: true,
    },
    isSubscribed: view.isSubscribed,
  };
}

function stringList(args: JsonObject, key: string): string[] | null {
  const value = args[key];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw invalidArguments(`"${key}" must be null or an array of strings`);
  }
  return value as string[];
}

export function mailboxGet(store: MailboxJmapStore, maxObjectsInGet: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args: JsonObject, context: MethodContext): Promise<JsonObject> {
      const ids = stringList(args, "ids");
      const properties = stringList(args, "properties");
      const unknown = (properties ?? []).filter((name) => !(PROPERTIES as readonly string[]).includes(name));
      if (unknown.length > 0) throw invalidArguments(`Mailbox has no properties ${unknown.join(", ")}`);
      if (ids !== null && ids.length > maxObjectsInGet) {
        throw new MethodError(
          "requestTooLarge",
          `at most ${maxObjectsInGet} ids per Mailbox/get; ask in batches`,
        );
      }
      const loaded = await load(store, context.account.userId);
      const all = views(loaded);
      const byId = new Map(all.map((view) => [mailboxIdOf(view.mailbox), view]));
      const wanted = ids === null ? all : [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
      const notFound = ids === null ? [] : [...new Set(ids)].filter((id) => !byId.has(id));
      const statuses = await Promise.all(
        wanted.map((view) => store.mailboxes.mailboxStatus(view.mailbox.id)),
      );
      const keep = properties === null ? null : new Set(["id", ...properties]);
      // Counting threads reads every entry of the mailbox: only when asked for.
      const countThreads = keep === null || keep.has("totalThreads") || keep.has("unreadThreads");
      const threads = await Promise.all(
        wanted.map((view) =>
          countThreads ? threadCounts(store, context.account.userId, view.mailbox.id) : null,
        ),
      );
      const list = wanted.map((view, index) => {
        const object = toObject(view, statuses[index] as MailboxStatus, threads[index] ?? null);
        if (keep === null) return object;
        return Object.fromEntries(Object.entries(object).filter(([key]) => keep.has(key)));
      });
      return { accountId: context.account.accountId, state: loaded.state, list, notFound };
    },
  };
}

function filterOf(filter: Json | undefined): Condition<MailboxView> {
  return compileFilter<MailboxView>(filter, (key, value) => {
    switch (key) {
      case "parentId":
        if (value !== null && typeof value !== "string")
          throw new MethodError("unsupportedFilter", "parentId must be an id or null");
        return (view) => (view.parent ? mailboxIdOf(view.parent) : null) === value;
      case "name":
        if (typeof value !== "string") throw new MethodError("unsupportedFilter", "name must be a string");
        return (view) => view.name.toLowerCase().includes(value.toLowerCase());
      case "role":
        if (value !== null && typeof value !== "string")
          throw new MethodError("unsupportedFilter", "role must be a string or null");
        return (view) => view.role === value;
      case "hasAnyRole":
        if (typeof value !== "boolean")
          throw new MethodError("unsupportedFilter", "hasAnyRole must be true or false");
        return (view) => (view.role !== null) === value;
      case "isSubscribed":
        if (typeof value !== "boolean")
          throw new MethodError("unsupportedFilter", "isSubscribed must be true or false");
        return (view) => view.isSubscribed === value;
      default:
        throw new MethodError("unsupportedFilter", `Mailbox/query cannot filter on ${JSON.stringify(key)}`);
    }
  });
}

type Compare = (a: MailboxView, b: MailboxView) => number;

function sortOf(sort: Json | undefined): Compare {
  const comparators = sort === undefined || sort === null ? [] : sort;
  if (!Array.isArray(comparators)) throw invalidArguments('"sort" must be an array of comparators or null');
  const parts: Compare[] = comparators.map((comparator) => {
    if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator)) {
      throw invalidArguments("each comparator must be an object");
    }
    const direction = comparator.isAscending === false ? -1 : 1;
    if (comparator.collation !== undefined && comparator.collation !== "i;unicode-casemap") {
      throw new MethodError(
        "unsupportedSort",
        `collation ${JSON.stringify(comparator.collation)} is not supported; use i;unicode-casemap`,
      );
    }
    switch (comparator.property) {
      case "name":
        return (a, b) => direction * a.name.toLowerCase().localeCompare(b.name.toLowerCase());
      case "sortOrder":
        return () => 0;
      default:
        throw new MethodError(
          "unsupportedSort",
          `Mailbox/query cannot sort by ${JSON.stringify(comparator.property)}; use name or sortOrder`,
        );
    }
  });
  // Ties keep the creation order, so the result is the same on every call.
  return (a, b) => {
    for (const part of parts) {
      const order = part(a, b);
      if (order !== 0) return order;
    }
    return a.mailbox.id - b.mailbox.id;
  };
}

/** Parents before children, each level in sort order (RFC 8621 §2.3 sortAsTree). */
function asTree(views: MailboxView[], compare: Compare): MailboxView[] {
  const children = new Map<number | null, MailboxView[]>();
  for (const view of views) {
    const key = view.parent?.id ?? null;
    children.set(key, [...(children.get(key) ?? []), view]);
  }
  const out: MailboxView[] = [];
  const visit = (parent: number | null) => {
    for (const view of (children.get(parent) ?? []).sort(compare)) {
      out.push(view);
      visit(view.mailbox.id);
    }
  };
  visit(null);
  return out;
}

/** Mailbox/query's whole result (before any window) and the state it was read at. */
async function queryResult(
  store: MailboxJmapStore,
  args: JsonObject,
  userId: number,
): Promise<{ ids: string[]; state: string }> {
  const matches = filterOf(args.filter);
  const compare = sortOf(args.sort);
  const loaded = await load(store, userId);
  const all = views(loaded);
  let kept: MailboxView[];
  if (args.filterAsTree === true) {
    // A mailbox is kept only when it and every ancestor match (RFC 8621 §2.3 filterAsTree).
    const byId = new Map(all.map((view) => [view.mailbox.id, view]));
    const passes = (view: MailboxView): boolean =>
      matches(view) && (view.parent === null || passes(byId.get(view.parent.id) as MailboxView));
    kept = all.filter(passes);
  } else {
    kept = all.filter(matches);
  }
  const ordered = args.sortAsTree === true ? asTree(kept, compare) : [...kept].sort(compare);
  return { ids: ordered.map((view) => mailboxIdOf(view.mailbox)), state: loaded.state };
}

export function mailboxQuery(store: MailboxJmapStore): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args: JsonObject, context: MethodContext): Promise<JsonObject> {
      const window = readWindow(args);
      const { ids, state } = await queryResult(store, args, context.account.userId);
      return {
        accountId: context.account.accountId,
        queryState: state,
        canCalculateChanges: true,
        ...applyWindow(ids, window),
      };
    },
  };
}

/**
 * Mailbox/queryChanges (RFC 8620 §5.6). A mailbox's name and parent come from the names of the others
 * (placeOf), and a tree query places it by its ancestors, so when a mailbox came or went, or the query
 * is a tree, every mailbox counts as changed; otherwise only those updated since.
 */
export function mailboxQueryChanges(store: MailboxJmapStore): Method {
  return queryChangesMethod({
    type: "Mailbox",
    async result(args, userId) {
      const { ids, state } = await queryResult(store, args, userId);
      return { ids, state: parseState(state) as number };
    },
    async changed(args, userId, since, result) {
      const changes = await store.emails.mailboxChanges(userId, since);
      const cameOrWent = [...changes.created, ...changes.destroyed];
      const changed = new Set([...changes.updated, ...cameOrWent].map((id) => mailboxIdOf({ id })));
      const tree = args.sortAsTree === true || args.filterAsTree === true;
      if (cameOrWent.length > 0 || (tree && changed.size > 0)) for (const id of result) changed.add(id);
      return changed;
    },
  });
}

export function mailboxChanges(store: MailboxJmapStore): Method {
  return changesMethod({
    type: "Mailbox",
    idOf: (id) => mailboxIdOf({ id }),
    changes: (userId, since, max) => store.emails.mailboxChanges(userId, since, max),
    // Counts and names are not told apart: any property may have changed (RFC 8621 §2.2).
    extra: { updatedProperties: null },
  });
}
