// Greylisting through a real `mailroom serve` on both stores, driven by swaks: a new (network, sender,
// recipient) is told 451 4.7.1 at RCPT, an early retry too, a retry after the delay is accepted and
// so is the next message of the triplet; a client in a whitelisted network is never delayed.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const user = "fay@example.org";
const DELAY_SECONDS = 2;

/** swaks' transcript; its exit code is not a failure here, since a 451 is what some tests expect. */
function swaks(port: number, from: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      "swaks",
      [
        "--server",
        "127.0.0.1",
        "--port",
        String(port),
        "--from",
        from,
        "--to",
        user,
        "--helo",
        "client.example.net",
        "--header",
        "Subject: greylisting",
      ],
      { timeout: 30_000 },
      (_err, stdout, stderr) => resolve(stdout + stderr),
    );
  });
}

for (const backend of await integrationBackends()) {
  describe(`greylisting, ${backend.name} store`, {
    skip: needs(clients.swaks) ?? backend.skip ?? false,
  }, () => {
    let server: TestServer;
    let whitelisted: TestServer;

    before(async () => {
      server = await startTestServer({
        store: backend.store,
        env: {
          MAILROOM_FILTER_GREYLISTING: "true",
          MAILROOM_FILTER_GREYLIST_DELAY: `${DELAY_SECONDS}s`,
          // The test's client is on loopback, which the default list exempts.
          MAILROOM_FILTER_GREYLIST_WHITELIST: "192.0.2.0/24",
        },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal(
        (await server.cli(["user", "add", user, "--password-stdin"], "fay's passphrase\n")).code,
        0,
      );
      whitelisted = await startTestServer({
        store: backend.store,
        env: { MAILROOM_FILTER_GREYLISTING: "true", MAILROOM_FILTER_GREYLIST_DELAY: "1h" },
      });
      // On PostgreSQL both servers share one database, where the domain and user exist already.
      if (backend.store === undefined) {
        assert.equal((await whitelisted.cli(["domain", "add", "example.org"])).code, 0);
        const added = await whitelisted.cli(["user", "add", user, "--password-stdin"], "fay's passphrase\n");
        assert.equal(added.code, 0);
      }
    });

    after(async () => {
      await server?.cleanup();
      await whitelisted?.cleanup();
      await backend.release();
    });

    test("451 4.7.1 at RCPT the first time and on an early retry; accepted after the delay, then at once", async () => {
      const first = await swaks(server.ports.smtp, "new@example.net");
      assert.match(first, /<\*\* 451 4\.7\.1 Greylisted/);
      assert.doesNotMatch(first, /queued as/);
      const early = await swaks(server.ports.smtp, "new@example.net");
      assert.match(early, /<\*\* 451 4\.7\.1 Greylisted/);
      await sleep(DELAY_SECONDS * 1000 + 500);
      const retry = await swaks(server.ports.smtp, "new@example.net");
      assert.match(retry, /<- {2}250 2\.0\.0 Ok: queued as/);
      const next = await swaks(server.ports.smtp, "new@example.net");
      assert.match(next, /<- {2}250 2\.0\.0 Ok: queued as/);
      // Another sender from the same network is a new triplet.
      assert.match(await swaks(server.ports.smtp, "other@example.net"), /<\*\* 451 4\.7\.1 Greylisted/);
    });

    test("a client in a whitelisted network is never greylisted", async () => {
      const sent = await swaks(whitelisted.ports.smtp, "fresh@example.net");
      assert.match(sent, /<- {2}250 2\.0\.0 Ok: queued as/);
    });
  });
}
