// Email objects over JMAP against a real `mailroom serve` on both stores: mail delivered by SMTP read with
// Email/query, Email/get and Thread/get; changes made over IMAP (imapflow) seen in Email/changes and
// Mailbox/changes, and a keyword set over JMAP seen at once by an IMAP session in IDLE; blobs byte-identical to IMAP's BODY[]; Email/parse of an upload and of an attached
// message by its part blob id, /download of a part's decoded bytes, and the argument errors.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

/** The part of jmap-jam's client these tests use. */
interface Jam {
  getPrimaryAccount(): Promise<string>;
  request(invocation: [string, Loose]): Promise<[Loose, unknown]>;
}
// Imported by a computed name: jmap-jam's types pull in .ts sources this project's settings reject.
const jamModule = "jmap-jam";
const { default: JamClient } = (await import(jamModule)) as {
  default: new (options: { sessionUrl: string; bearerToken: string }) => Jam;
};

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const MAIL = "urn:ietf:params:jmap:mail";
const CORE = "urn:ietf:params:jmap:core";
const auth = { Authorization: `Basic ${Buffer.from(`${ADDRESS}:${PASSWORD}`).toString("base64")}` };

const ATTACHMENT = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x10, 0x80]);
const MESSAGE = Buffer.from(
  [
    "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.net>",
    "To: Alice <alice@example.org>",
    "Subject: Forwarded: the plan",
    "Date: Tue, 01 Dec 2026 10:00:00 +0100",
    "Message-ID: <outer@example.net>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "See the attached plan.",
    "--b1",
    "Content-Type: message/rfc822",
    "",
    "From: Carol <carol@example.com>",
    "Subject: the plan",
    "Message-ID: <inner@example.com>",
    "",
    "Step one: lunch.",
    "--b1",
    'Content-Type: application/pdf; name="plan.pdf"',
    "Content-Disposition: attachment; filename=plan.pdf",
    "Content-Transfer-Encoding: base64",
    "",
    ATTACHMENT.toString("base64"),
    "--b1--",
    "",
  ].join("\r\n"),
);

