// QueueRunner.wake(): the hook `mailroom queue retry` reaches through SIGUSR1. A wake runs a pass at
// once, not at the next poll, and a burst of wakes during a pass adds one more pass, not one per wake.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startQueueRunner } from "../../src/queue/scheduler.js";
import { spyStore } from "../support/store-spy.js";
import { type Harness, makeHarness, queueMessage, silent } from "./helpers.js";

/** Resolves once `probe` holds; fails after 10 s (far below the hour-long poll interval). */
async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("queue runner wake", () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness(() => ({
      "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
      "mx.example.net": { a: ["127.0.0.1"] },
    }));
  });
  after(async () => {
    await h.close();
  });

  test("wake() delivers an entry queued after the first pass without waiting for the poll", async () => {
    const runner = h.runner();
    // The start-up pass has run and found nothing; the next poll is an hour away.
    await runner.runNow();
    assert.equal(h.remote.transactions.length, 0);
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["bob@example.net"],
      body: "Subject: woken\r\n\r\nhello\r\n",
    });
    runner.wake();
    await until("the remote to receive the message", () => h.remote.transactions.length === 1);
    assert.deepEqual(h.remote.transactions[0]?.to, ["bob@example.net"]);
    const deadline = Date.now() + 10_000;
    while ((await h.store.queue.list()).length > 0) {
      assert.ok(Date.now() < deadline, "the delivered entry leaves the queue");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe("queue runner wake coalescing", () => {
  test("a burst of wakes during a pass leads to at most one more pass", async () => {
    const h = await makeHarness(() => ({}));
    let claims = 0;
    let releaseClaim: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      releaseClaim = resolve;
    });
    // Counts claims and holds the first one open, so every wake below arrives during that pass.
    const store = spyStore(h.store, {
      queue: (queue) => ({
        claim: async (...args) => {
          claims += 1;
          if (claims === 1) await gate;
          return queue.claim(...args);
        },
      }),
    });
    const runner = startQueueRunner({ store, logger: silent, config: h.config, hostname: "mx.example.org" });
    try {
      await until("the first pass to claim", () => claims === 1);
      for (let i = 0; i < 50; i++) runner.wake();
      assert.equal(claims, 1, "no second pass starts while the first is under way");
      releaseClaim();
      await runner.runNow();
      // The held pass, one coalesced pass for the 50 wakes, and the pass runNow() asked for.
      assert.ok(claims >= 2 && claims <= 3, `claims: ${claims}`);
    } finally {
      releaseClaim();
      await runner.stop();
      await h.close();
    }
  });
});
