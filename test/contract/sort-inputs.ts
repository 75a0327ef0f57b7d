// Contract for BlobStore.readSortInputs / saveSortInputs: run inside runStoreContract against every
// backend.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeSortInputs } from "../../src/store/sort-inputs.js";
import type { Mailbox, Store } from "../../src/store/types.js";
import { deliverBody, isInvalid } from "./save-header-blocks.js";

export interface SortInputsContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox }>;
}

function inputs(subject: string, references: string[] = []): string {
  return encodeSortInputs({
    sentDate: subject === "undated" ? null : 1_700_000_000_000,
    subject: { text: subject, isReplyOrForward: references.length > 0 },
    fromMailbox: "amy",
    toMailbox: "bob",
    ccMailbox: "",
    displayFrom: "amy pond",
    displayTo: "bob@example.org",
    messageId: subject === "undated" ? null : `${subject}@example.org`,
    references,
  });
}

export function describeSortInputs(context: SortInputsContext): void {
  describe("sort inputs", () => {
    test("missing until saved, then read back in one call; never replaced; unknown ids ignored", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const a = await deliverBody(store, inbox.id, "Subject: a\r\n\r\nbody\r\n");
      const b = await deliverBody(store, inbox.id, "Subject: b\r\n\r\nbody\r\n");
      const c = await deliverBody(store, inbox.id, "Subject: c\r\n\r\nbody\r\n");
      assert.equal((await store.blobs.readSortInputs([a.id, b.id])).size, 0);
      await store.blobs.saveSortInputs(
        new Map([
          [a.id, inputs("a", ["x@example.org", "y@example.org"])],
          [c.id, inputs("undated")],
          ["0000000000zzzzzzzzzz", inputs("x")],
        ]),
      );
      await store.blobs.saveSortInputs(new Map([[a.id, inputs("other")]]));
      const found = await store.blobs.readSortInputs([a.id, b.id, c.id, a.id, "0000000000zzzzzzzzzz"]);
      assert.deepEqual(
        [...found.entries()].sort(),
        [
          [a.id, inputs("a", ["x@example.org", "y@example.org"])],
          [c.id, inputs("undated")],
        ].sort(),
      );
      await store.blobs.saveSortInputs(new Map());
      assert.equal((await store.blobs.readSortInputs([])).size, 0);
    });

    test("what is not encoded sort inputs is refused and nothing is saved", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const a = await deliverBody(store, inbox.id, "Subject: a\r\n\r\nbody\r\n");
      for (const bad of [
        "garbage",
        "[1,2,3]",
        JSON.stringify([null, "s", 2, "", "", "", "", "", null, []]),
      ]) {
        await assert.rejects(
          store.blobs.saveSortInputs(
            new Map([
              [a.id, inputs("a")],
              ["y", bad],
            ]),
          ),
          isInvalid,
        );
      }
      assert.equal((await store.blobs.readSortInputs([a.id])).size, 0);
      await assert.rejects(store.blobs.saveSortInputs([] as unknown as Map<string, string>), isInvalid);
      await assert.rejects(store.blobs.saveSortInputs(new Map([[a.id, 7 as unknown as string]])), isInvalid);
      await assert.rejects(store.blobs.readSortInputs("x" as unknown as string[]), isInvalid);
    });
  });
}
