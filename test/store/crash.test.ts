import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { CREDENTIALS, FIXTURES, silentLogger, withTempDir } from "./helpers.js";

test("a process killed mid-delivery leaves only complete messages", async () => {
  await withTempDir(async (dataDir) => {
    const setup = await openSqliteStore({ dataDir, logger: silentLogger });
    await setup.directory.addDomain("crash.example");
    const user = await setup.directory.addUser("victim@crash.example", CREDENTIALS);
    const inbox = (await setup.mailboxes.getMailbox(user.id, "INBOX"))!;
    await setup.close();

    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("deliver-loop.ts", FIXTURES)), dataDir, String(inbox.id)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const confirmed = new Map<string, number>();
    const exited = new Promise((resolve) => child.once("exit", resolve));
    for await (const line of createInterface({ input: child.stdout })) {
      const [word, id, size] = line.split(" ");
      if (word === "delivered" && id !== undefined) confirmed.set(id, Number(size));
      if (confirmed.size >= 30) {
        child.kill("SIGKILL");
        break;
      }
    }
    await exited;
    assert.ok(confirmed.size >= 30, "the child delivered before it was killed");

    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      const messages = await store.messages.listMessages(inbox.id);
      const listed = new Map(messages.map((m) => [m.messageId, m.size]));
      // Every delivery the child saw resolve is there, with its size.
      for (const [id, size] of confirmed) assert.equal(listed.get(id), size, `confirmed message ${id}`);
      // Everything listed is whole: the body reads back with the recorded size.
      for (const message of messages) {
        assert.equal((await store.blobs.readBlobBytes(message.messageId)).length, message.size);
      }
      assert.deepEqual(
        messages.map((m) => m.uid),
        messages.map((_, i) => i + 1),
      );
      // The dead child's temp files were swept on open and none became a message.
      assert.deepEqual(await readdir(join(dataDir, "tmp")), []);
    } finally {
      await store.close();
    }
  });
});
