// Times the store calls behind IMAP SELECT and header FETCH/SEARCH on a 10,000-message SQLite mailbox:
// listMessages (whole mailbox, and a 250-UID range), getMessage, mailboxStatus and readHeaderBlocks,
// and behind STORE on the whole mailbox: updateFlags.
// Not a test: figures depend on the machine. Run: node --import tsx bench/store/list-messages.ts [count]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const COUNT = Number(process.argv[2] ?? 10_000);
const RUNS = 21;
const CONCURRENCY = 64;
const FLAG_SETS = [[], ["\\Seen"], ["\\Seen", "\\Answered"], ["\\Flagged", "$Label1"]];

function message(n: number): string {
  return (
    `From: Sender ${n} <s${n}@example.net>\r\nTo: user@bench.example\r\nSubject: message number ${n}\r\n` +
    `Date: Mon, 2 Jan 2023 03:04:05 +0000\r\nMessage-ID: <${n}@example.net>\r\n\r\n` +
    `${"body line\r\n".repeat(20)}`
  );
}

async function median(label: string, fn: () => Promise<unknown>): Promise<void> {
  await fn();
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const mid = times[Math.floor(times.length / 2)] as number;
  console.log(`${label.padEnd(44)} median ${mid.toFixed(2)} ms  (min ${(times[0] as number).toFixed(2)})`);
}

const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-store-"));
const store = await openSqliteStore({ dataDir, logger: pino({ level: "silent" }) });
try {
  await store.directory.addDomain("bench.example");
  const user = await store.directory.addUser("user@bench.example", { passwordHash: "h", scramSha256: "s" });
  const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
  const filling = performance.now();
  for (let next = 0; next < COUNT; ) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, COUNT - next) }, (_, i) => next + i);
    next += batch.length;
    await Promise.all(
      batch.map(async (n) => {
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from(message(n)));
        const blob = await writer.finish();
        const flags = FLAG_SETS[n % FLAG_SETS.length] as string[];
        await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox.id, flags }],
          queue: [],
        });
      }),
    );
  }
  console.log(`filled ${COUNT} messages in ${((performance.now() - filling) / 1000).toFixed(1)} s`);

  const all = await store.messages.listMessages(inbox.id);
  const ids = all.map((m) => m.messageId);
  const middle = Math.floor(COUNT / 2);
  await median(`listMessages, ${COUNT} messages`, () => store.messages.listMessages(inbox.id));
  await median("listMessages, sinceModseq (last 100 changed)", () =>
    store.messages.listMessages(inbox.id, { sinceModseq: (all.at(-100)?.modseq ?? 1) - 1 }),
  );
  await median("listMessages, 250-UID range", () =>
    store.messages.listMessages(inbox.id, { uidFrom: middle, uidTo: middle + 249 }),
  );
  await median("getMessage", () => store.messages.getMessage(inbox.id, middle));
  await median("mailboxStatus", () => store.mailboxes.mailboxStatus(inbox.id));
  await median(`readHeaderBlocks, ${ids.length} ids`, () => store.blobs.readHeaderBlocks(ids));
  await median("readHeaderBlocks, 500 ids", () =>
    store.blobs.readHeaderBlocks(ids.slice(middle, middle + 500)),
  );
  await median("readBlobBytes x 500 (what headers replace)", async () => {
    for (const id of ids.slice(middle, middle + 500)) await store.blobs.readBlobBytes(id);
  });
  // Last: it changes the flags the calls above read.
  const uids = all.map((m) => m.uid);
  await median(`updateFlags on ${uids.length}: add \\Flagged, remove it`, async () => {
    await store.messages.updateFlags(inbox.id, uids, "add", ["\\Flagged"]);
    await store.messages.updateFlags(inbox.id, uids, "remove", ["\\Flagged"]);
  });
} finally {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
