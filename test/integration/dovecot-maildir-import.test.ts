// `mailroom import` of Maildirs that Dovecot itself wrote, and `--from imap://` of its mailboxes, in both of its layouts (Maildir++ and
// LAYOUT=fs): a real Dovecot is given the messages over IMAP (APPEND with flags, keywords and dates,
// a nested folder, a STORE), and what mailroom imports from its files must be what Dovecot's IMAP
// said it held — the same bytes, flags, keywords, internal dates and folder names — and its own
// index files (dovecot-uidlist, dovecot.index*) must be ignored, not imported as mail.

import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import { pino } from "pino";
import { type DovecotInstance, startDovecot } from "../../bench/imap/dovecot.js";
import { openStore } from "../../src/store/open.js";
import { runCli } from "../cli/helpers.js";
import { clients, needs } from "../support/clients.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "dovecot-import-pw";

const messages = [
  {
    folder: ["INBOX"],
    bytes:
      "Message-ID: <1@remote.test>\r\nSubject: one\r\nFrom: Bob <bob@remote.test>\r\n\r\nFrom the start\r\n",
    flags: ["\\Seen", "\\Answered", "$Forwarded", "project-x"],
    date: new Date("2025-07-01T10:00:05Z"),
  },
  {
    folder: ["INBOX"],
    bytes: "Message-ID: <2@remote.test>\r\nSubject: two\r\n\r\n8-bit \xe9t\xe9 and a bare\rCR\r\n",
    flags: ["\\Flagged", "\\Draft"],
    date: new Date("2025-07-02T11:30:00Z"),
  },
  {
    folder: ["Work", "2024"],
    bytes: "Subject: no message-id\r\n\r\nplain\r\n",
    flags: ["$Label1"],
    date: new Date("2024-01-15T08:00:00Z"),
  },
];

/** [folder, bytes as hex, sorted flags, internal date in seconds], sorted: one row per message. */
type Row = [string, string, string, string];
const sortRows = (rows: Row[]) => rows.sort((a, b) => (a.join() < b.join() ? -1 : 1));

/** Gives Dovecot the messages over IMAP; answers what Dovecot's IMAP then reports it holds. */
async function fillDovecot(dovecot: DovecotInstance): Promise<Row[]> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.port,
    secure: false,
    auth: { user: ADDRESS, pass: PASSWORD },
    logger: false,
  });
  await client.connect();
  try {
    const inbox = (await client.list()).find((box) => box.path === "INBOX");
    const separator = inbox?.delimiter ?? ".";
    await client.mailboxCreate(["Work", "2024"].join(separator));
    for (const message of messages) {
      const path = message.folder.join(separator);
      // Dovecot keeps what APPEND gives; the STORE after it is a second way a keyword gets into the files.
      const [first, ...rest] = message.flags;
      await client.append(path, Buffer.from(message.bytes, "latin1"), first ? [first] : [], message.date);
      if (rest.length > 0) {
        await client.mailboxOpen(path);
        await client.messageFlagsAdd("*", rest);
        await client.mailboxClose();
      }
    }
    const rows: Row[] = [];
    for (const folder of [["INBOX"], ["Work", "2024"]]) {
      await client.mailboxOpen(folder.join(separator));
      for await (const message of client.fetch("1:*", { flags: true, internalDate: true, source: true })) {
        rows.push([
          folder.join("/"),
          (message.source as Buffer).toString("hex"),
          // \Recent is this session's, not the message's (RFC 3501 §2.3.2): no file holds it.
          [...(message.flags ?? [])]
            .filter((flag) => flag !== "\\Recent")
            .sort()
            .join(" "),
          String(Math.floor(new Date(message.internalDate as Date).getTime() / 1000)),
        ]);
      }
      await client.mailboxClose();
    }
    return sortRows(rows);
  } finally {
    await client.logout();
  }
}

/** The same rows read back from a mailroom store. */
async function mailroomRows(dataDir: string): Promise<Row[]> {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
  try {
    const user = await store.directory.getUser(ADDRESS);
    assert.ok(user);
    const rows: Row[] = [];
    for (const mailbox of await store.mailboxes.listMailboxes(user.id)) {
      for (const message of await store.messages.listMessages(mailbox.id)) {
        rows.push([
          mailbox.name,
          (await store.blobs.readBlobBytes(message.messageId)).toString("hex"),
          [...message.flags].sort().join(" "),
          String(Math.floor(message.internalDate.getTime() / 1000)),
        ]);
      }
    }
    return sortRows(rows);
  } finally {
    await store.close();
  }
}

