import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { acquireInstanceLock, InstanceLockError } from "../../src/server/instance-lock.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-lock-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("the lock holds our pid, refuses a second taker while we live, and goes on release", async () => {
  const lock = await acquireInstanceLock(dir);
  assert.equal(lock.path, path.join(dir, "serve.pid"));
  assert.equal(await readFile(lock.path, "utf8"), `${process.pid}\n`);
  assert.deepEqual(await readdir(dir), ["serve.pid"], "no temporary file is left behind");

  // Another live process holding the lock: pretend by writing our parent's pid, which is alive.
  await lock.release();
  await writeFile(path.join(dir, "serve.pid"), `${process.ppid}\n`);
  await assert.rejects(acquireInstanceLock(dir), (error: unknown) => {
    assert.ok(error instanceof InstanceLockError);
    assert.equal(error.holderPid, process.ppid);
    assert.match(
      error.message,
      new RegExp(`^another mailroom serve \\(pid ${process.ppid}\\) is using data dir ${dir}`),
    );
    return true;
  });
  assert.equal(
    await readFile(path.join(dir, "serve.pid"), "utf8"),
    `${process.ppid}\n`,
    "a held lock is untouched",
  );
  await rm(path.join(dir, "serve.pid"));
});

test("a lock left by a dead process is taken over", async () => {
  // A pid that certainly belonged to a process that has exited.
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const deadPid = Number(child.stdout.toString());
  await writeFile(path.join(dir, "serve.pid"), `${deadPid}\n`);
  const lock = await acquireInstanceLock(dir);
  assert.equal(await readFile(lock.path, "utf8"), `${process.pid}\n`);
  await lock.release();
  await lock.release();
  assert.deepEqual(await readdir(dir), []);
});

test("release leaves alone a lock file that another process has since taken", async () => {
  const lock = await acquireInstanceLock(dir);
  await writeFile(lock.path, "12345\n");
  await lock.release();
  assert.equal(await readFile(lock.path, "utf8"), "12345\n");
  await rm(lock.path);
});

test("an unparsable lock file is treated as stale", async () => {
  await writeFile(path.join(dir, "serve.pid"), "garbage");
  const lock = await acquireInstanceLock(dir);
  await lock.release();
});
