// What the method tests share: user 7's account (core and mail) and context, and mailbox rows as a fake
// store keeps them.

import { CORE, MAIL } from "../../src/jmap/capabilities.js";
import type { AccountContext, MethodContext } from "../../src/jmap/types.js";
import type { Mailbox, SpecialUse } from "../../src/store/types.js";

export const account: AccountContext = {
  accountId: "A7",
  userId: 7,
  address: "a@example.org",
  isReadOnly: false,
  capabilities: new Set([CORE, MAIL]),
};

/** A fresh context per request: its createdIds are the request's. */
export function methodContext(): MethodContext {
  return { account, using: new Set([CORE, MAIL]), createdIds: new Map() };
}

export function mailboxRow(
  id: number,
  name: string,
  specialUse: SpecialUse | null,
  highestModseq = 1,
): Mailbox {
  return {
    id,
    userId: 7,
    name,
    specialUse,
    subscribed: true,
    uidValidity: 1,
    uidNext: 1,
    highestModseq,
  };
}
