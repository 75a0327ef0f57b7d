// Vacation auto-replies at delivery, through a real `mailroom serve`: with the setting made by `mailroom
// vacation`, mail sent with swaks to a user who is away is answered through the outbound queue, from <>, once per sender, and never to list mail. The
// remote MX refuses every recipient for now (451) and retries wait an hour, so whatever the server
// queued stays listed by `mailroom queue list` for the test to count. The reply is committed before the
// 250, so the queue is read right after swaks returns.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type Remote, startRemote } from "../queue/remote.js";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { listQueue, startSendingServer } from "../support/sending-server.js";
import { integrationBackends, type TestServer } from "../support/server.js";

const run = promisify(execFile);

for (const backend of await integrationBackends()) {
  describe(`vacation auto-replies at delivery (${backend.name})`, {
    skip: backend.skip ?? needs(clients.swaks),
  }, () => {
    let server: TestServer;
    let remote: Remote;
    let dns: TestDns;

    before(async () => {
      remote = await startRemote({ rcpt: () => "451 4.3.0 not now" });
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
        user: { address: "alice@example.org", password: "alice's long passphrase" },
      });
      const on = await server.cli([
        "vacation",
        "alice@example.org",
        "--on",
        "--text",
        "I am away until Monday.",
      ]);
      assert.equal(on.code, 0, on.stderr);
    });

    after(async () => {
      await server?.cleanup();
      await remote?.close();
      await dns?.close();
      await backend.release();
    });

    const queue = () => listQueue(server);

    async function send(from: string, subject: string, headers: string[] = []): Promise<void> {
      const { stdout } = await run("swaks", [
        "--server",
        `127.0.0.1:${server.ports.smtp}`,
        "--from",
        from,
        "--to",
        "alice@example.org",
        "--header",
        `Subject: ${subject}`,
        "--header",
        `Message-Id: <${subject.replace(/\W/g, "")}@example.net>`,
        ...headers.flatMap((header) => ["--header", header]),
        "--body",
        "Are you in?",
      ]);
      assert.match(stdout, /<- {2}250 2\.0\.0/);
    }

    test("a personal message is answered through the queue, from <>, marked and threaded", async () => {
      await send("bob@example.net", "Lunch");
      const queued = await queue();
      assert.deepEqual(
        queued.map(({ sender, recipient }) => ({ sender, recipient })),
        [{ sender: "", recipient: "bob@example.net" }],
      );
      const shown = await server.cli(["queue", "show", queued[0]?.id ?? "", "--json"]);
      assert.equal(shown.code, 0, shown.stderr);
      const header = (JSON.parse(shown.stdout) as { header: string }).header;
      assert.match(header, /^Auto-Submitted: auto-replied\r$/m);
      assert.match(header, /^Subject: Re: Lunch\r$/m);
      assert.match(header, /^In-Reply-To: <Lunch@example\.net>\r$/m);
      assert.match(header, /^From: alice@example\.org\r$/m);
      assert.match(header, /^To: bob@example\.net\r$/m);
      // The delivery itself is in alice's INBOX.
      const listed = await server.cli(["mail", "list", "alice@example.org", "--json"]);
      assert.match(listed.stdout, /"subject": "Lunch"/);
    });

    test("the same sender is not answered a second time in the period", async () => {
      await send("bob@example.net", "Lunch again");
      assert.equal((await queue()).length, 1);
    });

    test("list mail, bulk mail and automatic mail are not answered; another person is", async () => {
      await send("carol@example.net", "Digest", ["List-Id: <dev.example.net>"]);
      await send("dave@example.net", "Offer", ["Precedence: bulk"]);
      await send("erin@example.net", "Receipt", ["Auto-Submitted: auto-generated"]);
      await send("frank@example.net", "Hello");
      const recipients = (await queue()).map((entry) => entry.recipient).sort();
      assert.deepEqual(recipients, ["bob@example.net", "frank@example.net"]);
    });
  });
}
