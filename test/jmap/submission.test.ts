// EmailSubmission's argument checks (RFC 8621 §7) over a real SQLite store and port 587's delivery
// agent: states, filters and sorts it does not know, and creations that name no identity or email. The
// sending itself is driven end to end in test/integration/jmap-submission.test.ts.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import { MethodError } from "../../src/jmap/errors.js";
import {
  emailSubmissionChanges,
  emailSubmissionQuery,
  emailSubmissionQueryChanges,
  emailSubmissionSet,
  type SubmissionDeps,
  withoutBcc,
} from "../../src/jmap/submission.js";
import type { AccountContext, JsonObject } from "../../src/jmap/types.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { account as fixtureAccount, methodContext } from "./fixtures.js";

const isError = (type: string) => (error: unknown) => error instanceof MethodError && error.type === type;

describe("EmailSubmission arguments", () => {
  let store: Store;
  let dataDir: string;
  let deps: SubmissionDeps;
  let account: AccountContext;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-submission-"));
    const logger = pino({ level: "silent" });
    store = await openSqliteStore({ dataDir, logger });
    await store.directory.addDomain("example.org");
    const user = await store.directory.addUser("ann@example.org", { passwordHash: "x", scramSha256: "x" });
    account = { ...fixtureAccount, userId: user.id, address: user.address };
    deps = { store, agent: createDeliveryAgent({ store, logger }), hostname: "mail.example.org" };
  });
  after(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const context = () => ({ ...methodContext(), account });
  const args = (more: JsonObject) => ({ accountId: "A7", ...more });

  test("/changes from the start state is empty; an unknown state cannot be calculated", async () => {
    const none = await emailSubmissionChanges(deps).run(args({ sinceState: "u0" }), context());
    assert.deepEqual([none.newState, none.created, none.destroyed], ["u0", [], []]);
    for (const sinceState of ["u5", "i0", "nope"]) {
      await assert.rejects(
        emailSubmissionChanges(deps).run(args({ sinceState }), context()),
        isError("cannotCalculateChanges"),
      );
    }
    await assert.rejects(emailSubmissionChanges(deps).run(args({}), context()), isError("invalidArguments"));
  });

  test("/query: unknown filters and sorts are refused; /queryChanges cannot be calculated", async () => {
    const query = emailSubmissionQuery(deps, 10);
    const empty = await query.run(
      args({ filter: { undoStatus: "final" }, sort: [{ property: "sentAt" }] }),
      context(),
    );
    assert.deepEqual(empty.ids, []);
    assert.equal(empty.queryState, "u0");
    await assert.rejects(
      query.run(args({ filter: { subject: "x" } }), context()),
      isError("unsupportedFilter"),
    );
    await assert.rejects(
      query.run(args({ sort: [{ property: "size" }] }), context()),
      isError("unsupportedSort"),
    );
    await assert.rejects(
      query.run(args({ filter: { before: "soon" } }), context()),
      isError("invalidArguments"),
    );
    await assert.rejects(
      emailSubmissionQueryChanges.run(args({ sinceQueryState: "u0" }), context()),
      isError("cannotCalculateChanges"),
    );
  });

  test("/set: no such identity or email; server-set properties; bad onSuccess arguments", async () => {
    const set = emailSubmissionSet(deps, 10);
    const result = await set.run(
      args({
        create: {
          a: { identityId: "Inope", emailId: "E1" },
          b: { identityId: "Inope", emailId: "E1", undoStatus: "final" },
        },
        update: { U9: { undoStatus: "canceled" } },
        destroy: ["U9"],
      }),
      context(),
    );
    const notCreated = result.notCreated as Record<string, JsonObject>;
    assert.deepEqual(notCreated.a?.properties, ["identityId"]);
    assert.deepEqual(notCreated.b?.properties, ["undoStatus"]);
    assert.equal(((result.notUpdated as JsonObject).U9 as JsonObject).type, "notFound");
    assert.equal(((result.notDestroyed as JsonObject).U9 as JsonObject).type, "notFound");
    assert.equal(result.oldState, result.newState);
    await assert.rejects(
      set.run(args({ onSuccessDestroyEmail: "all" }), context()),
      isError("invalidArguments"),
    );
    await assert.rejects(
      set.run(args({ onSuccessUpdateEmail: { "#a": 1 } }), context()),
      isError("invalidArguments"),
    );
    await assert.rejects(set.run(args({ ifInState: "u3" }), context()), isError("stateMismatch"));
  });
});

describe("withoutBcc", () => {
  test("drops every Bcc field with its folded lines, whatever its case, and nothing else", () => {
    const header = Buffer.from(
      "From: a@example.org\r\nBCC: x@example.org,\r\n\ty@example.org\r\nTo: b@example.org\r\n" +
        "bcc : z@example.org\r\nSubject: Bcc: in a subject\r\n folded\r\n\r\n",
    );
    assert.equal(
      withoutBcc(header).toString(),
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: Bcc: in a subject\r\n folded\r\n\r\n",
    );
    const none = Buffer.from("From: a@example.org\r\n\r\n");
    assert.equal(withoutBcc(none), none);
  });
});
