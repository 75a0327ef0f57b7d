// Storage quotas end to end on both stores: `mailroom user quota` sets and shows the limit, IMAP
// GETQUOTAROOT (python3 imaplib) reports it, and once the mailboxes are full SMTP refuses at RCPT with
// 552 5.2.2 (nodemailer) while mail for a user with room still arrives.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

const run = promisify(execFile);
const password = "quota test password";

for (const backend of await integrationBackends()) {
  describe(`storage quotas, ${backend.name} store`, { skip: backend.skip ?? needs(clients.python3) }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const user of ["full@example.org", "roomy@example.org"]) {
        assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      }
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    const send = async (to: string, text: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      try {
        return await transport.sendMail({ from: "sender@remote.test", to, subject: "quota", text });
      } finally {
        transport.close();
      }
    };

    test("the CLI sets and shows a limit; a bad size is a usage error", async () => {
      const shown = await server.cli(["user", "quota", "full@example.org", "4KiB"]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^full@example\.org: 0 octets of 4\.0 KiB in use \(0%\)\n$/);
      const bad = await server.cli(["user", "quota", "full@example.org", "lots"]);
      assert.equal(bad.code, 64);
      assert.match(bad.stderr, /'lots' is not a size/);
      const none = await server.cli(["user", "quota", "roomy@example.org"]);
      assert.match(none.stdout, /roomy@example\.org: 0 octets in use, no limit/);
    });

    test("a full mailbox: 552 5.2.2 at RCPT, IMAP shows the usage, the other user still gets mail", async () => {
      await send("full@example.org", "x".repeat(5000));
      await assert.rejects(
        send("full@example.org", "one more"),
        (error: { responseCode?: number; response?: string }) => {
          assert.equal(error.responseCode, 552);
          assert.match(String(error.response), /5\.2\.2 <full@example\.org>: mailbox full/);
          return true;
        },
      );
      await send("roomy@example.org", "fine");
      const script = String.raw`
import imaplib, json, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
typ, data = m.getquotaroot('INBOX')
print(json.dumps([typ] + [x.decode() for part in data for x in part]))
`;
      const { stdout } = await run("python3", [
        "-c",
        script,
        String(server.ports.imap),
        "full@example.org",
        password,
      ]);
      const [typ, root, quota] = JSON.parse(stdout) as string[];
      assert.equal(typ, "OK");
      assert.match(String(root), /"?INBOX"? ""/);
      assert.match(String(quota), /^"" \(STORAGE (\d+) 4\)$/);
      assert.ok(
        Number(/STORAGE (\d+)/.exec(String(quota))?.[1]) >= 5,
        "usage counts the 5,000-octet message",
      );
      const shown = await server.cli(["user", "quota", "full@example.org"]);
      assert.match(shown.stdout, /of 4\.0 KiB in use \(1\d\d%\)/);
    });

    test("JMAP Email/import past the limit is overQuota, and nothing is added", async () => {
      const jmap = jmapUser(() => server, "full@example.org", password);
      const session = await jmap.session();
      const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"] as string;
      const blobId = await jmap.upload(
        accountId,
        Buffer.from("From: a@example.org\r\nSubject: more\r\n\r\nhi\r\n"),
      );
      const call = async (methodCalls: unknown[]) => {
        const response = await fetch(session.apiUrl, {
          method: "POST",
          headers: { ...jmap.auth, "Content-Type": "application/json" },
          body: JSON.stringify({
            using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            methodCalls,
          }),
        });
        return ((await response.json()) as { methodResponses: Array<[string, Record<string, unknown>]> })
          .methodResponses;
      };
      const [[, boxes]] = (await call([
        ["Mailbox/query", { accountId, filter: { role: "inbox" } }, "m"],
      ])) as [[string, { ids: string[] }]];
      const before = await server.cli(["user", "quota", "full@example.org"]);
      const [[name, result]] = (await call([
        [
          "Email/import",
          { accountId, emails: { k: { blobId, mailboxIds: { [boxes.ids[0] as string]: true } } } },
          "i",
        ],
      ])) as [[string, Record<string, unknown>]];
      assert.equal(name, "Email/import");
      assert.equal((result.notCreated as Record<string, { type: string }>).k?.type, "overQuota");
      assert.equal((await server.cli(["user", "quota", "full@example.org"])).stdout, before.stdout);
    });

    test("JMAP Quota (RFC 9425): the same limit and usage in octets; changes and queryChanges follow", async () => {
      const jmap = jmapUser(() => server, "full@example.org", password);
      const session = await jmap.session();
      const QUOTA = "urn:ietf:params:jmap:quota";
      assert.deepEqual(session.capabilities[QUOTA], {});
      const accountId = session.primaryAccounts[QUOTA] as string;
      const call = async (methodCalls: unknown[], using = [QUOTA, "urn:ietf:params:jmap:mail"]) => {
        const response = await fetch(session.apiUrl, {
          method: "POST",
          headers: { ...jmap.auth, "Content-Type": "application/json" },
          body: JSON.stringify({ using: ["urn:ietf:params:jmap:core", ...using], methodCalls }),
        });
        // biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
        return ((await response.json()) as { methodResponses: any }).methodResponses;
      };
      const [[, got], [, query]] = await call([
        ["Quota/get", { accountId, ids: null }, "g"],
        ["Quota/query", { accountId, filter: { resourceType: "octets", type: "Email" } }, "q"],
      ]);
      assert.equal(got.list.length, 1);
      const [quota] = got.list;
      assert.equal(quota.hardLimit, 4096);
      assert.equal(quota.resourceType, "octets");
      assert.equal(quota.scope, "account");
      assert.equal(quota.name, "full@example.org");
      assert.deepEqual(quota.types, ["Email"]);
      // The CLI counts the same octets (it shows KiB).
      const cli = (await server.cli(["user", "quota", "full@example.org"])).stdout;
      assert.ok(cli.includes(`${(quota.used / 1024).toFixed(1)} KiB of 4.0 KiB`), cli);
      assert.ok(quota.used > 0);
      assert.deepEqual(query.ids, [quota.id]);
      // Without the mail capability the Quota's only type is hidden, so there is no Quota (§4.1).
      const [[, hidden]] = await call([["Quota/get", { accountId, ids: null }, "g"]], [QUOTA]);
      assert.deepEqual(hidden.list, []);

      // Less mail: only the usage moved, and a push says so.
      const stream = await fetch(
        session.eventSourceUrl
          .replace("{types}", "Quota")
          .replace("{closeafter}", "state")
          .replace("{ping}", "0"),
        { headers: jmap.auth },
      );
      assert.equal(stream.status, 200);
      const pushed = stream.text();
      const [[, inbox]] = await call(
        [["Email/query", { accountId, filter: {}, limit: 1 }, "e"]],
        ["urn:ietf:params:jmap:mail"],
      );
      await call([["Email/set", { accountId, destroy: inbox.ids }, "d"]], ["urn:ietf:params:jmap:mail"]);
      const [[, changes], [, queryChanges], [, after]] = await call([
        ["Quota/changes", { accountId, sinceState: got.state }, "c"],
        [
          "Quota/queryChanges",
          { accountId, sinceQueryState: query.queryState, filter: { type: "Email" } },
          "qc",
        ],
        ["Quota/get", { accountId, ids: [quota.id, "nope"], properties: ["used"] }, "g"],
      ]);
      assert.deepEqual(changes.updated, [quota.id]);
      assert.deepEqual(changes.updatedProperties, ["used"]);
      assert.deepEqual(queryChanges.removed, [quota.id]);
      assert.deepEqual(queryChanges.added, [{ id: quota.id, index: 0 }]);
      assert.ok(after.list[0].used < quota.used);
      assert.deepEqual(Object.keys(after.list[0]).sort(), ["id", "used"]);
      assert.deepEqual(after.notFound, ["nope"]);
      const data = /^event: state\ndata: (.+)$/m.exec(await pushed)?.[1];
      assert.ok(data);
      assert.deepEqual(JSON.parse(data).changed, { [accountId]: { Quota: after.state } });

      // The limit removed: the Quota is gone.
      assert.equal((await server.cli(["user", "quota", "full@example.org", "none"])).code, 0);
      const [[, gone]] = await call([["Quota/changes", { accountId, sinceState: after.state }, "c"]]);
      assert.deepEqual(gone.destroyed, [quota.id]);
      assert.equal((await server.cli(["user", "quota", "full@example.org", "4KiB"])).code, 0);
      const [[, bad]] = await call([["Quota/changes", { accountId, sinceState: "x1" }, "c"]]);
      assert.equal(bad.type, "cannotCalculateChanges");
    });
  });
}
