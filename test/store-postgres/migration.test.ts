import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import pg from "pg";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { migrate } from "../../src/store/postgres/schema.js";
import type { PostgresStore } from "../../src/store/postgres/store.js";
import { POSTGRES_SKIP_REASON, startTestPostgres } from "../support/postgres.js";
import { checkUpgradedAccount } from "../support/upgraded-account.js";

// Schema versions just before a migration, counted from the start: relative to SCHEMA_VERSION they would
// move each time a migration is appended and silently test a later schema.
const BEFORE_JMAP_SIEVE = 23;
const BEFORE_FUTURE_RELEASE = 24;

/** Builds a database at schema `target` with `setup`, then opens it (which upgrades it) for `check`. */
async function upgradeFrom(
  t: TestContext,
  target: number,
  setup: string,
  check: (store: PostgresStore) => Promise<void>,
): Promise<void> {
  const database = await startTestPostgres();
  if (database === null) {
    t.skip(POSTGRES_SKIP_REASON);
    return;
  }
  try {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrate(client, { target });
      await client.query(setup);
    } finally {
      await client.end();
    }
    const store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
    try {
      await check(store);
    } finally {
      await store.close();
    }
  } finally {
    await database.stop();
  }
}

test("a schema 2 database upgrades: old bodies have no header block, subscriptions carry over", (t) =>
  upgradeFrom(
    t,
    2,
    `
      INSERT INTO domains (name) VALUES ('old.example');
      INSERT INTO users (address, domain_id, password_hash, scram_sha256)
        SELECT 'a@old.example', id, 'h', 's' FROM domains;
      INSERT INTO mailboxes (user_id, name, subscribed, uid_validity, uid_next, highest_modseq)
        SELECT id, 'INBOX', true, 1, 2, 2 FROM users UNION ALL
        SELECT id, 'Junk', false, 2, 1, 1 FROM users UNION ALL
        SELECT id, 'Lists', true, 3, 1, 1 FROM users;
      INSERT INTO blobs (id, size, complete) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, true);
      INSERT INTO blob_chunks (blob_id, seq, bytes)
        VALUES ('01aaaaaaaaaaaaaaaaaa', 0, convert_to(E'Subject: old\\r\\n\\r\\nbody\\r\\n', 'UTF8'));
      INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
        SELECT id, 1, '01aaaaaaaaaaaaaaaaaa', '{}', now(), 22, 2 FROM mailboxes WHERE name = 'INBOX';
    `,
    async (store) => {
      const user = (await store.directory.getUser("a@old.example"))!;
      assert.deepEqual(await store.mailboxes.listSubscriptions(user.id), ["INBOX", "Lists"]);
      assert.equal((await store.mailboxes.getMailbox(user.id, "Junk"))?.subscribed, false);
      assert.equal(
        (await store.blobs.readBlobBytes("01aaaaaaaaaaaaaaaaaa")).toString(),
        "Subject: old\r\n\r\nbody\r\n",
      );
      assert.equal((await store.blobs.readHeaderBlocks(["01aaaaaaaaaaaaaaaaaa"])).size, 0);
      const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from("Subject: new\r\n\r\nbody\r\n"));
      const fresh = await writer.finish();
      await store.messages.append(inbox.id, fresh, [], new Date());
      const blocks = await store.blobs.readHeaderBlocks(["01aaaaaaaaaaaaaaaaaa", fresh.id]);
      assert.deepEqual([...blocks.keys()], [fresh.id]);
      assert.equal(blocks.get(fresh.id)?.toString(), "Subject: new\r\n\r\n");
    },
  ));

test("a schema 6 database upgrades: account MODSEQ, email ids, changes from the upgrade on", (t) =>
  upgradeFrom(
    t,
    6,
    `
      INSERT INTO domains (name) VALUES ('old.example');
      INSERT INTO users (address, domain_id, password_hash, scram_sha256)
        SELECT 'a@old.example', id, 'h', 's' FROM domains;
      INSERT INTO mailboxes (user_id, name, uid_validity, uid_next, highest_modseq)
        SELECT id, 'INBOX', 1, 4, 5 FROM users UNION ALL SELECT id, 'Junk', 2, 2, 2 FROM users;
      INSERT INTO blobs (id, size, complete) VALUES ('01aaaaaaaaaaaaaaaaaa', 22, true),
        ('01bbbbbbbbbbbbbbbbbb', 22, true);
      INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
        SELECT id, 1, '01aaaaaaaaaaaaaaaaaa', '{}'::text[], now(), 22, 3 FROM mailboxes WHERE name = 'INBOX'
        UNION ALL SELECT id, 3, '01bbbbbbbbbbbbbbbbbb', '{}', now() + interval '1 s', 22, 5 FROM mailboxes WHERE name = 'INBOX'
        UNION ALL SELECT id, 1, '01aaaaaaaaaaaaaaaaaa', '{}', now() + interval '2 s', 22, 2 FROM mailboxes WHERE name = 'Junk';
      INSERT INTO expunged (mailbox_id, uid, modseq) SELECT id, 2, 4 FROM mailboxes WHERE name = 'INBOX';
    `,
    async (store) => {
      await checkUpgradedAccount(store, "a@old.example");
    },
  ));

test("Sieve scripts upgrade with ids and state 1, keeping their text and active mark", (t) =>
  upgradeFrom(
    t,
    BEFORE_JMAP_SIEVE,
    `
      INSERT INTO domains (name) VALUES ('old.example');
      INSERT INTO users (address, domain_id, password_hash, scram_sha256)
        SELECT 'a@old.example', id, 'h', 's' FROM domains;
      INSERT INTO sieve_scripts (user_id, name, source, active)
        SELECT id, 'lists', 'keep;', true FROM users UNION ALL
        SELECT id, 'old', 'discard;', false FROM users;
    `,
    async (store) => {
      const user = (await store.directory.getUser("a@old.example"))!;
      const { state, scripts } = await store.sieveScripts.listScriptsWithState(user.id);
      assert.equal(state, 1);
      assert.deepEqual(
        scripts.map(({ name, source, active }) => [name, source, active]),
        [
          ["lists", "keep;", true],
          ["old", "discard;", false],
        ],
      );
      assert.deepEqual(
        (await store.sieveScripts.scriptChanges(user.id, 0))?.created,
        scripts.map((s) => s.id).sort((a, b) => a - b),
      );
      assert.equal(await store.sieveScripts.createScript(user.id, "lists", "stop;"), "exists");
      assert.equal(await store.sieveScripts.destroyScript(user.id, scripts[0]!.id), "active");
    },
  ));

test("queue entries upgrade neither held nor local, users without a display name (RFC 4865, issue 14)", (t) =>
  upgradeFrom(
    t,
    BEFORE_FUTURE_RELEASE,
    `
      INSERT INTO domains (name) VALUES ('old.example');
      INSERT INTO users (address, domain_id, password_hash, scram_sha256)
        SELECT 'a@old.example', id, 'h', 's' FROM domains;
    `,
    async (store) => {
      const user = await store.directory.getUser("a@old.example");
      assert.equal(user?.name, null);
      await store.directory.setName("a@old.example", "Ada");
      assert.equal((await store.directory.getUser("a@old.example"))?.name, "Ada");
    },
  ));
