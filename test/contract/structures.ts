// Contract for BlobStore.readStructures / saveStructures: run inside runStoreContract against every
// backend.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeStructure } from "../../src/store/structure.js";
import type { Mailbox, Store } from "../../src/store/types.js";
import { deliverBody, isInvalid } from "./save-header-blocks.js";

export interface StructuresContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox }>;
}

function structure(tag: string): Buffer {
  return encodeStructure({
    envelope: Buffer.from(`(NIL "${tag}" NIL NIL NIL NIL NIL NIL NIL NIL)`),
    body: Buffer.from(`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 4 1)`),
    bodyStructure: Buffer.from(`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 4 1 NIL NIL NIL NIL)`),
  });
}

export function describeStructures(context: StructuresContext): void {
  describe("structures", () => {
    test("missing until saved, then read back in one call; never replaced; unknown ids ignored", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const a = await deliverBody(store, inbox.id, "Subject: a\r\n\r\nbody\r\n");
      const b = await deliverBody(store, inbox.id, "Subject: b\r\n\r\nbody\r\n");
      assert.equal((await store.blobs.readStructures([a.id, b.id])).size, 0);
      await store.blobs.saveStructures(
        new Map([
          [a.id, structure("a")],
          ["0000000000zzzzzzzzzz", structure("x")],
        ]),
      );
      await store.blobs.saveStructures(new Map([[a.id, structure("other")]]));
      const found = await store.blobs.readStructures([a.id, b.id, "0000000000zzzzzzzzzz"]);
      assert.deepEqual([...found.keys()], [a.id]);
      assert.deepEqual(found.get(a.id), structure("a"));
      await store.blobs.saveStructures(new Map());
    });

    test("what is not a structure is refused and nothing is saved", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const a = await deliverBody(store, inbox.id, "Subject: a\r\n\r\nbody\r\n");
      await assert.rejects(
        store.blobs.saveStructures(
          new Map([
            [a.id, structure("a")],
            ["y", Buffer.from("garbage")],
          ]),
        ),
        isInvalid,
      );
      assert.equal((await store.blobs.readStructures([a.id])).size, 0);
      await assert.rejects(store.blobs.saveStructures([] as unknown as Map<string, Buffer>), isInvalid);
      await assert.rejects(store.blobs.readStructures("x" as unknown as string[]), isInvalid);
    });
  });
}
