// Every JMAP method mailroom serves, by name.

import type { Store } from "../store/types.js";
import { CORE, type JmapLimits, MAIL } from "./capabilities.js";
import { blobCopy, coreEcho } from "./core.js";
import { emailParse } from "./email-parse.js";
import { mailboxGet, mailboxQuery } from "./mailbox.js";
import type { MethodRegistry } from "./types.js";
import { WEBSOCKET } from "./websocket.js";

export const CAPABILITIES: ReadonlySet<string> = new Set([CORE, MAIL, WEBSOCKET]);

export function jmapMethods(store: Pick<Store, "mailboxes" | "blobs">, limits: JmapLimits): MethodRegistry {
  return new Map([
    ["Core/echo", coreEcho],
    ["Blob/copy", blobCopy(store, limits.maxObjectsInSet)],
    ["Mailbox/get", mailboxGet(store, limits.maxObjectsInGet)],
    ["Mailbox/query", mailboxQuery(store)],
    ["Email/parse", emailParse(store, limits.maxObjectsInGet)],
  ]);
}
