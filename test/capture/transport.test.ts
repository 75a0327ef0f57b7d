import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { createProvisioner } from "../../src/capture/provision.js";
import { createCaptureTransport } from "../../src/capture/transport.js";
import { startQueueRunner } from "../../src/queue/scheduler.js";
import { type Harness, makeHarness, queueMessage, silent } from "../queue/helpers.js";

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const BODY =
  "From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: outbound\r\n\r\nNot for the world.\r\n";

describe("the capture transport", () => {
  let harness: Harness | null = null;
  afterEach(async () => {
    await harness?.close();
    harness = null;
  });

  test("files queued mail into each recipient's inbox and the catch-all; the listening MX gets no connection", async () => {
    // DNS names a real, listening MX for remote.test: the ordinary relay would connect to it.
    const h = await makeHarness(() => ({
      "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
      "mx.remote.test": { a: ["127.0.0.1"] },
      "other.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
    }));
    harness = h;
    const provisioner = createProvisioner(h.store, silent);
    const runner = startQueueRunner({
      store: h.store,
      logger: silent,
      config: h.config,
      hostname: "mx.example.org",
      transport: createCaptureTransport({ store: h.store, provisioner, logger: silent }),
    });
    try {
      const { messageId } = await queueMessage(h.store, {
        sender: "alice@example.org",
        recipients: ["bob@remote.test", "carol@other.test"],
        body: BODY,
      });
      await runner.runNow();

      assert.equal(h.remote.connections(), 0, "no connection reached the remote MX");
      assert.deepEqual(h.remote.transactions, []);
      assert.deepEqual(await h.store.queue.list(), [], "the queue entries are complete");
      for (const address of ["bob@remote.test", "carol@other.test", "dev@localhost"]) {
        const user = await h.store.directory.getUser(address);
        assert.ok(user, `${address} was made`);
        const inbox = await h.store.mailboxes.getMailbox(user.id, "INBOX");
        assert.ok(inbox);
        const listed = await h.store.messages.listMessages(inbox.id);
        assert.equal(listed.length, 1, `${address} has the message`);
        const copy = listed[0]?.messageId ?? "";
        const stored = await text(h.store.blobs.readBlob(copy));
        assert.match(stored, /^Return-Path: <alice@example\.org>\r\n/);
        assert.ok(stored.endsWith("Not for the world.\r\n"));
        assert.notEqual(copy, messageId, "a copy, not the queue's body");
      }
    } finally {
      await runner.stop();
    }
  });
});
