// A committed message with remote recipients wakes the relay at once, and `mailroom queue retry` wakes the
// running `mailroom serve` (SIGUSR1 to the pid in serve.pid). The relay polls every 10 minutes and retries
// an hour after a failure, so only the wakes can explain the attempts within the test: the remote first
// refuses the recipient (451), then accepts it.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { type Remote, startRemote } from "../queue/remote.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { listQueue, startSendingServer } from "../support/sending-server.js";
import { integrationBackends, type TestServer } from "../support/server.js";

const alicePassword = "alice's long passphrase";

/** Polls until `probe` returns a value; fails after 20 s, far below the 10-minute poll interval. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const backend of await integrationBackends()) {
  describe(`mailroom queue retry wakes the server (${backend.name})`, { skip: backend.skip }, () => {
    let server: TestServer;
    let remote: Remote;
    let dns: TestDns;
    let rcptAttempts = 0;

    before(async () => {
      remote = await startRemote({
        rcpt: () => {
          rcptAttempts += 1;
          return rcptAttempts === 1 ? "451 4.3.0 not now, try again later" : "250 2.1.5 Ok";
        },
      });
      dns = await startTestDns({
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
      });
      server = await startSendingServer({
        store: backend.store,
        dns,
        relayPort: remote.port,
        pollInterval: "10m",
        retrySchedule: "1h",
        user: { address: "alice@example.org", password: alicePassword },
      });
    });

    after(async () => {
      await server?.cleanup();
      await remote?.close();
      await dns?.close();
      await backend.release();
    });

    const queue = () => listQueue(server);

    async function retry(): Promise<string> {
      const result = await server.cli(["queue", "retry"]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    }

    test("sent at once on acceptance, refused, then retried on demand and delivered, well before any poll", async () => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.submission,
        requireTLS: true,
        auth: { user: "alice@example.org", pass: alicePassword },
        tls: { rejectUnauthorized: false },
      });
      try {
        await transport.sendMail({
          from: "alice@example.org",
          to: "bob@example.net",
          subject: "woken",
          text: "sent on demand",
        });
      } finally {
        transport.close();
      }

      // The first attempt starts as soon as the message is committed (the SMTP server wakes the runner):
      // the remote refuses for now, and the entry waits an hour.
      const deferred = await eventually("the refused attempt", async () =>
        (await queue()).find((entry) => entry.attempts >= 1),
      );
      assert.match(deferred.lastError ?? "", /451|not now/);
      assert.equal(remote.transactions.length, 0);

      // The second: the remote accepts, and only `queue retry`'s wake can have started it.
      const second = await retry();
      assert.match(second, /^1 entry is due now; told the server \(pid \d+\)/);
      await eventually("the delivery", async () => (remote.transactions.length > 0 ? true : undefined));
      assert.deepEqual(remote.transactions[0]?.to, ["bob@example.net"]);
      assert.match(remote.transactions[0]?.body.toString("utf8") ?? "", /sent on demand/);
      await eventually("an empty queue", async () => ((await queue()).length === 0 ? true : undefined));
    });
  });
}
