// Issue 6, IMAP against a running mailroom with imapflow, on both stores: over STARTTLS and implicit TLS,
// every command imapflow drives, IDLE woken by an SMTP delivery, CONDSTORE/QRESYNC. Bodies are compared
// byte for byte with `mailroom mail cat`. imap-imaplib.test.ts covers the commands imapflow does not send.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { mailboxHelpers, password, user } from "./imap-helpers.js";

const _run = promisify(execFile);
const _root = join(import.meta.dirname, "../..");

for (const backend of await integrationBackends()) {
  describe(`IMAP with real clients, ${backend.name} store`, { skip: backend.skip }, () => {
    let server: TestServer;

    const { storedBytes, listing, send } = mailboxHelpers(() => server);

    const messageCount = async (imap: ImapFlow, path: string): Promise<number | undefined> => {
      const status = await imap.status(path, { messages: true });
      assert.ok(status, `STATUS ${path} answered`);
      return status.messages;
    };

    const client = (mode: "starttls" | "imaps", extra: Record<string, unknown> = {}) =>
      new ImapFlow({
        host: "127.0.0.1",
        port: mode === "imaps" ? server.ports.imaps : server.ports.imap,
        secure: mode === "imaps",
        doSTARTTLS: mode === "starttls" ? true : undefined,
        tls: { rejectUnauthorized: false },
        auth: { user, pass: password },
        logger: false,
        ...extra,
      });

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      await send("first");
      await send("second");
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("imapflow over STARTTLS: list with special-use, status, open, fetch byte-identical", async () => {
      const imap = client("starttls");
      await imap.connect();
      try {
        assert.equal(
          imap.secureConnection,
          true,
          "imapflow marks the connection secure once STARTTLS is done",
        );
        assert.ok(imap.capabilities.has("IMAP4REV2") || imap.capabilities.has("IMAP4rev2"));
        const list = await imap.list({ statusQuery: { messages: true, uidNext: true } });
        const byName = new Map(list.map((entry) => [entry.path, entry]));
        assert.deepEqual([...byName.keys()].sort(), ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]);
        assert.equal(byName.get("Sent")?.specialUse, "\\Sent");
        assert.equal(byName.get("Trash")?.specialUse, "\\Trash");
        assert.equal(byName.get("INBOX")?.status?.messages, 2);

        const status = await imap.status("INBOX", {
          messages: true,
          uidNext: true,
          uidValidity: true,
          unseen: true,
        });
        assert.ok(status, "STATUS answered");
        assert.equal(status.messages, 2);
        assert.equal(status.unseen, 2);

        const mailbox = await imap.mailboxOpen("INBOX");
        assert.equal(mailbox.exists, 2);
        const stored = await listing();
        const fetched = [];
        for await (const message of imap.fetch("1:*", {
          uid: true,
          flags: true,
          envelope: true,
          bodyStructure: true,
          source: true,
          size: true,
          internalDate: true,
        })) {
          fetched.push(message);
        }
        assert.equal(fetched.length, 2);
        for (const message of fetched) {
          const expected = await storedBytes("INBOX", message.uid);
          assert.ok(message.source);
          assert.ok(message.source.equals(expected), `UID ${message.uid} source is byte-identical`);
          assert.equal(message.size, expected.length);
          assert.equal(message.envelope?.from?.[0]?.address, "carol@remote.test");
          assert.equal(message.envelope?.to?.[0]?.address, user);
          assert.equal(message.bodyStructure?.type, "multipart/mixed");
          const parts = message.bodyStructure?.childNodes ?? [];
          assert.equal(parts[0]?.type, "text/plain");
          assert.equal(parts[1]?.disposition, "attachment");
          assert.ok(message.internalDate instanceof Date);
        }
        assert.deepEqual(
          fetched.map((message) => message.envelope?.subject),
          stored.map((message) => message.subject),
        );

        // BINARY (RFC 3516): the attachment decoded from base64 by the server.
        // imapflow hands bodyParts over as received, so the bytes below were decoded by the server.
        const binary = await imap.fetchOne(
          String(fetched[0]?.uid),
          { bodyParts: ["2"] },
          { uid: true, binary: true },
        );
        assert.ok(binary);
        assert.deepEqual(binary.bodyParts?.get("2"), Buffer.from([0, 1, 2, 255, 13, 10, 46]));
        const encoded = await imap.fetchOne(String(fetched[0]?.uid), { bodyParts: ["2"] }, { uid: true });
        assert.ok(encoded);
        assert.equal(encoded.bodyParts?.get("2")?.toString("latin1").trim(), "AAEC/w0KLg==");
      } finally {
        await imap.logout();
      }
    });

    test("imapflow over imaps: append, flags, search, copy, move, delete, mailbox create/rename/delete", async () => {
      const imap = client("imaps");
      await imap.connect();
      try {
        assert.equal(imap.secureConnection, true);
        const created = await imap.mailboxCreate("Projects");
        assert.equal(created.created, true);
        const raw = Buffer.from(
          "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: appended\r\n" +
            "Message-ID: <appended@example.org>\r\n\r\nAppended body\r\n",
        );
        const appended = await imap.append("Projects", raw, ["\\Seen"]);
        assert.ok(appended && typeof appended.uid === "number", "APPENDUID gives the new UID");
        assert.ok((await storedBytes("Projects", appended.uid)).equals(raw));

        await imap.mailboxOpen("INBOX");
        const [first, second] = await listing();
        assert.ok(first && second);
        assert.equal(
          await imap.messageFlagsAdd(String(first.uid), ["\\Flagged", "$Work"], { uid: true }),
          true,
        );
        const added = await imap.fetchOne(String(first.uid), { flags: true }, { uid: true });
        assert.ok(added);
        assert.deepEqual([...(added.flags ?? [])].sort(), ["$Work", "\\Flagged"]);
        await imap.messageFlagsRemove(String(first.uid), ["$Work"], { uid: true });
        assert.deepEqual((await listing())[0]?.flags, ["\\Flagged"], "the store holds the flag change");

        assert.deepEqual(await imap.search({ flagged: true }, { uid: true }), [first.uid]);
        assert.deepEqual(await imap.search({ subject: "second" }, { uid: true }), [second.uid]);
        assert.deepEqual(await imap.search({ body: "nothing like this" }, { uid: true }), []);

        const copied = await imap.messageCopy(String(first.uid), "Projects", { uid: true });
        assert.ok(copied && copied.uidMap instanceof Map);
        const copyUid = copied.uidMap.get(first.uid);
        assert.ok(copyUid !== undefined, "COPYUID maps the source UID");
        assert.ok((await storedBytes("Projects", copyUid)).equals(await storedBytes("INBOX", first.uid)));

        const moved = await imap.messageMove(String(second.uid), "Archive", { uid: true });
        assert.ok(moved && moved.uidMap instanceof Map);
        assert.equal(await messageCount(imap, "Archive"), 1);
        assert.deepEqual(await imap.search({ all: true }, { uid: true }), [first.uid]);

        await imap.mailboxOpen("Projects");
        assert.equal(await imap.messageDelete(String(appended.uid), { uid: true }), true);
        assert.deepEqual(await imap.search({ all: true }, { uid: true }), [copyUid]);
        await imap.mailboxClose();

        const renamed = await imap.mailboxRename("Projects", "Work/2026");
        assert.equal(renamed.newPath, "Work/2026");
        assert.equal(await messageCount(imap, "Work/2026"), 1);
        let names = (await imap.list()).map((entry) => entry.path);
        assert.ok(names.includes("Work/2026") && !names.includes("Projects"));
        await imap.mailboxDelete("Work/2026");
        names = (await imap.list()).map((entry) => entry.path);
        assert.ok(!names.includes("Work/2026"));
      } finally {
        await imap.logout();
      }
    });

    test("SMTP in while imapflow idles: 'exists' fires and BODY[] is byte-identical", async () => {
      const imap = client("starttls");
      await imap.connect();
      try {
        const opened = await imap.mailboxOpen("INBOX");
        const before = opened.exists;
        const exists = new Promise<{ count: number; prevCount: number }>((resolve) =>
          imap.once("exists", (event: { count: number; prevCount: number }) => resolve(event)),
        );
        const idling = imap.idle();
        await send("while idle");
        const event = await exists;
        assert.equal(event.prevCount, before);
        assert.equal(event.count, before + 1);
        // imapflow ends IDLE (DONE) by itself when the next command is issued.
        const message = await imap.fetchOne(String(event.count), { uid: true, source: true });
        await idling;
        assert.ok(message, "FETCH answered");
        assert.ok(message.source);
        const stored = await listing();
        assert.equal(stored.at(-1)?.subject, "while idle");
        assert.equal(message.uid, stored.at(-1)?.uid);
        assert.ok(message.source.equals(await storedBytes("INBOX", message.uid)));
      } finally {
        await imap.logout();
      }
    });

    test("imapflow CONDSTORE/QRESYNC: modseq per message and changedSince", async () => {
      const imap = client("imaps", { qresync: true });
      await imap.connect();
      try {
        assert.ok(imap.enabled.has("QRESYNC"), "ENABLE QRESYNC was accepted");
        const opened = await imap.mailboxOpen("INBOX");
        assert.ok(typeof opened.highestModseq === "bigint");
        const startModseq = opened.highestModseq as bigint;
        const [first] = await listing();
        assert.ok(first);
        await imap.messageFlagsAdd(String(first.uid), ["$Changed"], { uid: true });
        const changed = [];
        for await (const message of imap.fetch(
          "1:*",
          { uid: true, flags: true },
          { changedSince: startModseq },
        )) {
          changed.push(message);
        }
        assert.deepEqual(
          changed.map((m) => m.uid),
          [first.uid],
        );
        assert.ok(changed[0]?.flags?.has("$Changed"));
        assert.ok((changed[0]?.modseq ?? 0n) > startModseq);

        // RFC 7162 §3.2.10: with QRESYNC enabled, expunges are reported as VANISHED, not EXPUNGE.
        const appended = await imap.append("INBOX", Buffer.from("Subject: short-lived\r\n\r\nbye\r\n"));
        assert.ok(appended);
        const expunged = new Promise<{ uid?: number; vanished: boolean }>((resolve) =>
          imap.once("expunge", resolve),
        );
        await imap.messageDelete(String(appended.uid), { uid: true });
        const event = await expunged;
        assert.equal(event.vanished, true);
        assert.equal(event.uid, appended.uid);
      } finally {
        await imap.logout();
      }
    });
  });
}
