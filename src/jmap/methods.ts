// Every JMAP method mailroom serves, by name.

import type { Store } from "../store/types.js";
import { CORE, type JmapLimits, MAIL, SUBMISSION } from "./capabilities.js";
import { blobCopy, coreEcho } from "./core.js";
import { emailCopy } from "./email-copy.js";
import { emailImport } from "./email-import.js";
import { emailChanges, emailGet, emailQuery, emailQueryChanges } from "./email-methods.js";
import { emailParse } from "./email-parse.js";
import { emailSet } from "./email-set.js";
import { identityChanges, identityGet } from "./identity.js";
import { mailboxChanges, mailboxGet, mailboxQuery, mailboxQueryChanges } from "./mailbox.js";
import { mailboxSet } from "./mailbox-set.js";
import { searchSnippetGet } from "./search-snippet.js";
import { threadChanges, threadGet } from "./thread.js";
import type { MethodRegistry } from "./types.js";
import { WEBSOCKET } from "./websocket.js";

export const CAPABILITIES: ReadonlySet<string> = new Set([CORE, MAIL, SUBMISSION, WEBSOCKET]);

export type JmapStore = Pick<Store, "mailboxes" | "blobs" | "emails" | "messages">;

export function jmapMethods(store: JmapStore, limits: JmapLimits): MethodRegistry {
  return new Map([
    ["Core/echo", coreEcho],
    ["Blob/copy", blobCopy(store, limits.maxObjectsInSet)],
    ["Mailbox/get", mailboxGet(store, limits.maxObjectsInGet)],
    ["Mailbox/query", mailboxQuery(store)],
    ["Mailbox/queryChanges", mailboxQueryChanges(store)],
    ["Mailbox/changes", mailboxChanges(store)],
    ["Mailbox/set", mailboxSet(store, limits.maxObjectsInSet)],
    ["Email/get", emailGet(store, limits.maxObjectsInGet)],
    ["Email/changes", emailChanges(store)],
    ["Email/query", emailQuery(store)],
    ["Email/queryChanges", emailQueryChanges(store)],
    ["Email/parse", emailParse(store, limits.maxObjectsInGet)],
    ["Email/set", emailSet(store, limits.maxObjectsInSet)],
    ["Email/copy", emailCopy(limits.maxObjectsInSet)],
    ["Email/import", emailImport(store, limits.maxObjectsInSet)],
    ["SearchSnippet/get", searchSnippetGet(store, limits.maxObjectsInGet)],
    ["Thread/get", threadGet(store, limits.maxObjectsInGet)],
    ["Thread/changes", threadChanges(store)],
    ["Identity/get", identityGet(limits.maxObjectsInGet)],
    ["Identity/changes", identityChanges],
  ]);
}
