import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { CREDENTIALS, FIXTURES, silentLogger, withTempDir } from "./helpers.js";

const run = promisify(execFile);

test("two processes write the same data directory at once", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      await store.directory.addDomain("shared.example");
      const user = await store.directory.addUser("both@shared.example", CREDENTIALS);
      const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
      const child = run(process.execPath, [
        "--import",
        "tsx",
        fileURLToPath(new URL("concurrent-writer.ts", FIXTURES)),
        dataDir,
        String(inbox.id),
        "60",
      ]);
      const mine: number[] = [];
      for (let i = 0; i < 60; i++) {
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from(`Subject: parent ${i}\r\n\r\nfrom the parent\r\n`));
        const blob = await writer.finish();
        const result = await store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox.id }],
          queue: [],
        });
        mine.push(result.uids[0]!.uid);
        await store.messages.updateFlags(inbox.id, [result.uids[0]!.uid], "add", ["\\Seen"]);
      }
      const { stdout } = await child;
      assert.equal(stdout.trim(), "done");
      const messages = await store.messages.listMessages(inbox.id);
      assert.equal(messages.length, 120);
      assert.equal(new Set(messages.map((m) => m.uid)).size, 120);
      assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).uidNext, 121);
      assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).unseen, 60);
      assert.ok(
        await store.directory.getUser("cli@child.example"),
        "the child's user is visible to the parent",
      );
      for (const uid of mine) assert.ok(messages.some((m) => m.uid === uid));
    } finally {
      await store.close();
    }
  });
});
