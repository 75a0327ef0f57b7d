// Methods of urn:ietf:params:jmap:core (RFC 8620 §4).

import type { Store } from "../store/types.js";
import { CORE } from "./capabilities.js";
import { invalidArguments, MethodError } from "./errors.js";
import type { Json, JsonObject, Method } from "./types.js";

/** Core/echo returns its arguments unchanged (RFC 8620 §4.1): clients use it to test the connection. */
export const coreEcho: Method = {
  capability: CORE,
  needsAccount: false,
  writes: false,
  run: async (args) => args,
};

/**
 * Blob/copy (RFC 8620 §6.3). Every user has one account, so the only account a blob can be copied from
 * is the one it is copied to: a blob the user can read is "copied" to itself, one they cannot is
 * notFound, and any other fromAccountId is fromAccountNotFound.
 */
export function blobCopy(store: Pick<Store, "blobs">, maxObjects: number): Method {
  return {
    capability: CORE,
    needsAccount: true,
    writes: true,
    run: async (args, context) => {
      const { fromAccountId, accountId, blobIds } = args;
      if (typeof fromAccountId !== "string") throw invalidArguments('"fromAccountId" must be a string');
      if (!Array.isArray(blobIds) || blobIds.some((id) => typeof id !== "string")) {
        throw invalidArguments('"blobIds" must be an array of blob ids');
      }
      if (blobIds.length > maxObjects) {
        throw new MethodError(
          "requestTooLarge",
          `at most ${maxObjects} blobs in one Blob/copy (maxObjectsInSet)`,
        );
      }
      if (fromAccountId !== context.account.accountId) {
        throw new MethodError(
          "fromAccountNotFound",
          `no account "${fromAccountId}" is available to this user`,
        );
      }
      const copied: JsonObject = {};
      const notCopied: JsonObject = {};
      const now = new Date();
      for (const id of new Set(blobIds as string[])) {
        const blob = await store.blobs.findReadableBlob(context.account.userId, id, now);
        if (blob) copied[id] = id;
        else notCopied[id] = { type: "notFound", description: `no blob ${id} in account ${fromAccountId}` };
      }
      return {
        fromAccountId,
        accountId: accountId as Json,
        copied: Object.keys(copied).length > 0 ? copied : null,
        notCopied: Object.keys(notCopied).length > 0 ? notCopied : null,
      };
    },
  };
}
