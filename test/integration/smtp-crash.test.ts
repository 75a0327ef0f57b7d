// The promise behind "250 Ok: queued": mail sent at concurrency 20, the server killed with SIGKILL in the
// middle of the load and started again — every message that got its 250 is in the mailbox exactly once.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

for (const backend of await integrationBackends()) {
  describe(`crash safety, ${backend.name} store`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal(
        (await server.cli(["user", "add", "alice@example.org", "--password-stdin"], "pw-crash-test\n")).code,
        0,
      );
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("SIGKILL under load loses no acknowledged message and duplicates none", async () => {
      const acknowledged = new Set<string>();
      let attempted = 0;
      let stopping = false;

      const sender = async (worker: number) => {
        const transport = nodemailer.createTransport({
          host: "127.0.0.1",
          port: server.ports.smtp,
          secure: false,
          ignoreTLS: true,
          pool: true,
          maxConnections: 1,
        });
        for (let n = 0; !stopping; n++) {
          const subject = `crash-${worker}-${n}`;
          attempted++;
          try {
            const info = await transport.sendMail({
              from: "load@remote.test",
              to: "alice@example.org",
              subject,
              text: `message ${subject}\n`.repeat(20),
            });
            if (/^250 /.test(info.response)) acknowledged.add(subject);
          } catch {
            break;
          }
        }
        transport.close();
      };

      const workers = Array.from({ length: 20 }, (_, worker) => sender(worker));
      while (acknowledged.size < 60) await new Promise((r) => setTimeout(r, 20));
      await server.kill();
      stopping = true;
      await Promise.all(workers);
      assert.ok(attempted > acknowledged.size, "the kill landed while messages were in flight");

      await server.restart();
      const result = await server.cli(["mail", "list", "alice@example.org", "--json"]);
      assert.equal(result.code, 0, result.stderr);
      const subjects = (JSON.parse(result.stdout) as Array<{ subject: string }>).map((m) => m.subject);
      const counts = new Map<string, number>();
      for (const subject of subjects) counts.set(subject, (counts.get(subject) ?? 0) + 1);

      for (const subject of acknowledged)
        assert.equal(counts.get(subject), 1, `${subject} got 250 and must be stored once`);
      for (const [subject, count] of counts) assert.equal(count, 1, `${subject} stored ${count} times`);
    });
  });
}
