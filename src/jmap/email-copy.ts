// Email/copy (RFC 8621 §4.7, the /copy of RFC 8620 §5.4). mailroom gives each user exactly one account,
// and /copy moves records between two different accounts: §5.4 says accountId "MUST be different to the
// fromAccountId", so a copy within the one account is invalidArguments (Email/set's mailboxIds and
// Email/import do that job), and any other fromAccountId names no account the user can reach:
// fromAccountNotFound. The arguments are still checked first, so a malformed call is named as such.

import { MAIL } from "./capabilities.js";
import { invalidArguments, MethodError } from "./errors.js";
import { checkSetSize, objectMap } from "./set.js";
import type { JsonObject, Method, MethodContext } from "./types.js";

function optionalState(args: JsonObject, key: string): void {
  const value = args[key];
  if (value !== undefined && value !== null && typeof value !== "string") {
    throw invalidArguments(`"${key}" must be null or a state string`);
  }
}

export function emailCopy(maxObjectsInSet: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: true,
    async run(args: JsonObject, context: MethodContext): Promise<JsonObject> {
      const { fromAccountId, onSuccessDestroyOriginal } = args;
      if (typeof fromAccountId !== "string") throw invalidArguments('"fromAccountId" must be a string');
      const create = objectMap(args, "create");
      checkSetSize(create.size, maxObjectsInSet, "Email/copy");
      optionalState(args, "ifFromInState");
      optionalState(args, "ifInState");
      optionalState(args, "destroyFromIfInState");
      if (onSuccessDestroyOriginal !== undefined && typeof onSuccessDestroyOriginal !== "boolean") {
        throw invalidArguments('"onSuccessDestroyOriginal" must be a boolean');
      }
      if (fromAccountId === context.account.accountId) {
        throw invalidArguments(
          "fromAccountId must differ from accountId (RFC 8620 §5.4); to copy within an account use Email/set",
        );
      }
      throw new MethodError("fromAccountNotFound", `no account "${fromAccountId}" is available to this user`);
    },
  };
}
