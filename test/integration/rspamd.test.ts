// rspamd scanning and learning through a real `mailroom serve` on both stores, against a real rspamd
// (with redis for its Bayes statistics) the test starts on loopback: GTUBE is refused at the end of DATA
// with 550 5.7.1 and stored nowhere; a plain message is accepted with its score stored and given to
// Sieve's spamtest; moving a message into Junk over IMAP makes rspamd learn it; with rspamd stopped,
// mail is accepted unscanned and the log names rspamd's URL.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import pino from "pino";
import { openStore } from "../../src/store/open.js";
import { needs } from "../support/clients.js";
import { eventually } from "../support/eventually.js";
import { rspamdClients, startRspamd, type TestRspamd } from "../support/rspamd.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const user = "erin@example.org";
const password = "erin's spam passphrase";
const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const skip = needs(rspamdClients.rspamd, rspamdClients.redis);

function message(subject: string, body: string): string {
  return (
    `From: <sender@example.net>\r\nTo: <${user}>\r\nSubject: ${subject}\r\n` +
    `Date: Fri, 04 Dec 2026 06:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@example.net>\r\n\r\n${body}\r\n`
  );
}

const PROSE =
  "Hello Erin, shall we meet for lunch tomorrow at noon near the old station? I will bring the " +
  "documents we talked about last week, and the maps for the walk on Sunday.";

for (const backend of await integrationBackends()) {
  describe(`rspamd, ${backend.name} store`, { skip: skip ?? backend.skip ?? false }, () => {
    let server: TestServer;
    let rspamd: TestRspamd;

    before(async () => {
      rspamd = await startRspamd();
      server = await startTestServer({
        store: backend.store,
        env: {
          MAILROOM_FILTER_RSPAMD: rspamd.url,
          MAILROOM_FILTER_RSPAMD_CONTROLLER: rspamd.controllerUrl,
          MAILROOM_FILTER_RSPAMD_TIMEOUT: "10s",
        },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await rspamd?.stop();
      await backend.release();
    });

    const send = async (raw: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
        name: "client.example.net",
      });
      try {
        return await transport.sendMail({ envelope: { from: "sender@example.net", to: [user] }, raw });
      } finally {
        transport.close();
      }
    };

    const imap = async <T>(work: (client: ImapFlow) => Promise<T>): Promise<T> => {
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
        return await work(client);
      } finally {
        await client.logout();
      }
    };

    const subjects = (mailbox: string) =>
      imap(async (client) => {
        const lock = await client.getMailboxLock(mailbox);
        try {
          const out: string[] = [];
          if ((client.mailbox as { exists: number }).exists === 0) return out;
          for await (const each of client.fetch("1:*", { envelope: true }))
            out.push(each.envelope?.subject ?? "");
          return out;
        } finally {
          lock.release();
        }
      });

    test("GTUBE is refused at the end of DATA with 550 5.7.1 and stored nowhere", async () => {
      await assert.rejects(
        send(message("gtube one", GTUBE)),
        (err: { responseCode?: number; response?: string }) => {
          assert.equal(err.responseCode, 550);
          assert.match(err.response ?? "", /5\.7\.1 Message refused as spam/);
          return true;
        },
      );
      assert.ok(!(await subjects("INBOX")).includes("gtube one"));
      assert.ok(!(await subjects("Junk")).includes("gtube one"));
    });

    test("a plain message is accepted, its score stored with it and given to Sieve's spamtest", async () => {
      // spamtest is 0 for an unscanned message, 1 to 10 for a scanned one (RFC 5235 §3.1).
      const script =
        'require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto", "mailbox"];\n' +
        'if spamtest :value "ge" :comparator "i;ascii-numeric" "1" { fileinto :create "Scanned"; }\n';
      const put = await server.cli(["sieve", "put", user, "main", "-"], script);
      assert.equal(put.code, 0, put.stdout + put.stderr);
      assert.equal((await server.cli(["sieve", "activate", user, "main"])).code, 0);
      const info = await send(message("plain one", PROSE));
      const id = /queued as (\S+)/.exec(info.response)?.[1];
      assert.ok(id, info.response);
      assert.ok((await subjects("Scanned")).includes("plain one"));
      const store = await openStore({
        store: backend.store ?? "sqlite",
        dataDir: server.dataDir,
        logger: pino({ level: "silent" }),
      });
      try {
        const scan = await store.spamScans.getScan(id);
        assert.ok(scan, "no scan stored");
        assert.equal(scan.action, "no action");
        assert.equal(scan.requiredScore, 15);
        assert.ok(scan.score < 15);
        assert.ok(scan.symbols.length > 0);
      } finally {
        await store.close();
      }
      assert.equal((await server.cli(["sieve", "activate", user, "--none"])).code, 0);
    });

    test("moving a message into Junk over IMAP makes rspamd learn it as spam", async () => {
      const before = await rspamd.learned();
      await send(message("learn me", `${PROSE} Buy our cheap watches today, limited offer for you.`));
      await imap(async (client) => {
        const lock = await client.getMailboxLock("INBOX");
        try {
          const found = await client.search({ subject: "learn me" }, { uid: true });
          assert.ok(Array.isArray(found) && found.length === 1);
          assert.ok(await client.messageMove(found.join(","), "Junk", { uid: true }));
        } finally {
          lock.release();
        }
      });
      await eventually("rspamd's learned counter to grow", async () =>
        (await rspamd.learned()) > before ? true : undefined,
      );
      assert.ok(
        server.logs().some((line) => /rspamd learned the message as spam/.test(String(line.msg))),
        "no log line for the learn",
      );
    });

    test("with rspamd stopped, mail is accepted unscanned and the log names rspamd's URL", async () => {
      await rspamd.stop();
      const info = await send(message("while down", PROSE));
      assert.match(info.response, /^250 /);
      const warning = server
        .logs()
        .find((line) => line.level === "warn" && String(line.msg).includes(`rspamd at ${rspamd.url}`));
      assert.ok(warning, "no warning naming rspamd's URL");
    });
  });
}