const skip = needs(clients.dovecot);
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A fresh SQLite data dir with alice in it, and the environment that points the CLI there. */
async function freshMailroom(work: string): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const dataDir = join(work, "data");
  const env = { MAILROOM_DATA_DIR: dataDir };
  assert.equal((await runCli(["init"], { env })).code, 0);
  assert.equal((await runCli(["domain", "add", "example.org"], { env })).code, 0);
  const added = await runCli(["user", "add", ADDRESS, "--password-stdin"], { env, stdin: `${PASSWORD}\n` });
  assert.equal(added.code, 0, added.stderr);
  return { dataDir, env };
}

describe("mailroom import of a Maildir Dovecot wrote", { skip }, () => {
  for (const [layout, mailLocation] of [
    ["Maildir++", "maildir:~/Maildir"],
    ["LAYOUT=fs", "maildir:~/Maildir:LAYOUT=fs"],
  ] as const) {
    test(`${layout}: the same bytes, flags, keywords, dates and folders as Dovecot's IMAP shows`, async () => {
      const work = await mkdtemp(join(tmpdir(), "mailroom-dovecot-import-"));
      cleanups.push(() => rm(work, { recursive: true, force: true }));
      const dovecot = await startDovecot({ user: ADDRESS, password: PASSWORD, messages: [], mailLocation });
      let seen: Row[];
      try {
        seen = await fillDovecot(dovecot);
        await cp(join(dovecot.home, "Maildir"), join(work, "Maildir"), {
          recursive: true,
          preserveTimestamps: true,
        });
      } finally {
        await dovecot.stop();
      }
      assert.equal(seen.length, messages.length, "Dovecot holds every message");
      const files = await readdir(join(work, "Maildir"));
      assert.ok(
        files.some((name) => name.startsWith("dovecot")),
        `Dovecot wrote its own files beside the mail: ${files.join(", ")}`,
      );

      const { dataDir, env } = await freshMailroom(work);
      const imported = await runCli(["import", "--user", ADDRESS, join(work, "Maildir")], { env });
      assert.equal(imported.code, 0, `${imported.stdout}${imported.stderr}`);
      assert.match(imported.stdout.toString(), /imported 3 messages .* 0 already there/);
      assert.deepEqual(await mailroomRows(dataDir), seen);
    });
  }

  test("--from imap://: Dovecot's mailboxes over IMAP, the same as its IMAP shows; again: nothing added", async () => {
    const work = await mkdtemp(join(tmpdir(), "mailroom-imap-import-"));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const dovecot = await startDovecot({ user: ADDRESS, password: PASSWORD, messages: [] });
    try {
      const seen = await fillDovecot(dovecot);
      const { dataDir, env } = await freshMailroom(work);
      const passwordFile = join(work, "password");
      await writeFile(passwordFile, `${PASSWORD}\n`);
      // The user holds an "@": written as is, the last "@" ends it.
      const from = `imap://${ADDRESS}@${dovecot.host}:${dovecot.port}`;
      const args = ["import", "--user", ADDRESS, "--from", from, "--password-file", passwordFile];
      const first = await runCli(args, { env });
      assert.equal(first.code, 0, `${first.stdout}${first.stderr}`);
      assert.match(first.stdout.toString(), /imported 3 messages .* 0 already there/);
      assert.deepEqual(await mailroomRows(dataDir), seen);
      const again = await runCli(args, { env });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout.toString(), /imported 0 messages .* 3 already there/);

      const wrong = join(work, "wrong");
      await writeFile(wrong, "not-the-password\n");
      const refused = await runCli(["import", "--user", ADDRESS, "--from", from, "--password-file", wrong], {
        env,
      });
      assert.equal(refused.code, 69);
      assert.match(
        refused.stderr,
        /refused the login of alice@example\.org: check the user name and password/,
      );
      const nobody = await runCli(
        ["import", "--user", ADDRESS, "--from", "imap://a@127.0.0.1:1", "--password-file", wrong],
        { env },
      );
      assert.equal(nobody.code, 69);
      assert.match(nobody.stderr, /could not connect to imap:\/\/a@127\.0\.0\.1:1 \(ECONNREFUSED\)/);
      const bad = await runCli(["import", "--user", ADDRESS, "--from", "ftp://x"], { env });
      assert.equal(bad.code, 64);
      assert.match(bad.stderr, /is not an IMAP address/);
      assert.deepEqual(await mailroomRows(dataDir), seen, "nothing changed by the failed runs");
    } finally {
      await dovecot.stop();
    }
  });
});
