import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { migrate } from "../../src/store/postgres/schema.js";
import { POSTGRES_SKIP_REASON, startTestPostgres } from "../support/postgres.js";

test("a schema 2 database upgrades: old bodies have no header block, subscriptions carry over", async (t) => {
  const database = await startTestPostgres();
  if (database === null) {
    t.skip(POSTGRES_SKIP_REASON);
    return;
  }
  try {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrate(client, { target: 2 });
      await client.query(`
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
      `);
    } finally {
      await client.end();
    }
    const store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
    try {
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
    } finally {
      await store.close();
    }
  } finally {
    await database.stop();
  }
});
