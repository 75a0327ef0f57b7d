// Mailbox/set (RFC 8621 §2.5) over the store's mailboxes part. A JMAP mailbox's place is its store name:
// "b" under the parent "a" is the mailbox "a/b", so a new name or parent is the store's rename, which
// takes the children and their subscriptions along, and a role is the IMAP SPECIAL-USE the mailbox is
// created with.

import { StoreError } from "../store/errors.js";
import type { Mailbox, SpecialUse, Store } from "../store/types.js";
import { MAIL, MAX_MAILBOX_NAME_BYTES } from "./capabilities.js";
import { invalidArguments } from "./errors.js";
import { mailboxIdOf } from "./ids.js";
import { load, type MailboxView, ROLES, toObject, views } from "./mailbox.js";
import {
  attempt,
  checkState,
  invalidProperty,
  readSetArguments,
  refuse,
  resolveId,
  SetResults,
} from "./set.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

export type MailboxSetStore = Pick<Store, "mailboxes" | "emails">;

const SETTABLE = new Set(["name", "parentId", "role", "sortOrder", "isSubscribed"]);
const SERVER_SET = new Set([
  "id",
  "totalEmails",
  "unreadEmails",
  "totalThreads",
  "unreadThreads",
  "myRights",
]);
const SPECIAL_USE_OF = new Map(Object.entries(ROLES).map(([use, role]) => [role, use as SpecialUse]));

function checkKeys(object: JsonObject): void {
  for (const key of Object.keys(object)) {
    if (SERVER_SET.has(key)) invalidProperty(key, `${key} is set by the server`);
    if (!SETTABLE.has(key)) invalidProperty(key, `Mailbox has no settable property ${JSON.stringify(key)}`);
  }
}

function readName(value: Json | undefined): string {
  if (typeof value !== "string" || value.length === 0) {
    invalidProperty("name", "name must be a non-empty string");
  }
  if (value.includes("/")) {
    invalidProperty("name", '"/" separates the levels of mailbox names here; give the parent as parentId');
  }
  if (Buffer.byteLength(value) > MAX_MAILBOX_NAME_BYTES) {
    invalidProperty("name", `name must be at most ${MAX_MAILBOX_NAME_BYTES} octets (maxSizeMailboxName)`);
  }
  return value;
}

function readSubscribed(value: Json | undefined): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    invalidProperty("isSubscribed", "isSubscribed must be true or false");
  }
  return value;
}

function checkSortOrder(value: Json | undefined): void {
  if (value !== undefined && value !== 0) {
    invalidProperty("sortOrder", "this server keeps every sortOrder at 0 and sorts mailboxes by name");
  }
}

/** A store refusal of a name: taken ("exists") or one the store cannot keep ("invalid"). */
function nameRefusal(error: unknown, property: string): never {
  if (error instanceof StoreError && error.code === "exists") {
    invalidProperty(property, `${error.message}: siblings need different names`);
  }
  if (error instanceof StoreError && error.code === "invalid") invalidProperty(property, error.message);
  throw error;
}

const zeroStatus = (mailbox: Mailbox) => ({
  messages: 0,
  unseen: 0,
  size: 0,
  uidNext: mailbox.uidNext,
  uidValidity: mailbox.uidValidity,
  highestModseq: mailbox.highestModseq,
});

