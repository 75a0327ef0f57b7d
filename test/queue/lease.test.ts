// Lease renewal: a delivery that outlasts relay.lease_ms keeps its entries, so a second runner (another
// store instance on the same data, standing in for another node) neither sends them again nor records
// their outcome; and a runner whose lease was taken over leaves the outcome to the new holder.

import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type QueueRunner, startQueueRunner } from "../../src/queue/scheduler.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { type Harness, inboxReports, makeHarness, queueMessage, silent } from "./helpers.js";
import type { RemoteScript } from "./remote.js";

const LEASE_MS = 300;
const records = () => ({
  "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
  "mx.remote.test": { a: ["127.0.0.1"] },
});

async function withSecondNode(
  script: RemoteScript,
  clockAheadMs: number,
  run: (harness: Harness, second: { store: Store; runner: QueueRunner }) => Promise<void>,
): Promise<void> {
  const harness = await makeHarness(records, script, { leaseMs: LEASE_MS });
  const store = await openStore({ store: "sqlite", dataDir: harness.dataDir, logger: silent });
  const runner = startQueueRunner({
    store,
    logger: silent,
    config: harness.config,
    hostname: "mx2.example.org",
    now: () => new Date(Date.now() + clockAheadMs),
  });
  try {
    await run(harness, { store, runner });
  } finally {
    await runner.stop();
    await store.close();
    await harness.close();
  }
}

test("a delivery stalled for several leases is renewed: the other node never sends it again", async () => {
  let dataAttempts = 0;
  const script: RemoteScript = {
    dataEnd: (_tx, attempt) => {
      dataAttempts = Math.max(dataAttempts, attempt);
      return { reply: "250 2.0.0 Ok", afterMs: 4 * LEASE_MS };
    },
  };
  await withSecondNode(script, 0, async (harness, second) => {
    const { queueIds } = await queueMessage(harness.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: "Subject: slow\r\n\r\nslow remote\r\n",
    });
    const first = harness.runner().runNow();
    await harness.remote.dataStarted();
    // The second node looks at the queue again and again while the first waits for the remote.
    for (let look = 0; look < 8; look++) {
      await second.runner.runNow();
      await sleep(LEASE_MS / 2);
    }
    await first;
    await second.runner.runNow();
    assert.equal(dataAttempts, 1, "the message went to the remote once");
    assert.equal(harness.remote.transactions.length, 1);
    assert.equal(await harness.store.queue.get(queueIds[0] ?? ""), null, "recorded as delivered");
    assert.deepEqual(await inboxReports(harness.store), []);
  });
});

test("a runner whose lease was taken over does not record its outcome: the new holder's counts", async () => {
  const script: RemoteScript = {
    // First node: refused for good after a stall; second node: accepted after a shorter one.
    dataEnd: (_tx, attempt) =>
      attempt === 1
        ? { reply: "550 5.1.1 no such user", afterMs: 3 * LEASE_MS }
        : { reply: "250 2.0.0 Ok", afterMs: 6 * LEASE_MS },
  };
  // The second node's clock runs ten minutes ahead, so the first node's lease looks long expired to it.
  await withSecondNode(script, 10 * 60_000, async (harness, second) => {
    const { queueIds } = await queueMessage(harness.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: "Subject: taken over\r\n\r\ntwo runners\r\n",
    });
    const id = queueIds[0] ?? "";
    const first = harness.runner().runNow();
    await harness.remote.dataStarted();
    const takeover = second.runner.runNow();
    await first;
    // The first node heard 550 but no longer held the entry: no bounce, the entry is the second's.
    assert.deepEqual(await inboxReports(harness.store), []);
    const meanwhile = await harness.store.queue.get(id);
    assert.equal(meanwhile?.state, "delivering");
    assert.equal(meanwhile?.attempts, 2);
    await takeover;
    assert.equal(harness.remote.transactions.length, 1);
    assert.equal(await harness.store.queue.get(id), null, "the second node recorded the delivery");
    assert.deepEqual(await inboxReports(harness.store), []);
  });
});