for (const backend of await integrationBackends()) {
  describe(`JMAP Email objects on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let base: string;
    let accountId: string;

    const api = async (methodCalls: unknown[]) => {
      const response = await fetch(`${base}/jmap/api/`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, MAIL], methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses as Loose[];
    };
    const user = jmapUser(() => server, ADDRESS, PASSWORD);
    const upload = (bytes: Buffer, type?: string) => user.upload(accountId, bytes, type);

    before(async () => {
      server = await startTestServer(backend.store ? { store: backend.store } : {});
      base = `http://127.0.0.1:${server.ports.http}`;
      await user.add();
      accountId = (await user.session()).primaryAccounts[MAIL];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    const deliver = (message: Record<string, string>) => user.deliver(message, "juergen@example.net");
    const imap = user.imap;

    test("delivered mail: Email/query with collapseThreads, Email/get, Thread/get; blobs equal IMAP's BODY[]", async () => {
      await deliver({ subject: "Plans", text: "first", messageId: "<plans-1@example.net>" });
      await deliver({
        subject: "Re: Plans",
        text: "a reply",
        messageId: "<plans-2@example.net>",
        inReplyTo: "<plans-1@example.net>",
        references: "<plans-1@example.net>",
      });
      await deliver({ subject: "Unrelated", text: "other", messageId: "<other@example.net>" });
      const [mailboxes] = (await api([
        ["Mailbox/get", { accountId, ids: null, properties: ["role", "totalEmails", "totalThreads"] }, "m"],
      ])) as [Loose];
      const inbox = (mailboxes[1].list as Loose[]).find((mailbox) => mailbox.role === "inbox") as Loose;
      assert.equal(inbox.totalEmails, 3);
      assert.equal(inbox.totalThreads, 2);

      const responses = await api([
        [
          "Email/query",
          {
            accountId,
            filter: { inMailbox: inbox.id },
            sort: [{ property: "receivedAt", isAscending: false }],
            collapseThreads: true,
            calculateTotal: true,
          },
          "q",
        ],
        [
          "Email/get",
          {
            accountId,
            "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
            properties: [
              "subject",
              "threadId",
              "mailboxIds",
              "keywords",
              "preview",
              "blobId",
              "from",
              "receivedAt",
            ],
          },
          "g",
        ],
        [
          "Thread/get",
          { accountId, "#ids": { resultOf: "g", name: "Email/get", path: "/list/*/threadId" } },
          "t",
        ],
      ]);
      const [query, get, threads] = responses as [Loose, Loose, Loose];
      assert.equal(query[1].total, 2);
      assert.deepEqual(
        (get[1].list as Loose[]).map((email) => email.subject),
        ["Unrelated", "Re: Plans"],
      );
      const reply = get[1].list[1] as Loose;
      assert.deepEqual(reply.mailboxIds, { [inbox.id]: true });
      assert.deepEqual(reply.keywords, {});
      assert.equal(reply.preview, "a reply");
      assert.deepEqual(reply.from, [{ name: null, email: "juergen@example.net" }]);
      assert.match(reply.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const thread = (threads[1].list as Loose[]).find((each) => each.id === reply.threadId) as Loose;
      assert.equal(thread.emailIds.length, 2, JSON.stringify(threads[1]));
      assert.equal(thread.emailIds[1], reply.id, "oldest first");

      const download = await fetch(`${base}/jmap/download/${accountId}/${reply.blobId}/m.eml`, {
        headers: auth,
      });
      const viaHttp = Buffer.from(await download.arrayBuffer());
      const client = await imap();
      try {
        await client.mailboxOpen("INBOX");
        const fetched = await client.fetchOne("2", { source: true });
        assert.ok(fetched && fetched.source !== undefined);
        assert.deepEqual(viaHttp, fetched.source);
      } finally {
        await client.logout();
      }
    });

    test("a mailbox list paged by the database answers as the general query engine does", async () => {
      const [mailboxes] = (await api([
        ["Mailbox/get", { accountId, ids: null, properties: ["role"] }, "m"],
      ])) as [Loose];
      const inbox = (mailboxes[1].list as Loose[]).find((mailbox) => mailbox.role === "inbox") as Loose;
      // The same question twice: as the plain list (pageMailbox) and wrapped in an AND (runEmailQuery),
      // with the total and without (the list then counts nothing, yet its position must not differ).
      const both = async (args: Loose) => {
        let found: string[] | undefined;
        for (const calculateTotal of [true, false]) {
          const [plain, wrapped] = await api([
            ["Email/query", { accountId, filter: { inMailbox: inbox.id }, calculateTotal, ...args }, "a"],
            [
              "Email/query",
              {
                accountId,
                filter: { operator: "AND", conditions: [{ inMailbox: inbox.id }] },
                calculateTotal,
                ...args,
              },
              "b",
            ],
          ]);
          assert.equal(plain?.[0], "Email/query");
          const { ids, total, position } = (plain as Loose)[1] as Loose;
          const expected = (wrapped as Loose)[1] as Loose;
          assert.deepEqual(
            { ids, total, position },
            { ids: expected.ids, total: expected.total, position: expected.position },
          );
          assert.equal(total === undefined, !calculateTotal);
          found ??= ids as string[];
        }
        return found as string[];
      };
      const everything = await both({});
      assert.equal(everything.length, 3);
      assert.deepEqual(await both({ sort: [{ property: "receivedAt", isAscending: false }] }), everything);
      assert.deepEqual(await both({ position: 1, limit: 1 }), everything.slice(1, 2));
      assert.equal((await both({ collapseThreads: true })).length, 2);
      assert.equal((await both({ collapseThreads: true, position: 1 })).length, 1);
      assert.deepEqual(await both({ position: 7 }), []);
    });

    test("jmap-jam: Email/query, Email/get, Thread/get and a keyword set with an app token", async () => {
      const created = await server.cli(["token", "create", ADDRESS, "--name", "jam"]);
      assert.equal(created.code, 0, created.stderr);
      const jam = new JamClient({
        sessionUrl: `${base}/.well-known/jmap`,
        bearerToken: created.stdout.trim(),
      });
      const account = await jam.getPrimaryAccount();
      assert.equal(account, accountId);
      const [query] = await jam.request([
        "Email/query",
        { accountId, filter: { subject: "Plans" }, sort: [{ property: "receivedAt", isAscending: true }] },
      ]);
      assert.equal(query.ids.length, 2);
      const [emails] = await jam.request([
        "Email/get",
        { accountId, ids: query.ids, properties: ["subject", "threadId"] },
      ]);
      assert.deepEqual(
        (emails.list as Loose[]).map((email) => email.subject),
        ["Plans", "Re: Plans"],
      );
      const [threads] = await jam.request(["Thread/get", { accountId, ids: [emails.list[0].threadId] }]);
      assert.deepEqual(threads.list[0].emailIds, query.ids);
      const [set] = await jam.request([
        "Email/set",
        { accountId, update: { [query.ids[1]]: { "keywords/$seen": true } } },
      ]);
      assert.deepEqual(set.updated, { [query.ids[1]]: null });
      const [after] = await jam.request([
        "Email/get",
        { accountId, ids: [query.ids[1]], properties: ["keywords"] },
      ]);
      assert.deepEqual(after.list[0].keywords, { $seen: true });
    });

    test("a keyword set over JMAP reaches an IMAP session in IDLE at once, as FETCH FLAGS with a MODSEQ", async () => {
      // A raw socket, so the test sees the untagged response itself (RFC 2177 IDLE, RFC 7162 §3.2.4).
      const socket = connect(server.ports.imap, "127.0.0.1");
      socket.setEncoding("latin1");
      let received = "";
      const arrived: Array<() => void> = [];
      socket.on("data", (chunk: string) => {
        received += chunk;
        for (const wake of arrived.splice(0)) wake();
      });
      const waitFor = async (pattern: RegExp, from: number): Promise<RegExpExecArray> => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const match = pattern.exec(received.slice(from));
          if (match) return match;
          assert.ok(Date.now() < deadline, `no ${pattern} in:\n${received.slice(from)}`);
          await new Promise<void>((wake) => {
            arrived.push(wake);
            setTimeout(wake, 200);
          });
        }
      };
      const command = async (tag: string, text: string) => {
        const from = received.length;
        socket.write(`${tag} ${text}\r\n`);
        return (await waitFor(new RegExp(`^${tag} (OK|NO|BAD)[^\r\n]*\r\n`, "m"), from))[1];
      };
      try {
        await waitFor(/^\* OK[^\r\n]*\r\n/, 0);
        assert.equal(await command("a1", `LOGIN "${ADDRESS}" "${PASSWORD}"`), "OK");
        const selecting = received.length;
        assert.equal(await command("a2", "SELECT INBOX (CONDSTORE)"), "OK");
        const highest = Number((await waitFor(/HIGHESTMODSEQ (\d+)/, selecting))[1]);
        const [[, query]] = (await api([
          ["Email/query", { accountId, filter: { subject: "Unrelated" } }, "q"],
        ])) as [[string, Loose]];
        const [id] = query.ids as string[];
        assert.ok(id, "the message delivered first is found");
        const idling = received.length;
        socket.write("a3 IDLE\r\n");
        await waitFor(/^\+ [^\r\n]*\r\n/m, idling);
        const [[, set]] = (await api([
          ["Email/set", { accountId, update: { [id]: { "keywords/$flagged": true } } }, "s"],
        ])) as [[string, Loose]];
        assert.deepEqual(set.updated, { [id]: null });
        const fetch = await waitFor(/^\* \d+ FETCH \(([^\r\n]*)\)\r\n/m, idling);
        const items = fetch[1] ?? "";
        assert.match(items, /FLAGS \([^)]*\\Flagged/);
        const modseq = Number(/MODSEQ \((\d+)\)/.exec(items)?.[1]);
        assert.ok(modseq > highest, `MODSEQ ${modseq} is above the HIGHESTMODSEQ ${highest} SELECT gave`);
        const done = received.length;
        socket.write("DONE\r\n");
        await waitFor(/^a3 OK[^\r\n]*\r\n/m, done);
        assert.equal(await command("a4", "LOGOUT"), "OK");
      } finally {
        socket.destroy();
      }
    });

    test("IMAP OBJECTID (RFC 8474): imapflow sees the JMAP ids of the mailbox, the email and its thread", async () => {
      const [[, query], [, get]] = (await api([
        ["Email/query", { accountId, filter: { subject: "Re: Plans" } }, "q"],
        [
          "Email/get",
          {
            accountId,
            "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
            properties: ["threadId", "mailboxIds"],
          },
          "g",
        ],
      ])) as [[string, Loose], [string, Loose]];
      const email = get.list[0] as Loose;
      const client = await imap();
      try {
        const mailbox = await client.mailboxOpen("INBOX");
        assert.deepEqual({ [String(mailbox.mailboxId)]: true }, email.mailboxIds);
        const fetched = await client.fetchOne("2", { emailId: true, threadId: true, envelope: true });
        assert.ok(fetched);
        assert.equal(fetched.envelope?.subject, "Re: Plans");
        assert.equal(fetched.emailId, query.ids[0]);
        assert.equal(fetched.threadId, email.threadId);
      } finally {
        await client.logout();
      }
    });

    test("a header filter on a field without a Text form (Message-ID) matches its raw value", async () => {
      const [[name, byId], [, present], [, subject], [, bad]] = (await api([
        ["Email/query", { accountId, filter: { header: ["Message-ID", "plans-2@example"] } }, "m"],
        ["Email/query", { accountId, filter: { header: ["In-Reply-To"] } }, "p"],
        ["Email/query", { accountId, filter: { header: ["Subject", "unrelated"] } }, "s"],
        ["Email/query", { accountId, filter: { header: ["Bad Name", "x"] } }, "b"],
      ])) as [[string, Loose], [string, Loose], [string, Loose], [string, Loose]];
      assert.equal(name, "Email/query", JSON.stringify(byId));
      assert.deepEqual(present.ids, byId.ids, "only the reply has an In-Reply-To field");
      const [[, found]] = (await api([
        ["Email/get", { accountId, ids: byId.ids, properties: ["messageId"] }, "g"],
      ])) as [[string, Loose]];
      assert.deepEqual(
        (found.list as Loose[]).map((email) => email.messageId),
        [["plans-2@example.net"]],
      );
      assert.equal(subject.ids.length, 1);
      assert.equal(bad.type, "unsupportedFilter");
    });

    test("SearchSnippet/get marks the searched words in subject and body of what Email/query found", async () => {
      const responses = await api([
        ["Email/query", { accountId, filter: { text: "reply" } }, "q"],
        [
          "SearchSnippet/get",
          {
            accountId,
            filter: { text: "reply" },
            "#emailIds": { resultOf: "q", name: "Email/query", path: "/ids" },
          },
          "s",
        ],
        ["SearchSnippet/get", { accountId, filter: { subject: "plans" }, emailIds: ["Enope"] }, "n"],
      ]);
      const [query, snippets, missing] = responses as [Loose, Loose, Loose];
      assert.equal(query[1].ids.length, 1);
      assert.deepEqual(snippets[1].list, [
        { emailId: query[1].ids[0], subject: null, preview: "a <mark>reply</mark>" },
      ]);
      assert.deepEqual(missing[1].notFound, ["Enope"]);
    });

    test("IMAP changes show in Email/changes and Mailbox/changes; keywords map to flags; EXPUNGE is destroyed", async () => {
      const [[, before]] = (await api([["Email/get", { accountId, ids: [], properties: ["id"] }, "s"]])) as [
        [string, Loose],
      ];
      const since = before.state as string;
      const [[, listed], [, mailboxesListed]] = (await api([
        ["Email/query", { accountId, sort: [{ property: "subject" }] }, "q"],
        ["Mailbox/query", { accountId, sort: [{ property: "name" }] }, "mq"],
      ])) as [[string, Loose], [string, Loose]];
      const ids = listed.ids as string[];
      const client = await imap();
      try {
        await client.mailboxOpen("INBOX");
        await client.messageFlagsAdd("1", ["\\Flagged", "Work"]);
        await client.messageFlagsAdd("3", ["\\Deleted"]);
        await client.messageDelete("3");
      } finally {
        await client.logout();
      }
      const responses = await api([
        ["Email/changes", { accountId, sinceState: since }, "c"],
        ["Mailbox/changes", { accountId, sinceState: since }, "m"],
        [
          "Email/get",
          {
            accountId,
            "#ids": { resultOf: "c", name: "Email/changes", path: "/updated" },
            properties: ["keywords", "subject"],
          },
          "g",
        ],
        ["Email/changes", { accountId, sinceState: "s999999" }, "future"],
        ["Email/changes", { accountId, sinceState: "not-a-state" }, "bad"],
        [
          "Email/queryChanges",
          {
            accountId,
            sinceQueryState: listed.queryState,
            sort: [{ property: "subject" }],
            calculateTotal: true,
          },
          "qc",
        ],
        ["Email/query", { accountId, sort: [{ property: "subject" }] }, "now"],
        ["Email/queryChanges", { accountId, sinceQueryState: "s999999" }, "qcFuture"],
        [
          "Email/queryChanges",
          { accountId, sinceQueryState: listed.queryState, sort: [{ property: "subject" }], maxChanges: 2 },
          "qcMax",
        ],
        [
          "Email/queryChanges",
          { accountId, sinceQueryState: listed.queryState, sort: [{ property: "subject" }], upToId: ids[0] },
          "qcUpTo",
        ],
        [
          "Mailbox/queryChanges",
          { accountId, sinceQueryState: mailboxesListed.queryState, sort: [{ property: "name" }] },
          "mqc",
        ],
        ["Mailbox/query", { accountId, sort: [{ property: "name" }] }, "mqNow"],
      ]);
      const [changes, mailboxChanges, updated, future, bad, queryChanges, now, qcFuture, ...more] =
        responses as Loose[];
      const [qcMax, qcUpTo, mailboxQueryChanges, mailboxesNow] = more;
      assert.equal(changes?.[1].oldState, since);
      assert.notEqual(changes?.[1].newState, since);
      assert.equal(changes?.[1].updated.length, 1, JSON.stringify(changes));
      assert.equal(changes?.[1].destroyed.length, 1, JSON.stringify(changes));
      assert.ok(ids.includes(changes?.[1].destroyed[0]));
      const flaggedId = changes?.[1].updated[0];
      assert.deepEqual(updated?.[1].list[0].keywords, { $flagged: true, work: true });
      assert.equal(updated?.[1].list[0].id, flaggedId);
      assert.equal(mailboxChanges?.[1].updated.length, 1);
      assert.equal(mailboxChanges?.[1].updatedProperties, null);
      assert.equal(future?.[1].type, "cannotCalculateChanges");
      assert.equal(bad?.[1].type, "cannotCalculateChanges");
      // RFC 8620 §5.6: the old result with removed dropped and added spliced in is the new result.
      assert.equal(listed.canCalculateChanges, true);
      const applied = ids.filter((id) => !queryChanges?.[1].removed.includes(id));
      for (const { id, index } of queryChanges?.[1].added ?? []) applied.splice(index, 0, id);
      assert.deepEqual(applied, now?.[1].ids, JSON.stringify(queryChanges));
      assert.equal(queryChanges?.[1].newQueryState, now?.[1].queryState);
      assert.equal(queryChanges?.[1].total, now?.[1].ids.length);
      assert.ok(queryChanges?.[1].removed.includes(changes?.[1].destroyed[0]));
      assert.equal(qcFuture?.[1].type, "cannotCalculateChanges");
      // Two removed and one added back: more than maxChanges 2.
      assert.deepEqual([qcMax?.[0], qcMax?.[1].type], ["error", "tooManyChanges"]);
      assert.deepEqual(qcUpTo?.[1].added, queryChanges?.[1].added);
      // The INBOX's counts changed; its place did not.
      assert.equal(mailboxesListed.canCalculateChanges, true);
      assert.deepEqual(mailboxQueryChanges?.[1].removed, [mailboxChanges?.[1].updated[0]]);
      assert.deepEqual(mailboxQueryChanges?.[1].added, [
        {
          id: mailboxChanges?.[1].updated[0],
          index: mailboxesNow?.[1].ids.indexOf(mailboxChanges?.[1].updated[0]),
        },
      ]);
      assert.equal(mailboxQueryChanges?.[1].newQueryState, mailboxesNow?.[1].queryState);
      const [[, gone]] = (await api([
        ["Email/get", { accountId, ids: [changes?.[1].destroyed[0], "Enope"] }, "x"],
      ])) as [[string, Loose]];
      assert.deepEqual(gone.list, []);
      assert.equal(gone.notFound.length, 2);
      // Ids and keywords alone are read from the flags only: the same answer as the whole-row read.
      const asked = [
        flaggedId,
        changes?.[1].destroyed[0],
        "Enope",
        ids.find((id) => id !== flaggedId && id !== changes?.[1].destroyed[0]),
        flaggedId,
      ];
      const [[, lean], [, whole], [, idsOnly]] = (await api([
        ["Email/get", { accountId, ids: asked, properties: ["keywords"] }, "k"],
        ["Email/get", { accountId, ids: asked, properties: ["keywords", "size"] }, "w"],
        ["Email/get", { accountId, ids: asked, properties: ["id"] }, "i"],
      ])) as [[string, Loose], [string, Loose], [string, Loose]];
      const withoutSize = (whole.list as Loose[]).map(({ id, keywords }) => ({ id, keywords }));
      assert.equal(lean.list.length, 2, "an id asked twice is answered once");
      assert.deepEqual(lean.list, withoutSize);
      assert.deepEqual(lean.list[0], { id: flaggedId, keywords: { $flagged: true, work: true } });
      assert.deepEqual(lean.notFound, whole.notFound);
      assert.equal(lean.notFound.length, 2);
      assert.equal(lean.state, whole.state);
      assert.deepEqual(
        idsOnly.list,
        withoutSize.map(({ id }) => ({ id })),
      );
    });

    test("Email/set: a draft with an attachment, keywords and a move, destroy, and the SetErrors", async () => {
      const [mailboxes] = (await api([
        ["Mailbox/get", { accountId, ids: null, properties: ["role"] }, "m"],
      ])) as [Loose];
      const role = (name: string) =>
        (mailboxes[1].list as Loose[]).find((mailbox) => mailbox.role === name)?.id as string;
      const drafts = role("drafts");
      const inbox = role("inbox");
      const attachment = await upload(Buffer.from("attached notes\n"), "text/plain");
      const responses = await api([
        [
          "Email/set",
          {
            accountId,
            create: {
              d1: {
                mailboxIds: { [drafts]: true },
                keywords: { $draft: true },
                from: [{ name: "Alice", email: ADDRESS }],
                to: [{ name: "Bob", email: "bob@example.net" }],
                bcc: [{ email: "hidden@example.net" }],
                subject: "Draft with notes",
                textBody: [{ partId: "t", type: "text/plain" }],
                bodyValues: { t: { value: "Here are my notes." } },
                attachments: [{ blobId: attachment, type: "text/plain", name: "notes.txt" }],
              },
              bad: { mailboxIds: { [drafts]: true, [inbox]: true } },
            },
          },
          "c",
        ],
        [
          "Email/get",
          {
            accountId,
            ids: ["#d1"],
            properties: ["subject", "bcc", "keywords", "mailboxIds", "attachments", "preview"],
          },
          "g",
        ],
      ]);
      const [set, get] = responses as [Loose, Loose];
      const created = set[1].created.d1 as Loose;
      assert.match(created.id, /^E\d+$/);
      assert.equal(set[1].notCreated.bad.type, "tooManyMailboxes");
      const draft = get[1].list[0] as Loose;
      assert.equal(draft.subject, "Draft with notes");
      assert.deepEqual(draft.bcc, [{ name: null, email: "hidden@example.net" }]);
      assert.deepEqual(draft.keywords, { $draft: true });
      assert.deepEqual(draft.mailboxIds, { [drafts]: true });
      assert.equal(draft.preview, "Here are my notes.");
      assert.equal(draft.attachments[0].name, "notes.txt");

      // Saved again (or forwarded), a draft carries the attachment by its part's blob id (§4.1.4).
      const [[, again], [, reread]] = (await api([
        [
          "Email/set",
          {
            accountId,
            create: {
              d2: {
                mailboxIds: { [drafts]: true },
                subject: "Draft saved again",
                textBody: [{ partId: "t", type: "text/plain" }],
                bodyValues: { t: { value: "Still my notes." } },
                attachments: [{ blobId: draft.attachments[0].blobId, type: "text/plain", name: "notes.txt" }],
              },
            },
          },
          "a",
        ],
        [
          "Email/get",
          { accountId, ids: ["#d2"], properties: ["attachments", "bodyValues"], fetchAllBodyValues: true },
          "r",
        ],
        ["Email/set", { accountId, destroy: ["#d2"] }, "x"],
      ])) as [[string, Loose], [string, Loose]];
      assert.deepEqual(again.notCreated ?? {}, {});
      const part = reread.list[0].attachments[0] as Loose;
      assert.equal(part.name, "notes.txt");
      assert.equal(reread.list[0].bodyValues?.[part.partId]?.value, "attached notes\n");

      const client = await imap();
      try {
        const lock = await client.getMailboxLock("Drafts");
        try {
          const message = await client.fetchOne("*", { flags: true, envelope: true });
          assert.ok(message);
          assert.equal(message.envelope?.subject, "Draft with notes");
          assert.ok(message.flags?.has("\\Draft"));
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }

      const moved = await api([
        [
          "Email/set",
          {
            accountId,
            update: {
              [created.id]: {
                "keywords/$seen": true,
                [`mailboxIds/${drafts}`]: null,
                [`mailboxIds/${inbox}`]: true,
              },
              Enothere: { "keywords/$seen": true },
            },
          },
          "u",
        ],
        ["Email/get", { accountId, ids: [created.id], properties: ["keywords", "mailboxIds"] }, "g"],
        ["Email/set", { accountId, update: { [created.id]: { subject: "changed" } } }, "bad"],
        ["Email/set", { accountId, ifInState: "s1", destroy: [created.id] }, "stale"],
      ]);
      const [update, after, immutable, stale] = moved as [Loose, Loose, Loose, Loose];
      assert.deepEqual(update[1].updated, { [created.id]: null });
      assert.equal(update[1].notUpdated.Enothere.type, "notFound");
      assert.deepEqual(after[1].list[0].keywords, { $draft: true, $seen: true });
      assert.deepEqual(after[1].list[0].mailboxIds, { [inbox]: true }, "MOVE keeps the id");
      assert.equal(immutable[1].notUpdated[created.id].type, "invalidProperties");
      assert.deepEqual(immutable[1].notUpdated[created.id].properties, ["subject"]);
      assert.equal(stale[0], "error");
      assert.equal(stale[1].type, "stateMismatch");

      const destroyed = await api([
        ["Email/set", { accountId, destroy: [created.id] }, "d"],
        ["Email/get", { accountId, ids: [created.id], properties: ["id"] }, "g"],
      ]);
      assert.deepEqual(destroyed[0]?.[1].destroyed, [created.id]);
      assert.deepEqual(destroyed[1]?.[1].notFound, [created.id]);
    });

    test("Email/parse of an upload and of its attached message; /download of a part's decoded bytes", async () => {
      const blobId = await upload(MESSAGE);
      const [[name, result]] = (await api([
        [
          "Email/parse",
          {
            accountId,
            blobIds: [blobId],
            properties: [
              "id",
              "blobId",
              "mailboxIds",
              "from",
              "subject",
              "sentAt",
              "messageId",
              "attachments",
              "bodyValues",
              "preview",
              "hasAttachment",
            ],
            fetchTextBodyValues: true,
          },
          "p",
        ],
      ])) as [[string, Loose]];
      assert.equal(name, "Email/parse");
      const email = result.parsed[blobId];
      assert.equal(email.id, null);
      assert.equal(email.mailboxIds, null);
      assert.equal(email.blobId, blobId);
      assert.deepEqual(email.from, [{ name: "Jürgen", email: "juergen@example.net" }]);
      assert.equal(email.subject, "Forwarded: the plan");
      assert.deepEqual(email.messageId, ["outer@example.net"]);
      assert.equal(email.preview, "See the attached plan.");
      assert.equal(email.hasAttachment, true);
      assert.deepEqual(
        Object.values(email.bodyValues).map((value) => (value as Loose).value),
        ["See the attached plan."],
      );
      const [inner, pdf] = email.attachments as [Loose, Loose];
      assert.equal(inner.type, "message/rfc822");
      assert.equal(pdf.name, "plan.pdf");
      assert.equal(pdf.size, ATTACHMENT.length);

      const [[, nested]] = (await api([
        [
          "Email/parse",
          { accountId, blobIds: [inner.blobId], properties: ["subject", "from", "messageId"] },
          "q",
        ],
      ])) as [[string, Loose]];
      assert.equal(nested.parsed[inner.blobId].subject, "the plan");
      assert.deepEqual(nested.parsed[inner.blobId].messageId, ["inner@example.com"]);

      const download = await fetch(`${base}/jmap/download/${accountId}/${pdf.blobId}/plan.pdf`, {
        headers: auth,
      });
      assert.equal(download.status, 200);
      assert.equal(download.headers.get("content-type"), "application/pdf");
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), ATTACHMENT);
      const otherPart = await fetch(`${base}/jmap/download/${accountId}/${blobId}_9/x`, { headers: auth });
      assert.equal(otherPart.status, 404);
    });

    test("Email/parse: unknown blobs are notFound, bytes without header fields notParsable; bad arguments refused", async () => {
      const text = await upload(Buffer.from("no header here, only words\r\n"), "text/plain");
      const responses = await api([
        ["Email/parse", { accountId, blobIds: [text, "Gnothing"] }, "a"],
        ["Email/parse", { accountId, blobIds: [text], properties: ["colour"] }, "b"],
        ["Email/parse", { accountId, blobIds: [text], properties: ["header:Subject:asAddresses"] }, "c"],
        ["Email/parse", { accountId, blobIds: "x" }, "d"],
      ]);
      assert.deepEqual(responses[0]?.[1].notParsable, [text]);
      assert.deepEqual(responses[0]?.[1].notFound, ["Gnothing"]);
      assert.equal(responses[0]?.[1].parsed, null);
      for (const index of [1, 2, 3]) {
        assert.equal(responses[index]?.[0], "error");
        assert.equal(responses[index]?.[1].type, "invalidArguments", JSON.stringify(responses[index]));
      }
    });
  });
}
