// The /changes methods (RFC 8620 §5.2) of every type: the store says what was created, updated and
// destroyed since a state; this turns its numbers into the type's ids and its refusals into
// cannotCalculateChanges.

import { StoreError } from "../store/errors.js";
import type { Changes } from "../store/types.js";
import { MAIL } from "./capabilities.js";
import { invalidArguments, MethodError } from "./errors.js";
import { parseState, stateOf } from "./ids.js";
import type { JsonObject, Method } from "./types.js";

export function changesMethod(options: {
  type: string;
  idOf(id: number): string;
  changes(userId: number, since: number, maxChanges?: number): Promise<Changes>;
  /** Mailbox/changes says which properties changed; null means "any of them" (RFC 8621 §2.2). */
  extra?: JsonObject;
}): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { sinceState, maxChanges } = args;
      if (typeof sinceState !== "string") throw invalidArguments('"sinceState" must be a state string');
      if (
        maxChanges !== undefined &&
        maxChanges !== null &&
        (typeof maxChanges !== "number" || !Number.isInteger(maxChanges) || maxChanges < 1)
      ) {
        throw invalidArguments('"maxChanges" must be a positive integer or null');
      }
      const since = parseState(sinceState);
      if (since === null) {
        throw new MethodError(
          "cannotCalculateChanges",
          `${JSON.stringify(sinceState)} is not a state of this server`,
        );
      }
      let changes: Changes;
      try {
        changes = await options.changes(
          context.account.userId,
          since,
          typeof maxChanges === "number" ? maxChanges : undefined,
        );
      } catch (error) {
        if (error instanceof StoreError && error.code === "cannot-calculate") {
          throw new MethodError(
            "cannotCalculateChanges",
            `${options.type}/changes: ${error.message}; fetch everything again`,
          );
        }
        throw error;
      }
      return {
        accountId: context.account.accountId,
        oldState: sinceState,
        newState: stateOf(changes.newState),
        hasMoreChanges: changes.hasMoreChanges,
        created: changes.created.map(options.idOf),
        updated: changes.updated.map(options.idOf),
        destroyed: changes.destroyed.map(options.idOf),
        ...options.extra,
      };
    },
  };
}
