// Email/copy (RFC 8621 §4.7) with one account per user: a copy within the account is invalidArguments
// (RFC 8620 §5.4 wants two different accounts), any other fromAccountId is fromAccountNotFound, and
// malformed arguments are named before either.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { emailCopy } from "../../src/jmap/email-copy.js";
import { MethodError } from "../../src/jmap/errors.js";
import type { JsonObject } from "../../src/jmap/types.js";
import { account, methodContext } from "./fixtures.js";

const run = (args: JsonObject, max = 5) => emailCopy(max).run(args, methodContext());

async function rejectsWith(args: JsonObject, type: string, max?: number): Promise<void> {
  await assert.rejects(
    run(args, max),
    (error: unknown) => error instanceof MethodError && error.type === type,
  );
}

const create = { c1: { id: "M1", mailboxIds: { Mb1: true } } };

describe("Email/copy", () => {
  test("copying within the user's one account is invalidArguments", async () => {
    await rejectsWith(
      { fromAccountId: account.accountId, accountId: account.accountId, create },
      "invalidArguments",
    );
  });

  test("another account, with or without onSuccessDestroyOriginal, is fromAccountNotFound", async () => {
    await rejectsWith({ fromAccountId: "A8", accountId: account.accountId, create }, "fromAccountNotFound");
    await rejectsWith(
      {
        fromAccountId: "A8",
        accountId: account.accountId,
        create,
        onSuccessDestroyOriginal: true,
        destroyFromIfInState: "s1",
      },
      "fromAccountNotFound",
    );
  });

  test("malformed arguments are invalidArguments, too many records requestTooLarge", async () => {
    for (const bad of [
      { create },
      { fromAccountId: 8, create },
      { fromAccountId: "A8", create: [] },
      { fromAccountId: "A8", create, onSuccessDestroyOriginal: "yes" },
      { fromAccountId: "A8", create, destroyFromIfInState: 3 },
      { fromAccountId: "A8", create, ifFromInState: {} },
    ]) {
      await rejectsWith(bad as unknown as JsonObject, "invalidArguments");
    }
    await rejectsWith({ fromAccountId: "A8", create }, "requestTooLarge", 0);
  });
});
