// Identity/get and Identity/changes (RFC 8621 §6): the addresses the user may send as. Submission lets a
// user send only as their own address (ARCHITECTURE.md, "Outbound"), so that is the one identity, worked
// out from the account each time: nothing is stored, nothing can change, and Identity/set is not
// offered at all (a client then knows it cannot create or edit identities).

import { createHash } from "node:crypto";
import { SUBMISSION } from "./capabilities.js";
import { invalidArguments, MethodError } from "./errors.js";
import { readIds, readProperties } from "./get-ids.js";
import type { AccountContext, JsonObject, Method } from "./types.js";

const PROPERTIES = [
  "id",
  "name",
  "email",
  "replyTo",
  "bcc",
  "textSignature",
  "htmlSignature",
  "mayDelete",
] as const;

/** Stable for the address, in the Id alphabet (RFC 8620 §1.2). */
function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 12);
}

function identitiesOf(
  account: AccountContext,
): Array<Record<(typeof PROPERTIES)[number], JsonObject[string]>> {
  return [
    {
      id: `I${hashOf(account.address)}`,
      // The directory keeps no display name for a user.
      name: "",
      email: account.address,
      replyTo: null,
      bcc: null,
      textSignature: "",
      htmlSignature: "",
      mayDelete: false,
    },
  ];
}

/** Changes exactly when the identities do, which for now is never during an account's life. */
function stateOf(account: AccountContext): string {
  return `i${hashOf(JSON.stringify(identitiesOf(account)))}`;
}

export function identityGet(maxObjects: number): Method {
  return {
    capability: SUBMISSION,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const wanted = readIds(args, maxObjects, "Identity/get", context);
      const keep = readProperties(args, PROPERTIES);
      const all = identitiesOf(context.account);
      const list = all
        .filter((identity) => wanted === null || wanted.includes(identity.id as string))
        .map((identity) =>
          keep === null
            ? identity
            : Object.fromEntries(Object.entries(identity).filter(([key]) => keep.has(key))),
        );
      return {
        accountId: context.account.accountId,
        state: stateOf(context.account),
        list,
        notFound: (wanted ?? []).filter((id) => !all.some((identity) => identity.id === id)),
      };
    },
  };
}

/** RFC 8620 §5.2 over a state that never moves: the current state has no changes, any other is unknown. */
export const identityChanges: Method = {
  capability: SUBMISSION,
  needsAccount: true,
  writes: false,
  async run(args, context) {
    const { sinceState } = args;
    if (typeof sinceState !== "string") throw invalidArguments('"sinceState" must be a state string');
    const state = stateOf(context.account);
    if (sinceState !== state) {
      throw new MethodError(
        "cannotCalculateChanges",
        `${JSON.stringify(sinceState)} is not a state of this account's identities; fetch them again`,
      );
    }
    return {
      accountId: context.account.accountId,
      oldState: state,
      newState: state,
      hasMoreChanges: false,
      created: [],
      updated: [],
      destroyed: [],
    };
  },
};
