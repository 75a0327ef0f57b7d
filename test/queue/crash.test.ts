import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { inboxReports, makeHarness, queueMessage } from "./helpers.js";

const runnerScript = fileURLToPath(new URL("./fixtures/crash-runner.ts", import.meta.url));

test("a runner killed mid-delivery: after the lease a new runner delivers the entry (at-least-once)", async () => {
  const harness = await makeHarness(
    () => ({
      "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
      "mx.remote.test": { a: ["127.0.0.1"] },
    }),
    // The first delivery never gets its reply to the final dot: the runner is killed while waiting.
    { dataEnd: (_tx, attempt) => (attempt === 1 ? "hang" : "250 2.0.0 Ok") },
  );
  try {
    const { queueIds } = await queueMessage(harness.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: "Subject: crash\r\n\r\nstill here\r\n",
    });
    const child = spawn(
      process.execPath,
      ["--import", "tsx", runnerScript, harness.dataDir, JSON.stringify(harness.config)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      await harness.remote.dataStarted();
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    const orphan = await harness.store.queue.get(queueIds[0] ?? "");
    assert.equal(orphan?.state, "delivering", "the dead runner's lease still holds the entry");
    assert.equal(harness.remote.transactions.length, 0);

    await harness.runner().runNow();
    assert.equal(harness.remote.transactions.length, 0, "the lease keeps a second runner away until it ends");
    assert.equal((await harness.store.queue.get(queueIds[0] ?? ""))?.state, "delivering");

    harness.advance(harness.config.leaseMs + 1000);
    await harness.runner().runNow();
    assert.equal(harness.remote.transactions.length, 1);
    assert.equal(harness.remote.transactions[0]?.body.toString(), "Subject: crash\r\n\r\nstill here\r\n");
    assert.deepEqual(await harness.store.queue.list(), []);
    assert.deepEqual(await inboxReports(harness.store), []);
  } finally {
    await harness.close();
  }
});
