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
      await migrate(client, 2);
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

test("a schema 5 database upgrades: entries get thread ids from their header blocks, history starts at 0", async (t) => {
  const database = await startTestPostgres();
  if (database === null) {
    t.skip(POSTGRES_SKIP_REASON);
    return;
  }
  try {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrate(client, 5);
      await client.query(`
        INSERT INTO domains (name) VALUES ('old.example');
        INSERT INTO users (address, domain_id, password_hash, scram_sha256)
          SELECT 'a@old.example', id, 'h', 's' FROM domains;
        INSERT INTO mailboxes (user_id, name, uid_validity, uid_next, highest_modseq)
          SELECT id, 'INBOX', 1, 5, 2 FROM users UNION ALL SELECT id, 'Archive', 2, 2, 2 FROM users;
        INSERT INTO blobs (id, size, complete, header) VALUES
          ('01reply0000000000000', 100, true,
           convert_to(E'Message-ID: <r@x>\\r\\nIn-Reply-To: <p@x>\\r\\nSubject: Re: p\\r\\n\\r\\n', 'UTF8')),
          ('01parent000000000000', 100, true, convert_to(E'Message-ID: <p@x>\\r\\nSubject: p\\r\\n\\r\\n', 'UTF8')),
          ('01other0000000000000', 100, true, convert_to(E'Message-ID: <o@x>\\r\\nSubject: p\\r\\n\\r\\n', 'UTF8')),
          ('01noheader0000000000', 100, true, NULL);
        INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
          SELECT b.id, e.uid, e.message_id, '{}', to_timestamp(e.at), 100, 2
          FROM mailboxes b JOIN (VALUES
            ('INBOX', 1, '01parent000000000000', 1), ('INBOX', 2, '01reply0000000000000', 2),
            ('INBOX', 3, '01other0000000000000', 3), ('INBOX', 4, '01noheader0000000000', 4),
            ('Archive', 1, '01reply0000000000000', 2)) AS e(name, uid, message_id, at) ON e.name = b.name;
      `);
    } finally {
      await client.end();
    }
    const store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
    try {
      const user = (await store.directory.getUser("a@old.example"))!;
      const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const threads = Object.fromEntries(
        [
          ...(await store.messages.listMessages(inbox.id)),
          ...(await store.messages.listMessages(archive.id)),
        ].map((m) => [`${m.mailboxId === inbox.id ? "INBOX" : "Archive"}/${m.uid}`, m.threadId]),
      );
      assert.deepEqual(threads, {
        "INBOX/1": "01parent000000000000",
        "INBOX/2": "01parent000000000000",
        "INBOX/3": "01other0000000000000",
        "INBOX/4": "01noheader0000000000",
        "Archive/1": "01parent000000000000",
      });
      for (const type of ["Email", "Mailbox", "Thread"] as const) {
        assert.equal(await store.changes.state(user.id, type), "0");
      }
      const writer = await store.blobs.createBlobWriter();
      await writer.write(
        Buffer.from("Message-ID: <n@x>\r\nReferences: <p@x> <r@x>\r\nSubject: Re: p\r\n\r\nhi\r\n"),
      );
      const fresh = await writer.finish();
      const appended = await store.messages.append(inbox.id, fresh, [], new Date());
      assert.equal(appended.threadId, "01parent000000000000");
      assert.deepEqual((await store.changes.changesSince(user.id, "Thread", "0")).updated, [
        "01parent000000000000",
      ]);
      assert.equal((await store.messages.listThread(user.id, "01parent000000000000")).length, 4);
    } finally {
      await store.close();
    }
  } finally {
    await database.stop();
  }
});
