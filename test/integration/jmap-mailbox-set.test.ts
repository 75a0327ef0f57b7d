// Mailbox/set, Email/import and Identity/get, /set, /changes against a real `mailroom serve` on both stores: mailboxes
// created, renamed and destroyed over JMAP seen by an IMAP client (imapflow) and in Mailbox/changes;
// creation ids used by later calls and returned in createdIds; an upload imported into a new mailbox,
// read with Email/get and byte-identical over IMAP BODY[] and /download; the refusals.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
/** Method responses, as many as a test destructures. */
type Calls = [[string, Loose], [string, Loose], [string, Loose]];

const ADDRESS = "carol@example.org";
const PASSWORD = "carol's long passphrase";
const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";
const SUBMISSION = "urn:ietf:params:jmap:submission";

const MESSAGE = Buffer.from(
  [
    "From: Dave <dave@example.net>",
    "To: Carol <carol@example.org>",
    "Subject: Imported from the old server",
    "Date: Mon, 02 Feb 2026 08:00:00 +0000",
    "Message-ID: <imported@example.net>",
    "",
    "Kept byte for byte,\tincluding this tab.",
    "",
  ].join("\r\n"),
);

for (const backend of await integrationBackends()) {
  describe(`JMAP Mailbox/set, Email/import and Identity on ${backend.name}`, {
    skip: backend.skip,
  }, () => {
    let server: TestServer;
    let base: string;
    let accountId: string;
    let session: Loose;

    const request = async (methodCalls: unknown[], createdIds?: Record<string, string>) => {
      const response = await fetch(`${base}/jmap/api/`, {
        method: "POST",
        headers: { ...user.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, MAIL, SUBMISSION], methodCalls, createdIds }),
      });
      assert.equal(response.status, 200);
      return (await response.json()) as Loose;
    };
    const api = async (methodCalls: unknown[]) => (await request(methodCalls)).methodResponses as Loose[];
    const state = async () => {
      const [[, got]] = (await api([["Mailbox/get", { accountId, ids: [] }, "s"]])) as Calls;
      return got.state as string;
    };
    const user = jmapUser(() => server, ADDRESS, PASSWORD);
    const upload = (bytes: Buffer) => user.upload(accountId, bytes);
    const imap = user.imap;
    const imapList = async () => {
      const client = await imap();
      try {
        return (await client.list()).map((entry) => entry.path).sort();
      } finally {
        await client.logout();
      }
    };

    before(async () => {
      server = await startTestServer(backend.store ? { store: backend.store } : {});
      base = `http://127.0.0.1:${server.ports.http}`;
      await user.add();
      session = await user.session();
      accountId = session.primaryAccounts[MAIL];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("the session offers submission; Identity/get is the user's own address; Identity/set and /changes", async () => {
      assert.ok(session.capabilities[SUBMISSION]);
      assert.equal(session.primaryAccounts[SUBMISSION], accountId);
      // [submission] max_future_release's default, a week, with RFC 4865's EHLO arguments.
      const submission = session.accounts[accountId].accountCapabilities[SUBMISSION];
      assert.equal(submission.maxDelayedSend, 604_800);
      assert.deepEqual(Object.keys(submission.submissionExtensions), ["FUTURERELEASE"]);
      assert.equal(submission.submissionExtensions.FUTURERELEASE[0], "604800");
      const [[name, identities]] = (await api([["Identity/get", { accountId }, "i"]])) as Calls;
      assert.equal(name, "Identity/get");
      assert.equal(identities.list.length, 1);
      assert.equal(identities.list[0].email, ADDRESS);
      assert.equal(identities.list[0].name, "");
      assert.equal(identities.list[0].mayDelete, false);

      // An alias reaching carol is hers to send as, as on port 587; another domain's address is not.
      const alias = await server.cli(["alias", "add", "help@example.org", ADDRESS]);
      assert.equal(alias.code, 0, alias.stderr);
      const [[, set], [, got], [, changes]] = (await api([
        [
          "Identity/set",
          {
            accountId,
            ifInState: identities.state,
            create: {
              help: {
                name: "Help desk",
                email: "help@example.org",
                replyTo: [{ name: null, email: ADDRESS }],
              },
              far: { email: "carol@elsewhere.example" },
            },
          },
          "s",
        ],
        [
          "Identity/get",
          { accountId, ids: ["#help"], properties: ["name", "email", "replyTo", "mayDelete"] },
          "g",
        ],
        ["Identity/changes", { accountId, sinceState: identities.state }, "c"],
      ])) as Calls;
      const id = set.created.help.id as string;
      assert.equal(set.notCreated.far.type, "forbiddenFrom");
      assert.deepEqual(got.list, [
        {
          id,
          name: "Help desk",
          email: "help@example.org",
          replyTo: [{ name: null, email: ADDRESS }],
          mayDelete: true,
        },
      ]);
      assert.deepEqual(changes.created, [id]);
      assert.equal(changes.newState, set.newState);

      const [[, destroyed], [, afterDestroy]] = (await api([
        ["Identity/set", { accountId, destroy: [id, identities.list[0].id] }, "d"],
        ["Identity/changes", { accountId, sinceState: set.newState }, "c"],
      ])) as Calls;
      assert.deepEqual(destroyed.destroyed, [id]);
      assert.equal(destroyed.notDestroyed[identities.list[0].id].type, "forbidden");
      assert.deepEqual(afterDestroy.destroyed, [id]);
    });

    test("create a parent and a child, rename and move them, destroy them: IMAP LIST and Mailbox/changes follow", async () => {
      const since = await state();
      const created = await request(
        [
          [
            "Mailbox/set",
            {
              accountId,
              create: {
                child: { name: "2026", parentId: "#parent" },
                parent: { name: "Projects", isSubscribed: false },
              },
            },
            "c",
          ],
          // A later call names the creations by "#" too.
          ["Mailbox/set", { accountId, create: { grandchild: { name: "March", parentId: "#child" } } }, "d"],
        ],
        {},
      );
      const [[, set], [, later]] = created.methodResponses as Calls;
      assert.equal(set.notCreated, null, JSON.stringify(set.notCreated));
      const childId = set.created.child.id as string;
      const parentId = set.created.parent.id as string;
      const grandchildId = later.created.grandchild.id as string;
      assert.deepEqual(created.createdIds, { child: childId, parent: parentId, grandchild: grandchildId });
      assert.equal(set.oldState, since);
      assert.equal(set.newState, later.oldState);
      const [[, got]] = (await api([
        [
          "Mailbox/get",
          {
            accountId,
            ids: [childId, parentId],
            properties: ["name", "parentId", "isSubscribed", "totalEmails"],
          },
          "g",
        ],
      ])) as Calls;
      assert.deepEqual(Object.fromEntries((got.list as Loose[]).map(({ id, ...rest }) => [id, rest])), {
        [childId]: { name: "2026", parentId, isSubscribed: true, totalEmails: 0 },
        [parentId]: { name: "Projects", parentId: null, isSubscribed: false, totalEmails: 0 },
      });
      assert.deepEqual(
        (await imapList()).filter((path) => path.startsWith("Projects")),
        ["Projects", "Projects/2026", "Projects/2026/March"],
      );
      const [[, changes]] = (await api([
        ["Mailbox/changes", { accountId, sinceState: since }, "m"],
      ])) as Calls;
      assert.deepEqual([...changes.created].sort(), [childId, parentId, grandchildId].sort());

      // The parent renamed takes its children along; the child moved to the top and renamed.
      const renamedAt = changes.newState as string;
      const [[, renamed]] = (await api([
        [
          "Mailbox/set",
          {
            accountId,
            ifInState: renamedAt,
            update: { [parentId]: { name: "Clients" }, [childId]: { parentId: null, name: "Year 2026" } },
          },
          "r",
        ],
      ])) as Calls;
      assert.deepEqual(renamed.updated, { [parentId]: null, [childId]: null });
      assert.equal(renamed.notUpdated, null);
      const paths = await imapList();
      assert.ok(paths.includes("Clients"), paths.join());
      assert.ok(paths.includes("Year 2026/March"), paths.join());
      assert.equal(
        paths.some((path) => path.startsWith("Projects")),
        false,
      );
      const [[, afterRename]] = (await api([
        ["Mailbox/changes", { accountId, sinceState: renamedAt }, "m"],
      ])) as Calls;
      assert.deepEqual([...afterRename.updated].sort(), [childId, parentId, grandchildId].sort());
      assert.deepEqual(afterRename.created, []);

      // A child holds the parent back unless both go in one call.
      const destroyedAt = afterRename.newState as string;
      const [[, held], [, both]] = (await api([
        ["Mailbox/set", { accountId, destroy: [childId] }, "x"],
        ["Mailbox/set", { accountId, destroy: [childId, grandchildId, parentId] }, "y"],
      ])) as Calls;
      assert.equal(held.notDestroyed[childId].type, "mailboxHasChild");
      assert.deepEqual([...both.destroyed].sort(), [childId, parentId, grandchildId].sort());
      const [[, afterDestroy]] = (await api([
        ["Mailbox/changes", { accountId, sinceState: destroyedAt }, "m"],
      ])) as Calls;
      assert.deepEqual([...afterDestroy.destroyed].sort(), [childId, parentId, grandchildId].sort());
      assert.deepEqual(
        (await imapList()).filter((path) => path.startsWith("Clients") || path.startsWith("Year")),
        [],
      );
    });

    test("Email/import of an upload into a new mailbox: Email/get, IMAP BODY[] and /download agree; destroy with its emails", async () => {
      const blobId = await upload(MESSAGE);
      const [[, boxes], [, imported]] = (await api([
        ["Mailbox/set", { accountId, create: { box: { name: "Imported", role: "archive" } } }, "b"],
        ["Email/import", { accountId, emails: { mail: { blobId, mailboxIds: { "#box": true } } } }, "i"],
      ])) as Calls;
      // The default mailboxes already have an Archive: the role is taken.
      assert.equal(boxes.notCreated.box.type, "invalidProperties");
      assert.deepEqual(boxes.notCreated.box.properties, ["role"]);
      assert.equal(imported.created, null);
      assert.deepEqual(imported.notCreated.mail.properties, ["mailboxIds"]);

      const [[, box], [, importedAgain]] = (await api([
        ["Mailbox/set", { accountId, create: { box: { name: "Imported" } } }, "b"],
        [
          "Email/import",
          {
            accountId,
            emails: {
              mail: {
                blobId,
                mailboxIds: { "#box": true },
                keywords: { $seen: true, imported: true },
                receivedAt: "2026-02-02T08:00:05Z",
              },
            },
          },
          "i",
        ],
      ])) as Calls;
      const boxId = box.created.box.id as string;
      const created = importedAgain.created.mail as Loose;
      assert.equal(created.size, MESSAGE.length);
      assert.equal(importedAgain.oldState, box.newState);
      const [[, email]] = (await api([
        [
          "Email/get",
          {
            accountId,
            ids: [created.id],
            properties: [
              "blobId",
              "threadId",
              "mailboxIds",
              "keywords",
              "receivedAt",
              "size",
              "subject",
              "from",
            ],
          },
          "g",
        ],
      ])) as Calls;
      assert.ok(email.list, JSON.stringify(email));
      const [one] = email.list as Loose[];
      assert.deepEqual(one, {
        id: created.id,
        blobId: created.blobId,
        threadId: created.threadId,
        mailboxIds: { [boxId]: true },
        keywords: { $seen: true, imported: true },
        receivedAt: "2026-02-02T08:00:05Z",
        size: MESSAGE.length,
        subject: "Imported from the old server",
        from: [{ name: "Dave", email: "dave@example.net" }],
      });

      const download = await fetch(`${base}/jmap/download/${accountId}/${created.blobId}/m.eml`, {
        headers: user.auth,
      });
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), MESSAGE);
      const client = await imap();
      try {
        await client.mailboxOpen("Imported");
        const fetched = await client.fetchOne("1", { source: true, flags: true, internalDate: true });
        assert.ok(fetched && fetched.source !== undefined);
        assert.deepEqual(fetched.source, MESSAGE);
        assert.deepEqual([...(fetched.flags ?? [])].sort(), ["\\Seen", "imported"]);
        assert.equal(new Date(fetched.internalDate as Date).toISOString(), "2026-02-02T08:00:05.000Z");
      } finally {
        await client.logout();
      }

      const since = importedAgain.newState as string;
      const [[, refused], [, removed], [, gone]] = (await api([
        ["Mailbox/set", { accountId, destroy: [boxId] }, "x"],
        ["Mailbox/set", { accountId, destroy: [boxId], onDestroyRemoveEmails: true }, "y"],
        ["Email/get", { accountId, ids: [created.id], properties: ["id"] }, "g"],
      ])) as Calls;
      assert.equal(refused.notDestroyed[boxId].type, "mailboxHasEmail");
      assert.deepEqual(removed.destroyed, [boxId]);
      assert.deepEqual(gone.notFound, [created.id]);
      const [[, emailChanges], [, mailboxChanges]] = (await api([
        ["Email/changes", { accountId, sinceState: since }, "e"],
        ["Mailbox/changes", { accountId, sinceState: since }, "m"],
      ])) as Calls;
      assert.deepEqual(emailChanges.destroyed, [created.id]);
      assert.deepEqual(mailboxChanges.destroyed, [boxId]);
    });

    test("refusals: INBOX, stateMismatch, names, roles, too many objects, bad imports", async () => {
      const [[, mailboxes]] = (await api([
        ["Mailbox/get", { accountId, properties: ["role", "name"] }, "m"],
      ])) as Calls;
      const inbox = (mailboxes.list as Loose[]).find((mailbox) => mailbox.role === "inbox") as Loose;
      const sent = (mailboxes.list as Loose[]).find((mailbox) => mailbox.role === "sent") as Loose;
      const blobId = await upload(MESSAGE);
      const responses = await api([
        [
          "Mailbox/set",
          {
            accountId,
            update: { [inbox.id]: { name: "Old" }, [sent.id]: { role: "drafts" } },
            destroy: ["Mnope"],
          },
          "a",
        ],
        [
          "Mailbox/set",
          { accountId, update: { [sent.id]: { name: "Sent" } }, destroy: [inbox.id, sent.id] },
          "a2",
        ],
        ["Mailbox/set", { accountId, ifInState: "s1", create: { x: { name: "X" } } }, "b"],
        ["Mailbox/set", { accountId, create: { x: { name: "a/b" }, y: { name: "Drafts" } } }, "c"],
        ["Mailbox/set", { accountId, destroy: Array.from({ length: 501 }, (_, n) => `M${n}`) }, "d"],
        [
          "Email/import",
          {
            accountId,
            emails: {
              two: { blobId, mailboxIds: { [inbox.id]: true, [sent.id]: true } },
              noBlob: { blobId: "Gnothing", mailboxIds: { [inbox.id]: true } },
            },
          },
          "e",
        ],
        ["Email/import", { accountId, ifInState: "s1", emails: {} }, "f"],
      ]);
      const [a, a2, b, c, d, e, f] = responses.map((response) => response[1]) as Loose[];
      assert.equal(a?.notUpdated[inbox.id].type, "forbidden");
      assert.deepEqual(a?.notUpdated[sent.id].properties, ["role"]);
      assert.equal(a2?.notDestroyed[inbox.id].type, "forbidden");
      assert.equal(a2?.notUpdated[sent.id].type, "willDestroy");
      assert.deepEqual(a2?.destroyed, [sent.id], "an empty mailbox with a role goes too");
      assert.equal(a?.notDestroyed.Mnope.type, "notFound");
      assert.equal(a?.updated, null);
      assert.equal(a?.destroyed, null);
      assert.equal(responses[2]?.[0], "error");
      assert.equal(b?.type, "stateMismatch");
      assert.deepEqual(c?.notCreated.x.properties, ["name"]);
      assert.deepEqual(c?.notCreated.y.properties, ["name"]);
      assert.equal(typeof c?.notCreated.y.description, "string");
      assert.equal(d?.type, "requestTooLarge");
      assert.equal(e?.notCreated.two.type, "tooManyMailboxes");
      assert.deepEqual(e?.notCreated.noBlob.properties, ["blobId"]);
      assert.equal(f?.type, "stateMismatch");
      assert.ok((await imapList()).includes("INBOX"));
    });
  });
}
