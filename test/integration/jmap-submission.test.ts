// EmailSubmission (RFC 8621 §7) against a real `mailroom serve` on both stores: a draft sent to a second
// local user, who reads it over JMAP, DKIM-signed as port 587 signs it; the implicit Email/set of
// onSuccessUpdateEmail moving the draft to Sent; get, changes, query; and the refusals port 587 would
// give (another user's From:, another MAIL FROM, an unknown local recipient), plus cannotUnsend.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
/** Method responses, as many as a test destructures. */
type Calls = Array<[string, Loose, string]> &
  [[string, Loose, string], [string, Loose, string], [string, Loose, string], [string, Loose, string]];

const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";
const SUBMISSION = "urn:ietf:params:jmap:submission";

for (const backend of await integrationBackends()) {
  describe(`JMAP EmailSubmission on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    // A second server, for example.net, is the remote MX; the test DNS server points at it.
    let remote: TestServer;
    let dns: TestDns;
    const erin = jmapUser(() => server, "erin@example.org", "erin's long passphrase");
    const frank = jmapUser(() => server, "frank@example.org", "frank's long passphrase");
    const accounts = new Map<typeof erin, string>();

    const api = async (user: typeof erin, methodCalls: unknown[]): Promise<Calls> => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...user.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, MAIL, SUBMISSION], methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses;
    };
    const roles = async (user: typeof erin) => {
      const [[, got]] = await api(user, [
        ["Mailbox/get", { accountId: accounts.get(user), properties: ["role"] }, "m"],
      ]);
      return Object.fromEntries((got.list as Loose[]).map((mailbox) => [mailbox.role, mailbox.id as string]));
    };
    const draft = (drafts: string, fields: Loose) => ({
      mailboxIds: { [drafts]: true },
      keywords: { $draft: true },
      from: [{ name: "Erin", email: "erin@example.org" }],
      to: [{ name: "Frank", email: "frank@example.org" }],
      textBody: [{ partId: "t", type: "text/plain" }],
      bodyValues: { t: { value: "Sent over JMAP." } },
      ...fields,
    });

    before(async () => {
      // The remote stays on SQLite so that two servers never share one database.
      remote = await startTestServer({
        env: { MAILROOM_LISTENERS_HTTP_ENABLED: "false", MAILROOM_HOSTNAME: "mx.example.net" },
      });
      assert.equal((await remote.cli(["domain", "add", "example.net"])).code, 0);
      const bob = await remote.cli(["user", "add", "bob@example.net", "--password-stdin"], "bob's secret\n");
      assert.equal(bob.code, 0, bob.stderr);
      dns = await startTestDns({
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
        // Nothing listens on 127.0.0.2: mail for down.test waits in the queue, retried.
        "down.test": { mx: [{ preference: 10, exchange: "mx.down.test" }] },
        "mx.down.test": { a: ["127.0.0.2"] },
      });
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
          MAILROOM_RELAY_PORT: String(remote.ports.smtp),
          MAILROOM_RELAY_POLL_INTERVAL: "200ms",
          MAILROOM_RELAY_RETRY_SCHEDULE: "1s",
          MAILROOM_RELAY_CONNECT_TIMEOUT: "2s",
        },
      });
      await erin.add();
      const added = await server.cli(
        ["user", "add", "frank@example.org", "--password-stdin"],
        "frank's long passphrase\n",
      );
      assert.equal(added.code, 0, added.stderr);
      for (const user of [erin, frank]) accounts.set(user, (await user.session()).primaryAccounts[MAIL]);
    });

    after(async () => {
      await server?.cleanup();
      await remote?.cleanup();
      await dns?.close();
      await backend.release();
    });

    test("a draft sent to another local user: delivered, DKIM-signed, moved to Sent; get, changes, query", async () => {
      const accountId = accounts.get(erin) as string;
      const mailboxes = await roles(erin);
      const [[, identities], [, before]] = await api(erin, [
        ["Identity/get", { accountId }, "i"],
        ["EmailSubmission/get", { accountId, ids: [] }, "g"],
      ]);
      const identityId = identities.list[0].id as string;
      const responses = await api(erin, [
        ["Email/set", { accountId, create: { d: draft(mailboxes.drafts, { subject: "Hello Frank" }) } }, "e"],
        [
          "EmailSubmission/set",
          {
            accountId,
            create: { s: { identityId, emailId: "#d" } },
            onSuccessUpdateEmail: {
              "#s": {
                [`mailboxIds/${mailboxes.drafts}`]: null,
                [`mailboxIds/${mailboxes.sent}`]: true,
                "keywords/$draft": null,
              },
            },
          },
          "s",
        ],
      ]);
      assert.deepEqual(
        responses.map(([name, , callId]) => [name, callId]),
        [
          ["Email/set", "e"],
          ["EmailSubmission/set", "s"],
          ["Email/set", "s"],
        ],
      );
      const [[, emailSet], [, set], [, implicit]] = responses;
      assert.equal(set.notCreated, null, JSON.stringify(set.notCreated));
      const emailId = emailSet.created.d.id as string;
      const submissionId = set.created.s.id as string;
      assert.equal(set.created.s.undoStatus, "final");
      assert.deepEqual(implicit.updated, { [emailId]: null });

      const [[, got], [, moved], [, changes], [, query]] = await api(erin, [
        ["EmailSubmission/get", { accountId, ids: [submissionId] }, "g"],
        ["Email/get", { accountId, ids: [emailId], properties: ["mailboxIds", "keywords"] }, "e"],
        ["EmailSubmission/changes", { accountId, sinceState: before.state }, "c"],
        [
          "EmailSubmission/query",
          { accountId, filter: { emailIds: [emailId] }, sort: [{ property: "sentAt" }] },
          "q",
        ],
      ]);
      const one = got.list[0] as Loose;
      assert.equal(one.identityId, identityId);
      assert.equal(one.emailId, emailId);
      assert.equal(one.undoStatus, "final");
      assert.deepEqual(one.envelope, {
        mailFrom: { email: "erin@example.org", parameters: null },
        rcptTo: [{ email: "frank@example.org", parameters: null }],
      });
      assert.equal(one.deliveryStatus["frank@example.org"].delivered, "yes");
      assert.deepEqual(moved.list[0].mailboxIds, { [mailboxes.sent]: true });
      assert.deepEqual(moved.list[0].keywords, {});
      assert.deepEqual(changes.created, [submissionId]);
      assert.deepEqual(query.ids, [submissionId]);

      // Frank reads it over JMAP; the copy carries the trace field and a DKIM signature of example.org.
      const frankAccount = accounts.get(frank) as string;
      const frankBoxes = await roles(frank);
      const [[, found]] = await api(frank, [
        [
          "Email/query",
          { accountId: frankAccount, filter: { inMailbox: frankBoxes.inbox, subject: "Hello Frank" } },
          "q",
        ],
      ]);
      const [[, mail]] = await api(frank, [
        [
          "Email/get",
          {
            accountId: frankAccount,
            ids: found.ids,
            properties: ["subject", "from", "header:DKIM-Signature", "header:Received"],
          },
          "g",
        ],
      ]);
      const received = mail.list[0] as Loose;
      assert.equal(received.subject, "Hello Frank");
      assert.deepEqual(received.from, [{ name: "Erin", email: "erin@example.org" }]);
      assert.match(received["header:DKIM-Signature"], /d=example\.org;/);
      assert.match(received["header:Received"], /JMAP EmailSubmission/);
    });

    test("Bcc: its recipients get the message through the envelope, and no copy shows the field", async () => {
      const accountId = accounts.get(erin) as string;
      const mailboxes = await roles(erin);
      const [[, identities]] = await api(erin, [["Identity/get", { accountId }, "i"]]);
      const [[, emailSet], [, set]] = await api(erin, [
        [
          "Email/set",
          {
            accountId,
            create: {
              d: draft(mailboxes.drafts, { subject: "Blind copy", bcc: [{ email: "erin@example.org" }] }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          { accountId, create: { s: { identityId: identities.list[0].id, emailId: "#d" } } },
          "s",
        ],
      ]);
      assert.equal(set.notCreated, null, JSON.stringify(set.notCreated));
      const [[, sent]] = await api(erin, [
        ["EmailSubmission/get", { accountId, ids: [set.created.s.id], properties: ["envelope"] }, "g"],
      ]);
      assert.deepEqual(sent.list[0].envelope.rcptTo, [
        { email: "frank@example.org", parameters: null },
        { email: "erin@example.org", parameters: null },
      ]);
      const copies = async (who: typeof erin) => {
        const account = accounts.get(who) as string;
        const [[, found]] = await api(who, [
          ["Email/query", { accountId: account, filter: { subject: "Blind copy" } }, "q"],
        ]);
        const [[, got]] = await api(who, [
          [
            "Email/get",
            { accountId: account, ids: found.ids, properties: ["id", "header:Bcc", "mailboxIds"] },
            "g",
          ],
        ]);
        return got.list as Loose[];
      };
      const [toFrank] = await copies(frank);
      assert.ok(toFrank);
      assert.equal(toFrank["header:Bcc"], null);
      // Erin has her draft (which keeps the field) and the copy the Bcc delivered (which does not).
      const erins = await copies(erin);
      const kept = erins.find((each) => each.id === emailSet.created.d.id);
      const delivered = erins.find((each) => each.id !== emailSet.created.d.id);
      assert.match(kept?.["header:Bcc"] ?? "", /erin@example\.org/);
      assert.ok(delivered);
      assert.equal(delivered["header:Bcc"], null);
    });

    test("refusals: another user's From:, another MAIL FROM, an unknown local recipient; cannotUnsend; destroy", async () => {
      const accountId = accounts.get(erin) as string;
      const mailboxes = await roles(erin);
      const [[, identities]] = await api(erin, [["Identity/get", { accountId }, "i"]]);
      const identityId = identities.list[0].id as string;
      const responses = await api(erin, [
        [
          "Email/set",
          {
            accountId,
            create: {
              forged: draft(mailboxes.drafts, { from: [{ email: "frank@example.org" }], subject: "Forged" }),
              ok: draft(mailboxes.drafts, { subject: "Fine" }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId,
            create: {
              // The envelope is erin's, so the header's From: is what is refused.
              forged: {
                identityId,
                emailId: "#forged",
                envelope: {
                  mailFrom: { email: "erin@example.org" },
                  rcptTo: [{ email: "frank@example.org" }],
                },
              },
              // Without an envelope, MAIL FROM is taken from that From: (§7) and refused first.
              derived: { identityId, emailId: "#forged" },
              mailFrom: {
                identityId,
                emailId: "#ok",
                envelope: {
                  mailFrom: { email: "frank@example.org" },
                  rcptTo: [{ email: "frank@example.org" }],
                },
              },
              nobody: {
                identityId,
                emailId: "#ok",
                envelope: {
                  mailFrom: { email: "erin@example.org" },
                  rcptTo: [{ email: "nobody@example.org" }, { email: "frank@example.org" }],
                },
              },
              noIdentity: { identityId: "Inope", emailId: "#ok" },
              sent: { identityId, emailId: "#ok" },
            },
          },
          "s",
        ],
      ]);
      const set = responses[1][1];
      assert.equal(set.notCreated.forged.type, "forbiddenFrom");
      assert.equal(set.notCreated.derived.type, "forbiddenMailFrom");
      assert.equal(set.notCreated.mailFrom.type, "forbiddenMailFrom");
      assert.equal(set.notCreated.nobody.type, "invalidRecipients");
      assert.deepEqual(set.notCreated.nobody.invalidRecipients, ["nobody@example.org"]);
      assert.deepEqual(set.notCreated.noIdentity.properties, ["identityId"]);
      const id = set.created.sent.id as string;

      const [[, undo], [, gone], [, left]] = await api(erin, [
        ["EmailSubmission/set", { accountId, update: { [id]: { undoStatus: "canceled" } } }, "u"],
        ["EmailSubmission/set", { accountId, destroy: [id, "Unope"] }, "d"],
        ["EmailSubmission/get", { accountId, ids: [id] }, "g"],
      ]);
      assert.equal(undo.notUpdated[id].type, "cannotUnsend");
      assert.deepEqual(gone.destroyed, [id]);
      assert.equal(gone.notDestroyed.Unope.type, "notFound");
      assert.deepEqual(left.notFound, [id]);
      // Frank got "Fine" once (from the one accepted submission) and no forgery.
      const frankBoxes = await roles(frank);
      const [[, fine], [, forged]] = await api(frank, [
        [
          "Email/query",
          { accountId: accounts.get(frank), filter: { inMailbox: frankBoxes.inbox, subject: "Fine" } },
          "a",
        ],
        [
          "Email/query",
          { accountId: accounts.get(frank), filter: { inMailbox: frankBoxes.inbox, subject: "Forged" } },
          "b",
        ],
      ]);
      assert.equal(fine.ids.length, 1);
      assert.deepEqual(forged.ids, []);
    });

    test("to a remote MX found by DNS: deliveryStatus goes from queued to yes with the remote's reply", async () => {
      const accountId = accounts.get(erin) as string;
      const mailboxes = await roles(erin);
      const [[, identities]] = await api(erin, [["Identity/get", { accountId }, "i"]]);
      const responses = await api(erin, [
        [
          "Email/set",
          {
            accountId,
            create: {
              d: draft(mailboxes.drafts, { to: [{ email: "bob@example.net" }], subject: "Over the wire" }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId,
            create: { s: { identityId: identities.list[0].id, emailId: "#d" } },
            onSuccessDestroyEmail: ["#s"],
          },
          "s",
        ],
      ]);
      const [, [, set], [implicitName, implicit]] = responses;
      assert.equal(set.notCreated, null, JSON.stringify(set.notCreated));
      const id = set.created.s.id as string;
      assert.equal(implicitName, "Email/set");
      assert.equal(implicit.destroyed.length, 1);

      const status = await eventually("the relay's outcome in deliveryStatus", async () => {
        const [[, got]] = await api(erin, [["EmailSubmission/get", { accountId, ids: [id] }, "g"]]);
        const each = got.list[0].deliveryStatus["bob@example.net"] as Loose;
        return each.delivered === "queued" ? undefined : each;
      });
      assert.equal(status.delivered, "yes");
      assert.match(status.smtpReply, /^250 /);
      const listed = await remote.cli(["mail", "list", "bob@example.net", "--json"]);
      assert.match(listed.stdout, /Over the wire/);
    });

    test("undoStatus: pending while a remote recipient waits in the queue; canceled takes it back", async () => {
      const accountId = accounts.get(erin) as string;
      const mailboxes = await roles(erin);
      const [[, identities]] = await api(erin, [["Identity/get", { accountId }, "i"]]);
      const [, [, set]] = await api(erin, [
        [
          "Email/set",
          {
            accountId,
            create: {
              d: draft(mailboxes.drafts, { to: [{ email: "carl@down.test" }], subject: "Never mind" }),
            },
          },
          "e",
        ],
        [
          "EmailSubmission/set",
          { accountId, create: { s: { identityId: identities.list[0].id, emailId: "#d" } } },
          "s",
        ],
      ]);
      assert.equal(set.notCreated, null, JSON.stringify(set.notCreated));
      const id = set.created.s.id as string;
      assert.equal(set.created.s.undoStatus, "pending");
      await eventually("a deferral recorded", async () => {
        const [[, got]] = await api(erin, [["EmailSubmission/get", { accountId, ids: [id] }, "g"]]);
        const each = got.list[0].deliveryStatus["carl@down.test"] as Loose;
        return each.delivered === "queued" && each.smtpReply !== "250 2.0.0 queued for relay"
          ? each
          : undefined;
      });
      // A retry may hold the entry for a moment: then the server says so, and asking again succeeds.
      const canceled = await eventually("the cancel accepted", async () => {
        const [[, update]] = await api(erin, [
          ["EmailSubmission/set", { accountId, update: { [id]: { undoStatus: "canceled" } } }, "u"],
        ]);
        if (update.notUpdated?.[id]) {
          assert.match(update.notUpdated[id].description, /being delivered right now/);
          return undefined;
        }
        return update;
      });
      assert.deepEqual(Object.keys(canceled.updated), [id]);
      const [[, got]] = await api(erin, [["EmailSubmission/get", { accountId, ids: [id] }, "g"]]);
      assert.equal(got.list[0].undoStatus, "canceled");
      assert.equal(got.list[0].deliveryStatus["carl@down.test"].delivered, "no");
      assert.match(got.list[0].deliveryStatus["carl@down.test"].smtpReply, /^554 5\.7\.0 canceled/);
      const queue = await server.cli(["queue", "list"]);
      assert.equal(queue.code, 0, queue.stderr);
      assert.ok(!queue.stdout.includes("carl@down.test"), queue.stdout);
      const [[, again]] = await api(erin, [
        ["EmailSubmission/set", { accountId, update: { [id]: { undoStatus: "canceled" } } }, "u"],
      ]);
      assert.deepEqual(Object.keys(again.updated), [id], "canceled again is no change");
    });
  });
}
