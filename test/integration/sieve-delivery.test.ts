// Sieve at delivery through a real `mailroom serve` on both stores: a script installed with `mailroom
// sieve put` and `activate` files list mail into a folder (created by :create), discards, and flags;
// mail is sent with nodemailer over SMTP and read back with imapflow over IMAP. A script that fails at
// run time leaves the mail in INBOX. A script's ereject is the SMTP reply at the end of DATA.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const user = "carol@example.org";
const password = "carol's sieve passphrase";

const SCRIPT = `require ["fileinto", "mailbox", "imap4flags"];
if header :contains "list-id" "dev.lists.test" { fileinto :create "Lists/Dev"; stop; }
if header :contains "subject" "[noise]" { discard; stop; }
if header :contains "subject" "urgent" { addflag "\\\\Flagged"; }
`;

for (const backend of await integrationBackends()) {
  describe(`Sieve at delivery, ${backend.name} store`, { skip: backend.skip ?? false }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    const install = async (source: string) => {
      const put = await server.cli(["sieve", "put", user, "main", "-"], source);
      assert.equal(put.code, 0, put.stdout + put.stderr);
      assert.equal((await server.cli(["sieve", "activate", user, "main"])).code, 0);
    };

    const send = async (subject: string, headers: Record<string, string> = {}) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      try {
        await transport.sendMail({ from: "list@lists.test", to: user, subject, headers, text: "hello\n" });
      } finally {
        transport.close();
      }
    };

    /** Subject and flags of each message in `mailbox`, in UID order; null when it does not exist. */
    const read = async (mailbox: string) => {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        auth: { user, pass: password },
        logger: false,
      });
      await client.connect();
      try {
        const exists = (await client.list()).some((entry) => entry.path === mailbox);
        if (!exists) return null;
        await client.mailboxOpen(mailbox);
        const out: Array<{ subject: string; flags: string[] }> = [];
        for await (const message of client.fetch("1:*", { envelope: true, flags: true })) {
          out.push({ subject: message.envelope?.subject ?? "", flags: [...(message.flags ?? [])].sort() });
        }
        return out;
      } catch (error) {
        if (/empty|Invalid messageset/i.test(String(error))) return [];
        throw error;
      } finally {
        await client.logout();
      }
    };

    test("list mail is filed into a created folder, noise discarded, urgent mail flagged in INBOX", async () => {
      await install(SCRIPT);
      await send("release notes", { "List-Id": "Developers <dev.lists.test>" });
      await send("[noise] ads");
      await send("urgent: lunch");
      await send("plain");
      assert.deepEqual(await read("Lists/Dev"), [{ subject: "release notes", flags: [] }]);
      assert.deepEqual(await read("INBOX"), [
        { subject: "urgent: lunch", flags: ["\\Flagged"] },
        { subject: "plain", flags: [] },
      ]);
    });

    test("a script failing at run time keeps the mail in INBOX", async () => {
      // Five redirects: past the limit of four, a runtime error (RFC 5228 §2.10.6), not a lost message.
      await install(["v", "w", "x", "y", "z"].map((name) => `redirect "${name}@remote.test";`).join("\n"));
      await send("still delivered");
      const inbox = (await read("INBOX")) ?? [];
      assert.equal(inbox.at(-1)?.subject, "still delivered");
      const logged = server.logs().some((line) => String(line.msg).startsWith("sieve: script failed"));
      assert.ok(logged, "the failure is logged");
    });

    test("ereject for the only recipient is refused at the end of DATA with the script's reason", async () => {
      await install(
        'require "ereject"; if header :contains "subject" "offer" { ereject "No offers, thanks"; }',
      );
      const before = (await read("INBOX")) ?? [];
      await assert.rejects(
        send("special offer"),
        (error: Error & { responseCode?: number; response?: string }) => {
          assert.equal(error.responseCode, 550);
          assert.match(error.response ?? "", /^550 5\.7\.1 No offers, thanks/);
          return true;
        },
      );
      await send("not an advert");
      const inbox = (await read("INBOX")) ?? [];
      assert.deepEqual(
        inbox.slice(before.length).map((message) => message.subject),
        ["not an advert"],
      );
    });
  });
}
