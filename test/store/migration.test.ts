import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { migrate, SCHEMA_VERSION } from "../../src/store/sqlite/schema.js";
import type { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { StoreError } from "../../src/store/types.js";
import { checkUpgradedAccount } from "../support/upgraded-account.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const digest = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

test("a fresh data dir is created and migrated; reopening keeps the data", async () => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, "nested", "data");
    const first = await openSqliteStore({ dataDir, logger: silentLogger });
    await first.directory.addDomain("kept.example");
    await first.directory.addUser("a@kept.example", CREDENTIALS);
    await first.close();
    const db = new Database(join(dataDir, "mailroom.db"), { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
    const second = await openSqliteStore({ dataDir, logger: silentLogger });
    assert.ok(await second.directory.getUser("a@kept.example"));
    await second.close();
  });
});

test("a database from a newer mailroom is refused and left untouched", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    await store.directory.addDomain("future.example");
    await store.close();
    const path = join(dataDir, "mailroom.db");
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const before = await digest(path);
    await assert.rejects(openSqliteStore({ dataDir, logger: silentLogger }), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, "invalid");
      assert.match(
        error.message,
        new RegExp(
          `created by a newer mailroom \\(schema ${SCHEMA_VERSION + 3}, this build knows ${SCHEMA_VERSION}\\); upgrade mailroom`,
        ),
      );
      return true;
    });
    assert.equal(await digest(path), before);
  });
});

test("a file that is not a database gets a clear error", async () => {
  await withTempDir(async (dataDir) => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      join(dataDir, "mailroom.db"),
      "this is not sqlite, just text that is long enough ".repeat(40),
    );
    await assert.rejects(openSqliteStore({ dataDir, logger: silentLogger }), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, "invalid");
      assert.match(error.message, /damaged or not a mailroom database/);
      return true;
    });
  });
});

/**
 * Builds a database at schema `version` with the statements `setup` gives for the time `now`, then opens
 * it (which upgrades it) for `check`.
 */
// Schema versions just before a migration, counted from the start: relative to SCHEMA_VERSION they would
// move each time a migration is appended and silently test a later schema.
const BEFORE_SAVEDATE = 13;
const BEFORE_JMAP_SIEVE = 22;
const BEFORE_FUTURE_RELEASE = 23;

async function upgradeFrom(
  version: number,
  setup: (now: number) => string,
  check: (store: SqliteStore, path: string) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dataDir) => {
    const path = join(dataDir, "mailroom.db");
    const old = new Database(path);
    migrate(old, path, version);
    old.exec(setup(Date.now()));
    assert.equal(old.pragma("user_version", { simple: true }), version);
    old.close();
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      await check(store, path);
    } finally {
      await store.close();
    }
  });
}

test("a schema 2 database upgrades: old messages have no header block, subscriptions carry over", () =>
  upgradeFrom(
    2,
    (now) => `
    INSERT INTO domains (id, name, created_at) VALUES (1, 'old.example', ${now});
    INSERT INTO users (id, address, domain_id, password_hash, scram_sha256, created_at)
      VALUES (1, 'a@old.example', 1, 'h', 's', ${now});
    INSERT INTO mailboxes (id, user_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq)
      VALUES (1, 1, 'INBOX', NULL, 1, 1, 2, 2), (2, 1, 'Junk', '\\Junk', 0, 2, 1, 1),
             (3, 1, 'Lists', NULL, 1, 3, 1, 1);
    INSERT INTO messages (id, size, created_at) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, ${now});
    INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, size, modseq)
      VALUES (1, 1, '01aaaaaaaaaaaaaaaaaa', '[]', 0, ${now}, 22, 2);
  `,
    async (store, path) => {
      const db = new Database(path, { readonly: true });
      assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
      db.close();
      assert.deepEqual(await store.mailboxes.listSubscriptions(1), ["INBOX", "Lists"]);
      assert.equal((await store.mailboxes.getMailbox(1, "Junk"))?.subscribed, false);
      assert.deepEqual(
        (await store.messages.listMessages(1)).map((m) => m.messageId),
        ["01aaaaaaaaaaaaaaaaaa"],
      );
      assert.equal((await store.blobs.readHeaderBlocks(["01aaaaaaaaaaaaaaaaaa"])).size, 0);
      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from("Subject: new\r\n\r\nbody\r\n"));
      const fresh = await writer.finish();
      await store.messages.append(1, fresh, [], new Date());
      const blocks = await store.blobs.readHeaderBlocks(["01aaaaaaaaaaaaaaaaaa", fresh.id]);
      assert.deepEqual([...blocks.keys()], [fresh.id]);
      assert.equal(blocks.get(fresh.id)?.toString(), "Subject: new\r\n\r\n");
    },
  ));

