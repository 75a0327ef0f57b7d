// `mailroom import` and `mailroom export` end to end on both store backends: a user's mail exported as
// a Maildir and as mbox comes back into a fresh store with the same bytes, flags, keywords, dates and
// mailboxes; a second import adds nothing; bad input stops with a clear message and imports nothing.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { runCli } from "./helpers.js";

const ADDRESS = "alice@example.org";

/** What the source store holds: mailbox, bytes, flags, internal date. */
const fixtures: Array<{ mailbox: string; bytes: Buffer; flags: string[]; date: Date }> = [
  {
    mailbox: "INBOX",
    bytes: Buffer.from(
      "Return-Path: <bob@remote.test>\r\nMessage-ID: <1@remote.test>\r\nDate: Tue, 01 Jul 2025 10:00:00 +0000\r\nSubject: one\r\n\r\nFrom the start\r\n>From quoted\r\n\r\n",
    ),
    flags: ["\\Seen", "\\Answered", "$Forwarded", "project-x"],
    date: new Date("2025-07-01T10:00:05Z"),
  },
  {
    mailbox: "INBOX",
    // Every byte value: bare CR and LF, NUL, 8-bit. Kept byte for byte by both formats.
    bytes: Buffer.concat([
      Buffer.from("Message-ID: <2@remote.test>\r\nSubject: binary\r\n\r\n"),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from("\r\n"),
    ]),
    flags: ["\\Flagged", "\\Draft", "\\Deleted"],
    date: new Date("2025-07-02T11:30:00Z"),
  },
  {
    mailbox: "Work/2024",
    bytes: Buffer.from("Subject: no message-id\r\n\r\nplain\r\n"),
    flags: ["$Label1"],
    date: new Date("2024-01-15T08:00:00Z"),
  },
  {
    mailbox: "Work/2024",
    bytes: Buffer.from("Subject: another without id\r\n\r\nplain too\r\n"),
    flags: [],
    date: new Date("2024-01-16T08:00:00Z"),
  },
];

interface Backend {
  /** The environment of a fresh, initialized store. */
  fresh(): Promise<NodeJS.ProcessEnv>;
  open(env: NodeJS.ProcessEnv): Promise<Store>;
}

const cleanups: Array<() => Promise<void>> = [];

const sqlite: Backend = {
  async fresh() {
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-mailio-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = { MAILROOM_DATA_DIR: dataDir };
    const init = await runCli(["init"], { env });
    assert.equal(init.code, 0, init.stderr);
    return env;
  },
  open: (env) =>
    openStore({ store: "sqlite", dataDir: env.MAILROOM_DATA_DIR ?? "", logger: pino({ level: "silent" }) }),
};

const firstPostgres = await startTestPostgres();
const postgres: Backend = {
  async fresh() {
    const database =
      cleanups.length === 0 && firstPostgres ? firstPostgres : ((await startTestPostgres()) as TestPostgres);
    cleanups.push(() => database.stop());
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-mailio-pg-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = { MAILROOM_DATA_DIR: dataDir, MAILROOM_STORE: database.url };
    const init = await runCli(["init"], { env });
    assert.equal(init.code, 0, init.stderr);
    return env;
  },
  open: (env) =>
    openStore({
      store: env.MAILROOM_STORE ?? "",
      dataDir: env.MAILROOM_DATA_DIR ?? "",
      logger: pino({ level: "silent" }),
    }),
};

