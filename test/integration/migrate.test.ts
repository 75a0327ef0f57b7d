// `mailroom migrate` end to end: a SQLite installation that keeps serving while it is copied into
// PostgreSQL, a delta run after it stops, and a server on PostgreSQL that shows the same mailboxes,
// UIDs, bytes, flags, passwords, queue and DKIM key. Needs PostgreSQL (see test/support/postgres.ts).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FetchMessageObject, ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { runCli, startTestServer, type TestServer } from "../support/server.js";

const URL_KEY = Buffer.alloc(32, 7);

const silent = pino({ level: "silent" });
const passwords: Record<string, string> = {
  "alice@example.org": "alice secret",
  "bob@example.org": "bob secret",
};

const probe = await startTestPostgres();
await probe?.stop();

async function send(server: TestServer, to: string[], subject: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: server.ports.smtp,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      from: "carol@example.org",
      to,
      subject,
      text: `${subject}\n.a line with a dot\nGrüße\n`,
    });
  } finally {
    transport.close();
  }
}

async function imap(port: number, user: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: "127.0.0.1",
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: passwords[user] ?? "" },
    logger: false,
  });
  await client.connect();
  return client;
}

describe("mailroom migrate: SQLite → PostgreSQL", {
  skip: probe === null ? POSTGRES_SKIP_REASON : false,
}, () => {
  let dns: TestDns;
  let source: TestServer;
  let pg: TestPostgres;
  let first: { code: number | null; stdout: string; stderr: string };
  let second: { code: number | null; stdout: string; stderr: string };
  let relayEnv: NodeJS.ProcessEnv;
  let bobDisabledAfterFirst: boolean | undefined;
  const vacation = {
    isEnabled: true,
    fromDate: new Date("2026-12-01T00:00:00.000Z"),
    toDate: null,
    subject: "Away",
    textBody: "Back soon.",
    htmlBody: null,
  };
  const sieveSource = 'require "fileinto";\nif header :contains "list-id" "dev" { fileinto "Lists"; }\n';

  before(async () => {
    // SERVFAIL for the remote domain: a temporary failure, so its entry stays in the queue.
    dns = await startTestDns({ "remote.test": { servfail: true } });
    relayEnv = { MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`, MAILROOM_RELAY_RETRY_SCHEDULE: "1h" };
    pg = (await startTestPostgres()) as TestPostgres;
    source = await startTestServer({ env: relayEnv });
    const ok = async (args: string[], input?: string) => {
      const result = await source.cli(args, input);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    };
    await ok(["domain", "add", "example.org"]);
    for (const [user, password] of Object.entries(passwords)) {
      await ok(["user", "add", user, "--password-stdin"], `${password}\n`);
    }
    await ok(["alias", "add", "team@example.org", "alice@example.org"]);
    await ok(["user", "quota", "alice@example.org", "1GiB"]);
    // Disabled for the first run (copied with the new user), enabled before the second (an update).
    await ok(["user", "disable", "bob@example.org"]);
    // A local alias with a remote destination: its mail is queued without relay permission.
    await ok(["alias", "add", "away@example.org", "dave@remote.test"]);
    await send(source, ["alice@example.org", "bob@example.org"], "to both");
    await send(source, ["alice@example.org"], "to be expunged");
    await send(source, ["team@example.org"], "through the alias");
    await send(source, ["away@example.org"], "stays queued");

    const alice = await imap(source.ports.imap, "alice@example.org");
    try {
      await alice.mailboxOpen("INBOX");
      await alice.messageFlagsAdd("1", ["\\Flagged", "$Important"], { uid: true });
      await alice.messageDelete("2", { uid: true });
      // New mailboxes start subscribed, and deleting one keeps the subscription (RFC 9051 §6.3.9).
      await alice.mailboxCreate("Old Projects");
      await alice.mailboxDelete("Old Projects");
    } finally {
      await alice.logout();
    }

    first = await runCli(["migrate", "--from", `sqlite:${source.dataDir}`, "--to", pg.url], source.env);
    await send(source, ["bob@example.org"], "the last one");
    assert.equal(await source.stop(), 0);
    // JMAP identities and submissions made in the source since the first run: the second carries them.
    const sourceStore = await openSqliteStore({ dataDir: source.dataDir, logger: silent });
    try {
      const alice = await sourceStore.directory.getUser("alice@example.org");
      assert.ok(alice);
      const bob = await sourceStore.directory.getUser("bob@example.org");
      assert.ok(bob);
      await sourceStore.vacation.setVacation(bob.id, vacation);
      await sourceStore.identities.create(alice.id, {
        name: "Alice at work",
        email: "team@example.org",
        replyTo: null,
        bcc: null,
        textSignature: "-- Alice",
        htmlSignature: "",
      });
      await sourceStore.submissions.create(alice.id, {
        identityId: "S1",
        emailId: "E1",
        threadId: "T1",
        envelope: {
          mailFrom: { email: "alice@example.org", parameters: null },
          rcptTo: [{ email: "bob@example.org", parameters: null }],
        },
        sendAt: new Date("2026-03-01T10:00:00Z"),
        messageId: "m-sent",
        deliveryStatus: {
          "bob@example.org": { smtpReply: "250 2.0.0 delivered", delivered: "yes", displayed: "unknown" },
        },
      });
      await sourceStore.sieveScripts.putScript(bob.id, "old", "keep;");
      await sourceStore.sieveScripts.putScript(bob.id, "lists", sieveSource);
      await sourceStore.sieveScripts.activateScript(bob.id, "lists");
      await sourceStore.directory.setDisabled(bob.address, false);
      const bobInbox = await sourceStore.mailboxes.getMailbox(bob.id, "INBOX");
      assert.ok(bobInbox);
      await sourceStore.metadata.setMetadata(
        bob.id,
        bobInbox.id,
        [{ entry: "/private/comment", value: Buffer.from("bob's inbox") }],
        10,
      );
      await sourceStore.metadata.setMetadata(
        bob.id,
        null,
        [{ entry: "/private/vendor/x", value: Buffer.from([0, 1]) }],
        10,
      );
      await sourceStore.urlAuthKeys.accessKey(bob.id, bobInbox.id, URL_KEY);
    } finally {
      await sourceStore.close();
    }
    // A name only the target has subscribed: the next run must take it away.
    const target = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const alice = await target.directory.getUser("alice@example.org");
      assert.ok(alice);
      await target.mailboxes.setSubscribed(alice.id, "Stray", true);
      bobDisabledAfterFirst = (await target.directory.getUser("bob@example.org"))?.disabled;
    } finally {
      await target.close();
    }
    second = await runCli(["migrate", "--from", source.dataDir], { ...source.env, MAILROOM_STORE: pg.url });
  });

  after(async () => {
    await source?.cleanup();
    await pg?.stop();
    await dns?.close();
  });

  test("the first run, while serve runs, copies everything and shows progress", () => {
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /messages 3\/3 \(100%\) \d/);
    assert.match(first.stdout, /users\s+2 added/);
    assert.equal(bobDisabledAfterFirst, true, "the disabled flag is copied with a new user");
    assert.match(first.stdout, /aliases\s+2 added/);
    assert.match(first.stdout, /messages\s+3 new, 0 updated/);
    assert.match(first.stdout, /queue\s+1 added/);
    assert.match(first.stdout, /subscriptions\s+[1-9]\d* added, 0 removed/);
    assert.match(first.stdout, /dkim keys\s+1 copied/);
    // "to both" is stored once though two mailboxes hold it; plus the alias message and the queued one.
    assert.match(first.stdout, /bodies\s+3 copied/);
  });

  test("the second run, after serve stopped, copies only the delta", () => {
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /messages\s+1 new, 0 updated, 3 unchanged, 0 expunged/);
    // bob enabled again in the source: the flag is an update (the later logins on the target need it).
    assert.match(second.stdout, /users\s+0 added, 1 updated, 1 unchanged/);
    assert.match(second.stdout, /bodies\s+1 copied/);
    assert.match(second.stdout, /subscriptions\s+0 added, 1 removed, [1-9]\d* unchanged/);
    assert.match(second.stdout, /queue\s+0 added, [01] updated, [01] unchanged, 0 removed/);
    assert.match(second.stdout, /identities\s+1 added, 0 unchanged/);
    assert.match(second.stdout, /submissions\s+1 added, 0 unchanged/);
  });

  test("a dry run after both runs finds nothing to copy and writes nothing", async () => {
    const dry = await runCli(["migrate", "--from", source.dataDir, "--to", pg.url, "--dry-run"], source.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: nothing was copied/);
    assert.match(dry.stdout, /messages\s+0 new, 0 updated, 4 unchanged, 0 expunged/);
    assert.match(dry.stdout, /bodies\s+0 copied/);
    assert.match(dry.stdout, /sieve\s+0 copied, 0 removed, 2 unchanged/);
    assert.match(dry.stdout, /subscriptions\s+0 added, 0 removed/);
    assert.match(dry.stdout, /identities\s+0 added, 1 unchanged/);
    assert.match(dry.stdout, /submissions\s+0 added, 1 unchanged/);
  });

  test("subscriptions are copied, names whose mailbox is gone included", async () => {
    const old = await openSqliteStore({ dataDir: source.dataDir, logger: silent });
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      for (const address of Object.keys(passwords)) {
        const sourceUser = await old.directory.getUser(address);
        const targetUser = await pgStore.directory.getUser(address);
        assert.ok(sourceUser && targetUser);
        assert.deepEqual(
          await pgStore.mailboxes.listSubscriptions(targetUser.id),
          await old.mailboxes.listSubscriptions(sourceUser.id),
          address,
        );
      }
      const alice = await pgStore.directory.getUser("alice@example.org");
      assert.ok(alice);
      const subscribed = await pgStore.mailboxes.listSubscriptions(alice.id);
      assert.ok(subscribed.includes("Old Projects"), `subscriptions: ${subscribed.join(", ")}`);
      assert.ok(!subscribed.includes("Stray"), "the target-only subscription was removed");
      assert.equal(await pgStore.mailboxes.getMailbox(alice.id, "Old Projects"), null);
    } finally {
      await pgStore.close();
      await old.close();
    }
  });

  test("the storage limit is copied, and left alone when unchanged", async () => {
    assert.match(first.stdout, /quotas\s+\d+ copied/);
    assert.match(second.stdout, /quotas\s+0 copied, \d+ unchanged/);
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const alice = await pgStore.directory.getUser("alice@example.org");
      assert.ok(alice);
      assert.equal((await pgStore.quotas.getQuota(alice.id)).limit, 1024 ** 3);
    } finally {
      await pgStore.close();
    }
  });

  test("the vacation setting is copied", async () => {
    assert.match(first.stdout, /vacation\s+0 copied/);
    assert.match(second.stdout, /vacation\s+1 copied/);
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const bob = await pgStore.directory.getUser("bob@example.org");
      assert.ok(bob);
      assert.deepEqual(await pgStore.vacation.getVacation(bob.id), vacation);
    } finally {
      await pgStore.close();
    }
  });

  test("Sieve scripts are copied with the active mark", async () => {
    assert.match(first.stdout, /sieve\s+0 copied, 0 removed/);
    assert.match(second.stdout, /sieve\s+2 copied, 0 removed, 0 unchanged/);
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const bob = await pgStore.directory.getUser("bob@example.org");
      assert.ok(bob);
      assert.deepEqual(await pgStore.sieveScripts.listScripts(bob.id), [
        { name: "lists", source: sieveSource, active: true },
        { name: "old", source: "keep;", active: false },
      ]);
    } finally {
      await pgStore.close();
    }
  });

  test("URLAUTH access keys are copied, so URLs signed before the move still resolve", async () => {
    assert.match(second.stdout, /url keys\s+1 copied, 0 removed, 0 unchanged/);
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const bob = await pgStore.directory.getUser("bob@example.org");
      const inbox = bob && (await pgStore.mailboxes.getMailbox(bob.id, "INBOX"));
      assert.ok(bob && inbox);
      assert.deepEqual(await pgStore.urlAuthKeys.accessKey(bob.id, inbox.id, null), URL_KEY);
    } finally {
      await pgStore.close();
    }
  });

  test("IMAP METADATA entries are copied, on the mailbox and on the server", async () => {
    assert.match(second.stdout, /metadata\s+2 copied, 0 removed, 0 unchanged/);
    const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
    try {
      const bob = await pgStore.directory.getUser("bob@example.org");
      assert.ok(bob);
      const inbox = await pgStore.mailboxes.getMailbox(bob.id, "INBOX");
      assert.ok(inbox);
      const entries = await pgStore.metadata.getMetadata(bob.id, inbox.id, ["/private"], "infinity");
      assert.deepEqual(
        entries.map((each) => [each.entry, each.value.toString()]),
        [["/private/comment", "bob's inbox"]],
      );
      const server = await pgStore.metadata.getMetadata(bob.id, null, ["/private"], "infinity");
      assert.deepEqual(
        server.map((each) => [each.entry, [...each.value]]),
        [["/private/vendor/x", [0, 1]]],
      );
    } finally {
      await pgStore.close();
    }
  });

  test("a server on PostgreSQL shows the same mailboxes, bytes, flags, passwords, queue and DKIM key", async () => {
    const old: Store = await openSqliteStore({ dataDir: source.dataDir, logger: silent });
    const target = await startTestServer({ store: pg.url, env: relayEnv });
    try {
      for (const address of Object.keys(passwords)) {
        const user = await old.directory.getUser(address);
        assert.ok(user);
        const inbox = await old.mailboxes.getMailbox(user.id, "INBOX");
        assert.ok(inbox);
        const messages = await old.messages.listMessages(inbox.id);
        assert.ok(messages.length >= 2);
        const client = await imap(target.ports.imap, address);
        try {
          const selected = await client.mailboxOpen("INBOX", { readOnly: true });
          assert.equal(Number(selected.uidValidity), inbox.uidValidity);
          assert.equal(selected.uidNext, inbox.uidNext);
          const seen: FetchMessageObject[] = [];
          for await (const message of client.fetch(
            "1:*",
            { uid: true, flags: true, source: true },
            { uid: true },
          )) {
            seen.push(message);
          }
          assert.deepEqual(
            seen.map((message) => message.uid),
            messages.map((message) => message.uid),
          );
          for (const [index, message] of messages.entries()) {
            const fetched = seen[index];
            assert.ok(fetched?.source);
            assert.ok(
              fetched.source.equals(await old.blobs.readBlobBytes(message.messageId)),
              "bytes identical",
            );
            assert.deepEqual([...(fetched.flags ?? [])].sort(), [...message.flags].sort());
          }
        } finally {
          await client.logout();
        }
      }
      const aliceInbox = await old.mailboxes.getMailbox(
        (await old.directory.getUser("alice@example.org"))!.id,
        "INBOX",
      );
      assert.deepEqual(
        (await old.messages.listMessages(aliceInbox!.id)).map((m) => [m.uid, [...m.flags].sort()]),
        [
          [1, ["$Important", "\\Flagged"]],
          [3, []],
        ],
        "the source state the comparison above relied on",
      );

      const queued = await target.cli(["queue", "list", "--json"]);
      assert.equal(queued.code, 0, queued.stderr);
      const [sourceEntry] = await old.queue.list();
      assert.ok(sourceEntry);
      const listed = JSON.parse(queued.stdout) as Array<{ id: string; recipient: string; messageId: string }>;
      assert.deepEqual(
        listed.map((entry) => [entry.id, entry.recipient, entry.messageId]),
        [[sourceEntry.id, "dave@remote.test", sourceEntry.messageId]],
      );

      const pgStore = await openPostgresStore({ url: pg.url, logger: silent });
      try {
        const key = await pgStore.directory.getDkimKey("example.org");
        const sourceKey = await old.directory.getDkimKey("example.org");
        assert.ok(key && sourceKey);
        assert.equal(key.selector, sourceKey.selector);
        assert.equal(key.privateKeyPem, sourceKey.privateKeyPem);
        assert.equal(key.algorithm, sourceKey.algorithm);
        assert.deepEqual(await pgStore.directory.aliasDestinations("team@example.org"), [
          "alice@example.org",
        ]);
        const pgAlice = await pgStore.directory.getUser("alice@example.org");
        const oldAlice = await old.directory.getUser("alice@example.org");
        assert.equal(pgAlice?.passwordHash, oldAlice?.passwordHash);
        assert.equal(pgAlice?.scramSha256, oldAlice?.scramSha256);
        const pgInbox = await pgStore.mailboxes.getMailbox(pgAlice!.id, "INBOX");
        assert.deepEqual(await pgStore.messages.expungedSince(pgInbox!.id, 0), [2], "QRESYNC history kept");
      } finally {
        await pgStore.close();
      }
    } finally {
      await target.cleanup();
      await old.close();
    }
  });

  test("a target mailbox holding other messages under another UIDVALIDITY stops the run", async () => {
    const other = (await startTestPostgres()) as TestPostgres;
    try {
      const store = await openPostgresStore({ url: other.url, logger: silent });
      try {
        await store.directory.addDomain("example.org");
        const user = await store.directory.addUser("alice@example.org", {
          passwordHash: "x",
          scramSha256: "y",
        });
        const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from("Subject: already here\r\n\r\nhi\r\n"));
        const blob = await writer.finish();
        await store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox!.id }],
          queue: [],
        });
      } finally {
        await store.close();
      }
      const result = await runCli(
        ["migrate", "--from", `sqlite:${source.dataDir}`, "--to", other.url],
        source.env,
      );
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /alice@example\.org mailbox "INBOX": UIDVALIDITY \d+ in the target, \d+ in the source/,
      );
      assert.match(result.stderr, /nothing was copied/);
      const after = await openPostgresStore({ url: other.url, logger: silent });
      try {
        assert.equal(await after.directory.getUser("bob@example.org"), null, "nothing written");
      } finally {
        await after.close();
      }
    } finally {
      await other.stop();
    }
  });

  test("usage errors and an unreachable PostgreSQL give their exit codes", async () => {
    const missing = await runCli(["migrate", "--from", source.dataDir], { PATH: process.env.PATH });
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /missing --to/);
    const noSource = await runCli(
      ["migrate", "--from", "sqlite:/nonexistent/dir", "--to", pg.url],
      source.env,
    );
    assert.equal(noSource.code, 66);
    assert.match(noSource.stderr, /no mailroom database/);
    const down = await runCli(
      ["migrate", "--from", source.dataDir, "--to", "postgres://nobody@127.0.0.1:1/none"],
      source.env,
    );
    assert.equal(down.code, 69);
    assert.match(down.stderr, /cannot open the target .*cannot reach PostgreSQL at 127\.0\.0\.1:1.*--to URL/);
  });
});
