// The "one process" gaps closed for several nodes on one PostgreSQL: a lease taken over by another node
// cannot be renewed by its old holder, and events committed while a node's LISTEN connection was down
// reach that node's subscribers once it is back.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import type { PostgresStore } from "../../src/store/postgres/store.js";
import type { BlobRef, MailboxEvent, Store } from "../../src/store/types.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";

const logger = pino({ level: "silent" });
const CREDENTIALS = { passwordHash: "h", scramSha256: "s" };
const available = await startTestPostgres();
await available?.stop();

function open(url: string): Promise<PostgresStore> {
  return openPostgresStore({ url, logger });
}

async function body(store: Store, text: string): Promise<BlobRef> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(text));
  return writer.finish();
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`${what} did not happen within 10 s`);
}

describe("cluster gaps on PostgreSQL", { skip: available === null && POSTGRES_SKIP_REASON }, () => {
  let database: TestPostgres;
  let nodeA: PostgresStore;
  let nodeB: PostgresStore;
  let admin: pg.Client;

  before(async () => {
    const started = await startTestPostgres();
    assert.ok(started);
    database = started;
    nodeA = await open(database.url);
    nodeB = await open(database.url);
    // On another database: PostgreSQL refuses to close the one a session is connected to.
    const adminUrl = new URL(database.url);
    adminUrl.pathname = "/postgres";
    admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await Promise.all([nodeA.close(), nodeB.close()]);
    await database.stop();
  });

  test("a lease another node took over after it ran out is no longer renewable by its old holder", async () => {
    const blob = await body(nodeA, "Subject: lease\r\n\r\n");
    const { queueIds } = await nodeA.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [],
      queue: [{ recipient: "far@remote.example" }],
    });
    const id = queueIds[0] ?? "";
    const claimedAt = new Date(Date.now() + 1000);
    assert.deepEqual(
      (await nodeA.queue.claim(claimedAt, 10, 1000)).map((entry) => entry.id),
      [id],
    );
    assert.deepEqual(await nodeB.queue.renewLeases([id], new Date(claimedAt.getTime() + 5000)), []);
    assert.deepEqual(await nodeA.queue.renewLeases([id], new Date(claimedAt.getTime() + 5000)), [id]);
    // Past the renewed lease, B takes the entry: from then on only B may renew it.
    const takeover = await nodeB.queue.claim(new Date(claimedAt.getTime() + 6000), 10, 1000);
    assert.deepEqual(
      takeover.map((entry) => [entry.id, entry.attempts]),
      [[id, 2]],
    );
    const end = new Date(claimedAt.getTime() + 60_000);
    assert.deepEqual(await nodeA.queue.renewLeases([id], end), []);
    assert.equal((await nodeA.queue.get(id))?.claimedUntil?.getTime(), claimedAt.getTime() + 7000);
    assert.deepEqual(await nodeB.queue.renewLeases([id], end), [id]);
    await nodeB.queue.complete(id);
  });

  test("changes made while B's listener was cut reach B's subscribers after it reconnects", async () => {
    const user = await nodeA.directory.addUser("gap@nodes.example", CREDENTIALS).catch(async () => {
      await nodeA.directory.addDomain("nodes.example");
      return nodeA.directory.addUser("gap@nodes.example", CREDENTIALS);
    });
    const inbox = await nodeA.mailboxes.getMailbox(user.id, "INBOX");
    assert.ok(inbox);
    const deliver = async (subject: string) => {
      const result = await nodeA.messages.deliver({
        blob: await body(nodeA, `Subject: ${subject}\r\n\r\n`),
        sender: "",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: inbox.id }],
        queue: [],
      });
      return result.uids[0]?.uid as number;
    };
    const flagged = await deliver("to flag");
    const doomed = await deliver("to expunge");
    // B hears these live; wait, so they are accounted for before the cut.
    await until("B hearing the earlier deliveries", async () => {
      const heard: MailboxEvent[] = [];
      const stop = nodeB.events.subscribe((event) => heard.push(event));
      await sleep(50);
      stop();
      return heard.length === 0;
    });

    const heard: MailboxEvent[] = [];
    const stop = nodeB.events.subscribe((event) => heard.push(event));
    // Warm A's pool so its writes need no new connection while the database refuses them.
    await Promise.all([1, 2, 3, 4].map(() => nodeA.mailboxes.getMailboxById(inbox.id)));
    const pid = nodeB.events.listenerPid;
    assert.ok(pid !== null);
    const name = new URL(database.url).pathname.slice(1);
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    let added = 0;
    let created = 0;
    try {
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await until("B noticing its listener is gone", () => nodeB.events.listenerPid === null);
      added = await deliver("during the gap");
      await nodeA.messages.updateFlags(inbox.id, [flagged], "add", ["\\Flagged"]);
      assert.deepEqual(await nodeA.messages.expunge(inbox.id, [doomed]), [doomed]);
      created = (await nodeA.mailboxes.createMailbox(user.id, "Made in the gap")).id;
      assert.ok(created > 0);
      await sleep(300);
      assert.equal(heard.length, 0, "nothing reaches B while its listener is down");
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    await until("B reconnecting", () => nodeB.events.listenerPid !== null);
    stop();

    const uidsOf = (kind: MailboxEvent["kind"]) =>
      heard.flatMap((event) =>
        event.kind === kind && "uids" in event && event.mailboxId === inbox.id ? event.uids : [],
      );
    assert.deepEqual(uidsOf("exists"), [added]);
    assert.deepEqual(uidsOf("flags"), [flagged]);
    assert.deepEqual(uidsOf("expunge"), [doomed]);
    assert.ok(heard.some((event) => event.kind === "mailboxes" && event.userId === user.id));
    for (const event of heard) assert.equal(event.userId, user.id);

    // Live notifications work again after the catch-up.
    const later: MailboxEvent[] = [];
    const stopLater = nodeB.events.subscribe((event) => later.push(event));
    const after = await deliver("after the gap");
    await until("B hearing a delivery live", () =>
      later.some((event) => event.kind === "exists" && event.uids.includes(after)),
    );
    stopLater();
  });
});
