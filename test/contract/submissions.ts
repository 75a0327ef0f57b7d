// Store contract, part `submissions`: JMAP EmailSubmissions, their changes, and the relay's outcomes
// recorded by message id. Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store, SubmissionFields } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeSubmissionsContract(context: ContractContext): void {
  describe("submissions", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;
    const fields = (messageId: string, from: string): SubmissionFields => ({
      identityId: "Iabc",
      emailId: "E7",
      threadId: "T7",
      envelope: {
        mailFrom: { email: from, parameters: null },
        rcptTo: [
          { email: "far@remote.test", parameters: { NOTIFY: "SUCCESS" } },
          { email: "near@example.test", parameters: null },
        ],
      },
      sendAt: new Date("2026-03-01T10:00:00.000Z"),
      messageId,
      deliveryStatus: {
        "far@remote.test": { smtpReply: "250 2.0.0 queued", delivered: "queued", displayed: "unknown" },
        "near@example.test": { smtpReply: "250 2.0.0 delivered", delivered: "yes", displayed: "unknown" },
      },
    });

    test("markCanceled keeps the mark and the statuses, counts as a change, and only for the user's own", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      const { state, submission } = await store.submissions.create(
        user.id,
        fields(`m-${user.id}-cancel`, user.address),
      );
      const gone = { smtpReply: "554 5.7.0 canceled", delivered: "no", displayed: "unknown" } as const;
      const statuses = { "far@remote.test": gone, "near@example.test": gone };
      await assert.rejects(store.submissions.markCanceled(other.id, submission.id, statuses), {
        code: "not-found",
      });
      const { state: after } = await store.submissions.markCanceled(user.id, submission.id, statuses);
      const [listed] = (await store.submissions.list(user.id)).submissions;
      assert.equal(listed?.canceled, true);
      assert.deepEqual(listed?.deliveryStatus, statuses);
      assert.deepEqual((await store.submissions.changes(user.id, state))?.updated, [submission.id]);
      assert.ok(after > state);
      const copied = await store.submissions.create(other.id, {
        ...fields(`m-${other.id}-copy`, other.address),
        canceled: true,
      });
      assert.equal(copied.submission.canceled, true, "create keeps a canceled mark (migrate copies it)");
    });

    test("create, record an outcome, destroy: each reported by changes; another user sees nothing", async () => {
      const { user } = await freshUser();
      const { user: other } = await freshUser();
      assert.deepEqual(await store.submissions.list(user.id), { state: 0, submissions: [] });
      const messageId = `m-${user.id}-contract`;
      const { state: s1, submission } = await store.submissions.create(
        user.id,
        fields(messageId, user.address),
      );
      assert.deepEqual(
        { ...submission, id: 0 },
        { ...fields(messageId, user.address), id: 0, canceled: false },
      );
      assert.deepEqual(await store.submissions.list(user.id), { state: s1, submissions: [submission] });
      assert.deepEqual(await store.submissions.list(other.id), { state: 0, submissions: [] });
      assert.deepEqual(await store.submissions.changes(user.id, 0), {
        state: s1,
        created: [submission.id],
        updated: [],
        destroyed: [],
      });

      const delivered = { smtpReply: "250 2.0.0 Ok", delivered: "yes", displayed: "unknown" } as const;
      await store.submissions.recordDelivery(messageId, "FAR@remote.test", delivered);
      // Not a recipient of that submission, and not a submitted message: nothing changes.
      await store.submissions.recordDelivery(messageId, "stranger@remote.test", delivered);
      await store.submissions.recordDelivery("no-such-message", "far@remote.test", delivered);
      const after = await store.submissions.list(user.id);
      assert.deepEqual(after.submissions[0]?.deliveryStatus["far@remote.test"], delivered);
      assert.deepEqual(Object.keys(after.submissions[0]?.deliveryStatus ?? {}).sort(), [
        "far@remote.test",
        "near@example.test",
      ]);
      const updated = await store.submissions.changes(user.id, s1);
      assert.deepEqual(updated?.updated, [submission.id]);
      assert.equal(updated?.state, after.state);

      const { state: s3 } = await store.submissions.destroy(user.id, submission.id);
      assert.deepEqual((await store.submissions.changes(user.id, after.state))?.destroyed, [submission.id]);
      // Created and destroyed since 0: the client never saw it.
      assert.deepEqual(await store.submissions.changes(user.id, 0), {
        state: s3,
        created: [],
        updated: [],
        destroyed: [],
      });
      assert.equal(await store.submissions.changes(user.id, s3 + 1), null);
      await assert.rejects(store.submissions.destroy(user.id, submission.id), { code: "not-found" });
      await assert.rejects(store.submissions.destroy(other.id, submission.id), { code: "not-found" });
    });

    test("a submission needs a recipient", async () => {
      const { user } = await freshUser();
      const none = { ...fields("m-none", user.address), deliveryStatus: {} };
      none.envelope = { ...none.envelope, rcptTo: [] };
      await assert.rejects(store.submissions.create(user.id, none), { code: "invalid" });
    });
  });
}
