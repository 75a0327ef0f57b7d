// WalSync: callers that arrive while an fsync runs share the next one; one that fails rejects exactly
// the callers it was to cover, and the next fsync is tried afresh.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WalSync } from "../../src/store/sqlite/wal-sync.js";

async function walFile(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "wal-sync-"));
  const path = join(dir, "db-wal");
  await writeFile(path, "frames");
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An fsync that waits until released, counting its calls. */
function heldFsync() {
  const calls: Array<(error: Error | null) => void> = [];
  return {
    calls,
    fsync: (_fd: number, done: (error: Error | null) => void) => calls.push(done),
  };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Waits (with a timer, which keeps the process alive) until the held fsync has been called n times. */
async function calledTimes(held: { calls: unknown[] }, n: number): Promise<void> {
  for (let i = 0; i < 400 && held.calls.length < n; i++) await turn();
  assert.equal(held.calls.length, n);
}

test("callers during a running fsync share the next one: three fsyncs for a hundred callers", async () => {
  const wal = await walFile();
  const held = heldFsync();
  const sync = new WalSync(wal.path, { fsync: held.fsync });
  try {
    const first = sync.sync();
    await calledTimes(held, 1);
    const during = Array.from({ length: 99 }, () => sync.sync());
    let settled = 0;
    for (const waiting of during) void waiting.then(() => settled++);
    held.calls[0]!(null);
    await first;
    await calledTimes(held, 2);
    assert.equal(settled, 0, "callers after the first fsync started were resolved by it");
    held.calls[1]!(null);
    await Promise.all(during);
    assert.equal(settled, 99);
    const last = sync.sync();
    await calledTimes(held, 3);
    held.calls[2]!(null);
    await last;
  } finally {
    await sync.close();
    await wal.cleanup();
  }
});

test("a failed fsync rejects exactly the callers it covered; the next caller gets a fresh fsync", async () => {
  const wal = await walFile();
  const held = heldFsync();
  const sync = new WalSync(wal.path, { fsync: held.fsync });
  const eio = () => Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
  try {
    const a = sync.sync();
    await calledTimes(held, 1);
    const b = sync.sync();
    const c = sync.sync();
    let laterSettled = 0;
    for (const waiting of [b, c])
      waiting.then(
        () => laterSettled++,
        () => laterSettled++,
      );
    held.calls[0]!(eio());
    await assert.rejects(a, /EIO/);
    await calledTimes(held, 2);
    assert.equal(laterSettled, 0, "the failure of the first fsync reached callers it did not cover");
    held.calls[1]!(eio());
    await assert.rejects(b, /EIO/);
    await assert.rejects(c, /EIO/);
    const d = sync.sync();
    await calledTimes(held, 3);
    held.calls[2]!(null);
    await d;
  } finally {
    await sync.close();
    await wal.cleanup();
  }
});

test("the real fsync: a missing WAL file is an error, an existing one syncs", async () => {
  const wal = await walFile();
  try {
    await assert.rejects(new WalSync(`${wal.path}.missing`).sync(), /ENOENT/);
    const sync = new WalSync(wal.path);
    await Promise.all([sync.sync(), sync.sync(), sync.sync()]);
    await sync.close();
  } finally {
    await wal.cleanup();
  }
});
