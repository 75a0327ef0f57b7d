// wakeQueueServer: which process `mailroom queue retry` signals. Only a live `mailroom serve` named in
// serve.pid; a missing lock, a dead pid, or a pid now used by another program is "no server" and gets
// no signal (SIGUSR1 would terminate most programs).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { wakeQueueServer } from "../../src/cli/queue.js";

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
}

describe("wakeQueueServer", () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-wake-"));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test("no serve.pid: no server", async () => {
    assert.deepEqual(await wakeQueueServer(dataDir), { kind: "none" });
  });

  test("a pid whose process has exited: no server", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await exited(child);
    await writeFile(join(dataDir, "serve.pid"), `${child.pid}\n`);
    assert.deepEqual(await wakeQueueServer(dataDir), { kind: "none" });
  });

  test("a live process that is not `mailroom serve` is left alone", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    await started(child);
    try {
      await writeFile(join(dataDir, "serve.pid"), `${child.pid}\n`);
      assert.deepEqual(await wakeQueueServer(dataDir), { kind: "none" });
      assert.equal(child.exitCode, null);
      assert.equal(child.signalCode, null);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a live `serve` process gets SIGUSR1", async () => {
    // Stands in for the server: a node process with a `serve` argument that exits on SIGUSR1.
    const child = spawn(process.execPath, [
      "-e",
      "process.on('SIGUSR1', () => process.exit(7)); console.log('ready'); setTimeout(() => {}, 30000)",
      "serve",
    ]);
    const done = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Signalled only once its handler is in: without one, Node would open its debugger instead.
    await new Promise((resolve) => child.stdout?.once("data", resolve));
    try {
      await writeFile(join(dataDir, "serve.pid"), `${child.pid}\n`);
      assert.deepEqual(await wakeQueueServer(dataDir), { kind: "told", pid: child.pid });
      assert.equal(await done, 7);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("garbage in serve.pid: no server", async () => {
    await writeFile(join(dataDir, "serve.pid"), "not a pid\n");
    assert.deepEqual(await wakeQueueServer(dataDir), { kind: "none" });
  });
});