export function mailboxSet(store: MailboxSetStore, maxObjectsInSet: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: true,
    async run(args: JsonObject, context: MethodContext): Promise<JsonObject> {
      const { ifInState, create, update, destroy } = readSetArguments(args, maxObjectsInSet, "Mailbox/set");
      const { onDestroyRemoveEmails } = args;
      if (onDestroyRemoveEmails !== undefined && typeof onDestroyRemoveEmails !== "boolean") {
        throw invalidArguments('"onDestroyRemoveEmails" must be true or false');
      }
      const userId = context.account.userId;
      let loaded = await load(store, userId);
      checkState(ifInState, loaded.state);
      const oldState = loaded.state;
      let all = views(loaded);
      const refresh = async () => {
        loaded = await load(store, userId);
        all = views(loaded);
      };
      const find = (id: string | null) => all.find((view) => mailboxIdOf(view.mailbox) === id);
      const parentOf = (value: Json | undefined): Mailbox | null => {
        if (value === undefined || value === null) return null;
        if (typeof value !== "string") invalidProperty("parentId", "parentId must be a mailbox id or null");
        const parent = find(resolveId(value, context.createdIds));
        if (parent === undefined) invalidProperty("parentId", `there is no mailbox ${value}`);
        return parent.mailbox;
      };
      const destroying = new Set(destroy.map((id) => resolveId(id, context.createdIds)));

      const results = new SetResults();
      const { created, notCreated } = results;
      const pending = new Set(create.keys());
      const createOne = async (creationId: string, object: JsonObject): Promise<void> => {
        pending.delete(creationId);
        // A parent created in this same call is made first, whatever the order of the create map.
        const { parentId } = object;
        const parentCreation =
          typeof parentId === "string" && parentId.startsWith("#") ? parentId.slice(1) : "";
        if (pending.has(parentCreation)) {
          await attempt(notCreated, parentCreation, () =>
            createOne(parentCreation, create.get(parentCreation) as JsonObject),
          );
        }
        checkKeys(object);
        const name = readName(object.name);
        const parent = parentOf(parentId);
        const role = object.role ?? null;
        let specialUse: SpecialUse | null = null;
        if (role !== null) {
          specialUse = (typeof role === "string" && SPECIAL_USE_OF.get(role)) || null;
          if (specialUse === null) {
            invalidProperty(
              "role",
              `role ${JSON.stringify(role)} is not one this server keeps; use one of ${[...SPECIAL_USE_OF.keys()].join(", ")} or null`,
            );
          }
          const holder = all.find((view) => view.role === role);
          if (holder !== undefined)
            invalidProperty("role", `${holder.mailbox.name} already has role ${role}`);
        }
        checkSortOrder(object.sortOrder);
        const isSubscribed = readSubscribed(object.isSubscribed) ?? true;
        let mailbox: Mailbox;
        try {
          mailbox = await store.mailboxes.createMailbox(
            userId,
            parent ? `${parent.name}/${name}` : name,
            specialUse,
          );
        } catch (error) {
          nameRefusal(error, "name");
        }
        // A name subscribed before its mailbox existed stays so (RFC 9051 §6.3.9): say what is wanted.
        if (mailbox.subscribed !== isSubscribed) {
          await store.mailboxes.setSubscribed(userId, mailbox.name, isSubscribed);
        }
        const id = mailboxIdOf(mailbox);
        context.createdIds.set(creationId, id);
        await refresh();
        const view = find(id) as MailboxView;
        // RFC 8620 §5.3: the id, and every property the client left to the server.
        const object_ = toObject(view, zeroStatus(mailbox), { total: 0, unread: 0 });
        created[creationId] = Object.fromEntries(Object.entries(object_).filter(([key]) => !(key in object)));
      };
      for (const [creationId, object] of create) {
        if (pending.has(creationId)) {
          await attempt(notCreated, creationId, () => createOne(creationId, object));
        }
      }

      const { updated, notUpdated } = results;
      for (const [given, patch] of update) {
        const id = resolveId(given, context.createdIds);
        await attempt(notUpdated, given, async () => {
          const view = find(id);
          if (view === undefined) refuse("notFound", `there is no mailbox ${given}`);
          if (destroying.has(id))
            refuse("willDestroy", "this call destroys the mailbox, so it is not updated");
          checkKeys(patch);
          if ("role" in patch && patch.role !== view.role) {
            invalidProperty(
              "role",
              "a role is the mailbox's IMAP SPECIAL-USE, fixed when it is created; create a mailbox with the role instead",
            );
          }
          checkSortOrder(patch.sortOrder);
          const subscribe = readSubscribed(patch.isSubscribed);
          let name = view.mailbox.name;
          if ("name" in patch || "parentId" in patch) {
            const leaf = "name" in patch ? readName(patch.name) : view.name;
            const parent = "parentId" in patch ? parentOf(patch.parentId) : view.parent;
            const target = parent ? `${parent.name}/${leaf}` : leaf;
            if (target !== name) {
              // The store could rename INBOX (RFC 9051 §6.3.6 moves its messages out), but INBOX's JMAP
              // rights say mayRename false: mail keeps arriving there.
              if (view.role === "inbox") refuse("forbidden", "INBOX cannot be renamed or moved");
              if (parent !== null && (parent.id === view.mailbox.id || parent.name.startsWith(`${name}/`))) {
                invalidProperty("parentId", "a mailbox cannot move under itself or one of its children");
              }
              try {
                await store.mailboxes.renameMailbox(userId, name, target);
              } catch (error) {
                nameRefusal(error, "name");
              }
              name = target;
            }
          }
          if (subscribe !== undefined) await store.mailboxes.setSubscribed(userId, name, subscribe);
          updated[id as string] = null;
          await refresh();
        });
      }

      const { destroyed, notDestroyed } = results;
      const depth = (id: string) =>
        find(resolveId(id, context.createdIds))?.mailbox.name.split("/").length ?? 0;
      // Children before their parents, so a call that destroys both succeeds.
      for (const given of [...destroy].sort((a, b) => depth(b) - depth(a))) {
        const id = resolveId(given, context.createdIds);
        await attempt(notDestroyed, given, async () => {
          const view = find(id);
          if (view === undefined) refuse("notFound", `there is no mailbox ${given}`);
          if (view.role === "inbox")
            refuse("forbidden", "INBOX cannot be destroyed; destroy its emails instead");
          const prefix = `${view.mailbox.name}/`;
          if (all.some((other) => other.mailbox.name.startsWith(prefix))) {
            refuse("mailboxHasChild", "the mailbox has child mailboxes; destroy or move them first");
          }
          if (onDestroyRemoveEmails !== true) {
            const { messages } = await store.mailboxes.mailboxStatus(view.mailbox.id);
            if (messages > 0) {
              refuse(
                "mailboxHasEmail",
                `the mailbox holds ${messages} emails; move or destroy them, or set onDestroyRemoveEmails`,
              );
            }
          }
          await store.mailboxes.deleteMailbox(userId, view.mailbox.name);
          destroyed.push(id as string);
          await refresh();
        });
      }

      return results.response(context.account.accountId, oldState, loaded.state);
    },
  };
}