test("a schema 5 database upgrades: account MODSEQ, email ids, changes from the upgrade on", () =>
  upgradeFrom(
    5,
    (now) => `
    INSERT INTO domains (id, name, created_at) VALUES (1, 'old.example', ${now});
    INSERT INTO users (id, address, domain_id, password_hash, scram_sha256, created_at)
      VALUES (1, 'a@old.example', 1, 'h', 's', ${now});
    INSERT INTO mailboxes (id, user_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq)
      VALUES (1, 1, 'INBOX', NULL, 1, 1, 4, 5), (2, 1, 'Junk', '\\Junk', 1, 2, 2, 2);
    INSERT INTO messages (id, size, created_at) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, ${now}),
      ('01bbbbbbbbbbbbbbbbbb', 22, ${now});
    INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, size, modseq)
      VALUES (1, 1, '01aaaaaaaaaaaaaaaaaa', '[]', 0, ${now}, 22, 3),
             (1, 3, '01bbbbbbbbbbbbbbbbbb', '[]', 0, ${now + 1}, 22, 5),
             (2, 1, '01aaaaaaaaaaaaaaaaaa', '[]', 0, ${now + 2}, 22, 2);
    INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (1, 2, 4);
  `,
    async (store) => {
      await checkUpgradedAccount(store, "a@old.example");
    },
  ));

test("the SAVEDATE column arrives empty: entries stored before it show their internal date", () =>
  upgradeFrom(
    BEFORE_SAVEDATE,
    (now) => `
    INSERT INTO domains (id, name, created_at) VALUES (1, 'old.example', ${now});
    INSERT INTO users (id, address, domain_id, password_hash, scram_sha256, created_at)
      VALUES (1, 'a@old.example', 1, 'h', 's', ${now});
    INSERT INTO mailboxes (id, user_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq)
      VALUES (1, 1, 'INBOX', NULL, 1, 1, 2, 2);
    INSERT INTO messages (id, size, created_at) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, ${now});
    INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, size, modseq,
                                  email_id, thread_id, created_modseq)
      VALUES (1, 1, '01aaaaaaaaaaaaaaaaaa', '[]', 0, 981173106000, 22, 2, 1, 1, 2);
  `,
    async (store) => {
      const [listed] = await store.messages.listMessages(1);
      assert.equal(listed?.savedDate.toISOString(), "2001-02-03T04:05:06.000Z");
      assert.equal(
        (await store.messages.getMessage(1, 1))?.savedDate.toISOString(),
        "2001-02-03T04:05:06.000Z",
      );
    },
  ));

test("Sieve scripts upgrade with ids and state 1, keeping their text and active mark", () =>
  upgradeFrom(
    BEFORE_JMAP_SIEVE,
    (now) => `
    INSERT INTO domains (id, name, created_at) VALUES (1, 'old.example', ${now});
    INSERT INTO users (id, address, domain_id, password_hash, scram_sha256, created_at)
      VALUES (1, 'a@old.example', 1, 'h', 's', ${now});
    INSERT INTO sieve_scripts (user_id, name, source, active)
      VALUES (1, 'lists', 'keep;', 1), (1, 'old', 'discard;', 0);
  `,
    async (store) => {
      const { state, scripts } = await store.sieveScripts.listScriptsWithState(1);
      assert.equal(state, 1);
      assert.deepEqual(
        scripts.map(({ name, source, active }) => [name, source, active]),
        [
          ["lists", "keep;", true],
          ["old", "discard;", false],
        ],
      );
      assert.deepEqual(
        (await store.sieveScripts.scriptChanges(1, 0))?.created,
        scripts.map((s) => s.id),
      );
      assert.equal(await store.sieveScripts.createScript(1, "lists", "stop;"), "exists");
      assert.equal(await store.sieveScripts.destroyScript(1, scripts[0]!.id), "active");
    },
  ));

test("queue entries upgrade neither held nor local, users without a display name (RFC 4865, issue 14)", () =>
  upgradeFrom(
    BEFORE_FUTURE_RELEASE,
    (now) => `
    INSERT INTO domains (id, name, created_at) VALUES (1, 'old.example', ${now});
    INSERT INTO users (id, address, domain_id, password_hash, scram_sha256, created_at)
      VALUES (1, 'a@old.example', 1, 'h', 's', ${now});
    INSERT INTO messages (id, size, created_at) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, ${now});
    INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, attempts, created_at,
                       next_attempt_at, last_error, claimed_until, delay_notified)
      VALUES ('01qqqqqqqqqqqqqqqqqq', '01aaaaaaaaaaaaaaaaaa', 'a@old.example', 'b@remote.example', '{}', '{}',
              'queued', 0, ${now}, ${now}, NULL, NULL, 0);
  `,
    async (store) => {
      const [entry] = await store.queue.list();
      assert.deepEqual([entry?.recipient, entry?.holdUntil, entry?.local], ["b@remote.example", null, false]);
      assert.equal((await store.directory.getUser("a@old.example"))?.name, null);
      await store.directory.setName("a@old.example", "Ada");
      assert.equal((await store.directory.getUser("a@old.example"))?.name, "Ada");
    },
  ));