async function withStore<T>(
  backend: Backend,
  env: NodeJS.ProcessEnv,
  action: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await backend.open(env);
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

async function addAlice(store: Store): Promise<number> {
  if (!(await store.directory.getDomain("example.org"))) await store.directory.addDomain("example.org");
  const user = await store.directory.addUser(ADDRESS, { passwordHash: "x", scramSha256: "x" });
  return user.id;
}

/** Every message of the user as [mailbox, bytes (hex), sorted flags, internal date in seconds]. */
async function contents(store: Store): Promise<string[][]> {
  const user = await store.directory.getUser(ADDRESS);
  assert.ok(user);
  const rows: string[][] = [];
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
  return rows.sort((a, b) => (a.join() < b.join() ? -1 : 1));
}

const expected = fixtures
  .map((f) => [
    f.mailbox,
    f.bytes.toString("hex"),
    [...f.flags].sort().join(" "),
    String(f.date.getTime() / 1000),
  ])
  .sort((a, b) => (a.join() < b.join() ? -1 : 1));

for (const [name, backend] of [
  ["sqlite", sqlite],
  ["postgres", postgres],
] as const) {
  describe(`import and export on ${name}`, {
    skip: name === "postgres" && !firstPostgres ? POSTGRES_SKIP_REASON : false,
  }, () => {
    let source: NodeJS.ProcessEnv;
    let work: string;
    before(async () => {
      source = await backend.fresh();
      work = await mkdtemp(join(tmpdir(), "mailroom-mailio-files-"));
      cleanups.push(() => rm(work, { recursive: true, force: true }));
      await withStore(backend, source, async (store) => {
        const userId = await addAlice(store);
        await store.mailboxes.createMailbox(userId, "Work/2024");
        for (const fixture of fixtures) {
          const mailbox = await store.mailboxes.getMailbox(userId, fixture.mailbox);
          assert.ok(mailbox);
          const writer = await store.blobs.createBlobWriter();
          await writer.write(fixture.bytes);
          await store.messages.append(mailbox.id, await writer.finish(), fixture.flags, fixture.date);
        }
      });
    });

    for (const format of ["maildir", "mbox"] as const) {
      test(`${format}: export, import into a fresh store, same messages; again: nothing added`, async () => {
        const out = join(work, format);
        const exported = await runCli(["export", "--user", ADDRESS, "--format", format, out], {
          env: source,
        });
        assert.equal(exported.code, 0, exported.stderr);
        assert.match(exported.stdout.toString(), /exported 4 messages/);
        if (format === "maildir") {
          assert.deepEqual((await readdir(join(out, ".Work.2024", "cur"))).length, 2);
          assert.equal(await readFile(join(out, "dovecot-keywords"), "utf8"), "0 project-x\n");
        } else {
          assert.ok(
            (await readFile(join(out, "INBOX"), "latin1")).includes("\n>From the start\n>>From quoted\n"),
          );
          assert.deepEqual(await readdir(join(out, "Work.sbd")), ["2024"]);
        }
        const target = await backend.fresh();
        await withStore(backend, target, addAlice);
        const args = ["import", "--user", ADDRESS, ...(format === "mbox" ? ["--format", "mbox"] : []), out];
        const first = await runCli(args, { env: target });
        assert.equal(first.code, 0, `${first.stdout}${first.stderr}`);
        assert.match(first.stdout.toString(), /imported 4 messages .* 0 already there/);
        assert.deepEqual(await withStore(backend, target, contents), expected);
        const again = await runCli(args, { env: target });
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout.toString(), /imported 0 messages .* 4 already there/);
        assert.deepEqual(await withStore(backend, target, contents), expected);
      });
    }

    test("errors: a missing path, a directory that is no Maildir, a file that is no mbox; nothing imported", async () => {
      const target = await backend.fresh();
      await withStore(backend, target, addAlice);
      const missing = await runCli(["import", "--user", ADDRESS, join(work, "nowhere")], { env: target });
      assert.equal(missing.code, 66);
      assert.match(missing.stderr, /does not exist/);
      const plain = join(work, "plain");
      await mkdir(plain);
      await writeFile(join(plain, "notes.txt"), "hello\n");
      const notMaildir = await runCli(["import", "--user", ADDRESS, plain], { env: target });
      assert.equal(notMaildir.code, 65);
      assert.match(notMaildir.stderr, /is not a Maildir: it has neither cur\/ nor new\/.*--format mbox/);
      const corrupt = join(work, "corrupt.mbox");
      await writeFile(
        corrupt,
        "Subject: no From_ line\n\nbody\nFrom a Thu Jan  1 00:00:00 1970\nSubject: x\n\n",
      );
      const notMbox = await runCli(["import", "--user", ADDRESS, corrupt], { env: target });
      assert.equal(notMbox.code, 65);
      assert.match(notMbox.stderr, /line 1 is not a "From " line, so this is not an mbox file/);
      const unknown = await runCli(["import", "--user", "nobody@example.org", corrupt], { env: target });
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /nobody@example\.org/);
      const taken = await runCli(["export", "--user", ADDRESS, plain], { env: target });
      assert.equal(taken.code, 73);
      assert.match(taken.stderr, /is not empty/);
      assert.deepEqual(await withStore(backend, target, contents), []);
    });

    test("an mbox with a message over the size limit imports the rest and lists the skipped one (exit 65)", async () => {
      const target = await backend.fresh();
      await withStore(backend, target, addAlice);
      const file = join(work, "big.mbox");
      const big = "x".repeat(2048);
      await writeFile(
        file,
        `From a@b Thu Jan  1 00:00:00 2004\nSubject: small\nStatus: RO\n\nhi\n\nFrom a@b Thu Jan  1 00:00:00 2004\nSubject: big\n\n${big}\n\nFrom a@b no date here\nSubject: undated\nDate: Mon, 5 Jan 2004 10:00:00 +0000\n\nok\n`,
      );
      const run = await runCli(["import", "--user", ADDRESS, "--mailbox", "Old", file], {
        env: { ...target, MAILROOM_SMTP_MAX_MESSAGE_SIZE: "1024" },
      });
      assert.equal(run.code, 65, run.stderr);
      const text = run.stdout.toString();
      assert.match(text, /imported 2 messages/);
      assert.match(text, /created mailboxes: Old/);
      assert.match(
        text,
        /skipped \(1\):\n {2}.*big\.mbox, line 7: .* more than smtp\.max_message_size \(1024\)/,
      );
      assert.match(text, /line 12: the From_ line has no date I can read .* used 2004-01-05T10:00:00\.000Z/);
      const rows = await withStore(backend, target, contents);
      assert.deepEqual(
        rows.map((row) => [row[0], Buffer.from(row[1] ?? "", "hex").toString(), row[2]]),
        [
          ["Old", "Subject: small\r\n\r\nhi\r\n", "\\Seen"],
          ["Old", "Subject: undated\r\nDate: Mon, 5 Jan 2004 10:00:00 +0000\r\n\r\nok\r\n", ""],
        ],
      );
    });

    test("--all: a directory per user; an unknown user's directory is listed as skipped", async () => {
      const all = join(work, "all");
      const exported = await runCli(["export", "--all", all], { env: source });
      assert.equal(exported.code, 0, exported.stderr);
      assert.deepEqual(await readdir(all), [ADDRESS]);
      await mkdir(join(all, "example.org", "carol", "cur"), { recursive: true });
      const target = await backend.fresh();
      await withStore(backend, target, addAlice);
      const run = await runCli(["import", "--all", all], { env: target });
      assert.equal(run.code, 65, run.stderr);
      assert.match(run.stdout.toString(), /imported 4 messages .* for 1 user /);
      assert.match(
        run.stdout.toString(),
        /there is no user carol@example\.org; add it with 'mailroom user add'/,
      );
      assert.deepEqual(await withStore(backend, target, contents), expected);
    });
  });
}

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
