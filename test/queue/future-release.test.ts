// A held message (RFC 4865) through the delivery agent and the queue runner: nothing is tried, local or
// remote, before the release; at it, the remote recipient is relayed and the local one committed to
// its INBOX through the agent; a runner without local delivery defers local entries rather than relay.

import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import { formatDateTime } from "../../src/delivery/future-release.js";
import { createLocalRelease } from "../../src/delivery/release.js";
import type { QueueRunner } from "../../src/queue/scheduler.js";
import { startQueueRunner } from "../../src/queue/scheduler.js";
import { eventually } from "../support/eventually.js";
import { type Harness, makeHarness, parseReport, silent } from "./helpers.js";
import type { RemoteScript } from "./remote.js";

const HOUR = 3_600_000;
const BODY = "From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: later\r\n\r\nSee you.\r\n";

describe("a held message in the queue runner", () => {
  let harness: Harness | null = null;
  let runner: QueueRunner | null = null;
  afterEach(async () => {
    await runner?.stop();
    runner = null;
    await harness?.close();
    harness = null;
  });

  async function setup(withLocal: boolean, holdMs = HOUR, script: RemoteScript = {}) {
    const h = await makeHarness(
      () => ({
        "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
        "mx.remote.test": { a: ["127.0.0.1"] },
      }),
      script,
    );
    harness = h;
    const agent = createDeliveryAgent({ store: h.store, logger: silent, hostname: "mx.example.org" });
    runner = startQueueRunner({
      store: h.store,
      logger: silent,
      config: h.config,
      hostname: "mx.example.org",
      now: h.now,
      ...(withLocal ? { localDelivery: createLocalRelease({ agent, logger: silent }) } : {}),
    });
    const writer = await agent.createBlobWriter();
    await writer.write(Buffer.from(`Return-Path: <alice@example.org>\r\n${BODY}`));
    const blob = await writer.finish();
    const release = new Date(h.now().getTime() + holdMs);
    const result = await agent.commit({
      blob,
      sender: "alice@example.org",
      recipients: [{ address: "Alice@Example.org" }, { address: "bob@remote.test" }],
      receivedAt: h.now(),
      holdUntil: release,
    });
    const inbox = (await h.store.mailboxes.getMailbox(
      (await h.store.directory.getUser("alice@example.org"))!.id,
      "INBOX",
    ))!;
    return { h, release, result, inbox, runner };
  }

  test("nothing before the release; at it the remote is relayed and the local INBOX gets it", async () => {
    const { h, result, inbox } = await setup(true);
    assert.deepEqual(result.uids, [], "no mailbox entry at the commit");
    const entries = await h.store.queue.list();
    assert.deepEqual(entries.map((entry) => [entry.recipient, entry.local]).sort(), [
      ["alice@example.org", true],
      ["bob@remote.test", false],
    ]);

    await runner!.runNow();
    h.advance(HOUR - 1000);
    await runner!.runNow();
    assert.equal(h.remote.transactions.length, 0, "relayed before the release");
    assert.deepEqual(await h.store.messages.listMessages(inbox.id), []);

    h.advance(2000);
    await runner!.runNow();
    assert.equal(h.remote.transactions.length, 1);
    assert.equal(h.remote.transactions[0]?.body.toString(), BODY);
    const [copy] = await h.store.messages.listMessages(inbox.id);
    assert.ok(copy, "the local recipient got it at the release");
    const bytes = (await h.store.blobs.readBlobBytes(copy.messageId)).toString();
    assert.equal(bytes, `Return-Path: <alice@example.org>\r\n${BODY}`);
    assert.deepEqual(await h.store.queue.list(), []);

    // The runner writes its trace events in batches; stopping it flushes them.
    await runner!.stop();
    runner = null;
    const events = await h.store.traces.getTrace(result.messageId);
    const kinds = events.map((event) => [event.kind, event.recipient]);
    assert.deepEqual(kinds[0], ["held", null]);
    assert.ok(kinds.some(([kind, to]) => kind === "relay" && to === "alice@example.org"));
    assert.ok(kinds.some(([kind, to]) => kind === "relay" && to === "bob@remote.test"));
  });

  test("a notice about a held message names its release in Future-Release-Request (RFC 4865)", async () => {
    const { h, release, inbox } = await setup(true, HOUR, {
      rcpt: (address) => (address === "bob@remote.test" ? "550 5.1.1 No such user here" : "250 2.1.5 Ok"),
    });
    h.advance(HOUR + 1000);
    await runner!.runNow();
    const stored = await Promise.all(
      (await h.store.messages.listMessages(inbox.id)).map((entry) =>
        h.store.blobs.readBlobBytes(entry.messageId),
      ),
    );
    // Alice's INBOX holds her own copy of the message and the notice about bob.
    const notices = stored.filter((bytes) => bytes.includes("multipart/report")).map(parseReport);
    assert.equal(notices.length, 1, "one failure notice for bob");
    const [perMessage, bob] = notices[0]!.status;
    assert.equal(perMessage?.["future-release-request"], `until; ${formatDateTime(release)}`);
    assert.equal(bob?.action, "failed");
  });

  test("with an hour's poll interval the runner still wakes at the release, not before it", async () => {
    const { h, release, inbox } = await setup(true, 1500);
    assert.equal(h.config.pollInterval, HOUR);
    // As the server does after every commit that queued something (its onQueued).
    runner!.wake();
    const [copy] = await eventually("the released copy in the INBOX", async () => {
      const listed = await h.store.messages.listMessages(inbox.id);
      return listed.length > 0 ? listed : undefined;
    });
    assert.ok(
      copy!.internalDate >= release,
      `committed at ${copy!.internalDate.toISOString()}, before the release ${release.toISOString()}`,
    );
    await eventually("the remote recipient relayed", async () =>
      h.remote.transactions.length === 1 ? true : undefined,
    );
    assert.deepEqual(await h.store.queue.list(), []);
  });

  test("a runner without local delivery defers the local entry and never relays it", async () => {
    const { h } = await setup(false);
    h.advance(HOUR + 1000);
    await runner!.runNow();
    assert.deepEqual(
      h.remote.transactions.map((each) => each.to),
      [["bob@remote.test"]],
    );
    const [left] = await h.store.queue.list();
    assert.equal(left?.recipient, "alice@example.org");
    assert.equal(left?.state, "queued");
    assert.match(left?.lastError ?? "", /no local delivery/);
  });
});
