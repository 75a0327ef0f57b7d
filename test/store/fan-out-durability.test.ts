// A body in a fan-out directory created moments ago counts as on disk only once that directory's entry
// in messages/ is durable, whichever writer created it; a failed creation fails every writer waiting.

import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { FileBlobStore, type FileBlobWriter } from "../../src/store/blobs/file-blob-store.js";
import { newMessageId } from "../../src/store/ids.js";
import { silentLogger, withTempDir } from "./helpers.js";

/** Ids that share a fan-out directory (the last two characters pick it). */
function idsInOneDirectory(count: number): string[] {
  return Array.from({ length: count }, () => `${newMessageId().slice(0, -2)}zz`);
}

interface ParentSyncs {
  /** Directory fsyncs of messages/ asked for so far. */
  calls: number;
  /** Resolves at the next fsync of messages/ asked for. */
  next(): Promise<void>;
  /** Ends the fsync of messages/ in flight, with an error when given one. */
  settle(error?: Error): void;
}

/** A store whose fsyncs of messages/ wait for the test; other directory fsyncs succeed at once. */
function storeWithHeldParentSyncs(root: string): { blobs: FileBlobStore; syncs: ParentSyncs } {
  let asked: (() => void) | null = null;
  let finish: ((error?: Error) => void) | null = null;
  const syncs: ParentSyncs = {
    calls: 0,
    next: () => new Promise((resolve) => (asked = resolve)),
    settle: (error) => finish?.(error),
  };
  const blobs = new FileBlobStore({
    root,
    logger: silentLogger,
    fsyncDirectory: async (path) => {
      if (path !== blobs.messagesDir) return;
      syncs.calls++;
      const held = new Promise<void>((resolve, reject) => {
        finish = (error) => (error === undefined ? resolve() : reject(error));
      });
      asked?.();
      await held;
    },
  });
  return { blobs, syncs };
}

interface Finishing {
  writer: FileBlobWriter;
  result: Promise<unknown>;
  done: () => boolean;
}

async function startFinish(blobs: FileBlobStore, id: string): Promise<Finishing> {
  const writer = await blobs.createWriter(() => false, id);
  await writer.write(Buffer.from(`Subject: ${id}\r\n\r\nbody\r\n`));
  let settled = false;
  const result = writer.finish().finally(() => (settled = true));
  return { writer, result, done: () => settled };
}

test("a second body in a new fan-out directory waits for the first writer's fsync of messages/", async () => {
  await withTempDir(async (root) => {
    const { blobs, syncs } = storeWithHeldParentSyncs(root);
    await blobs.init();
    try {
      const [first, second] = idsInOneDirectory(2) as [string, string];
      const asked = syncs.next();
      const one = await startFinish(blobs, first);
      await asked;
      const two = await startFinish(blobs, second);
      // Time enough for the second writer's own fsyncs and rename, had it not waited.
      await delay(100);
      assert.equal(two.done(), false, "the second body was acknowledged before its directory was durable");
      assert.equal(one.done(), false);
      syncs.settle();
      await Promise.all([one.result, two.result]);
      assert.equal(syncs.calls, 1);

      // Known durable from then on: no more fsyncs of messages/ for that directory.
      const [third] = idsInOneDirectory(1) as [string];
      await (await startFinish(blobs, third)).result;
      assert.equal(syncs.calls, 1);
    } finally {
      blobs.close();
    }
  });
});

test("a failed fsync of messages/ fails every writer waiting for it, and the next writer tries again", async () => {
  await withTempDir(async (root) => {
    const { blobs, syncs } = storeWithHeldParentSyncs(root);
    await blobs.init();
    try {
      const [first, second, third] = idsInOneDirectory(3) as [string, string, string];
      let asked = syncs.next();
      const one = await startFinish(blobs, first);
      await asked;
      const two = await startFinish(blobs, second);
      syncs.settle(Object.assign(new Error("injected EIO"), { code: "EIO" }));
      await assert.rejects(one.result);
      await assert.rejects(two.result);
      await Promise.all([one.writer.abort(), two.writer.abort()]);

      asked = syncs.next();
      const three = await startFinish(blobs, third);
      await asked;
      assert.equal(syncs.calls, 2);
      syncs.settle();
      await three.result;
      const [dir] = await readdir(blobs.messagesDir);
      assert.deepEqual(await readdir(`${blobs.messagesDir}/${dir}`), [third]);
    } finally {
      blobs.close();
    }
  });
});
