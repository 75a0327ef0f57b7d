// The data directory holds keys and password hashes: 0700, its files 0600, under any umask, and an
// existing installation with looser modes is tightened at open with one log line.

import assert from "node:assert/strict";
import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Delivers one message, then runs `check` while the store is still open (the -wal exists only then). */
async function deliverOne(
  dataDir: string,
  check: (id: string) => Promise<void> = async () => {},
): Promise<void> {
  const store = await openSqliteStore({ dataDir, logger: silentLogger });
  try {
    await store.directory.addDomain("private.example");
    const user = await store.directory.addUser("p@private.example", CREDENTIALS);
    const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
    const writer = await store.blobs.createBlobWriter();
    await writer.write(Buffer.from("Subject: secret\r\n\r\nhi\r\n"));
    const blob = await writer.finish();
    await store.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inbox!.id }],
      queue: [],
    });
    await check(blob.id);
  } finally {
    await store.close();
  }
}

describe("the data directory is private", () => {
  let umask: number;
  before(() => {
    umask = process.umask(0);
  });
  after(() => {
    process.umask(umask);
  });

  test("created under umask 000: directories 0700, database, -wal, -shm and bodies 0600", async () => {
    await withTempDir(async (root) => {
      const dataDir = join(root, "data");
      await deliverOne(dataDir, async (id) => {
        assert.equal(await modeOf(dataDir), 0o700);
        for (const dir of ["messages", "tmp"]) assert.equal(await modeOf(join(dataDir, dir)), 0o700, dir);
        for (const file of ["mailroom.db", "mailroom.db-wal", "mailroom.db-shm"]) {
          assert.equal(await modeOf(join(dataDir, file)), 0o600, file);
        }
        const [fanOut] = await readdir(join(dataDir, "messages"));
        assert.ok(fanOut);
        assert.equal(await modeOf(join(dataDir, "messages", fanOut)), 0o700, "fan-out directory");
        const bodies = await readdir(join(dataDir, "messages", fanOut));
        assert.ok(bodies.includes(id));
        assert.equal(await modeOf(join(dataDir, "messages", fanOut, id)), 0o600, "body");
      });
    });
  });

  test("an existing installation with looser modes is tightened at open, with one log line", async () => {
    await withTempDir(async (root) => {
      const dataDir = join(root, "data");
      await deliverOne(dataDir);
      await chmod(dataDir, 0o755);
      await chmod(join(dataDir, "mailroom.db"), 0o644);
      await chmod(join(dataDir, "messages"), 0o755);
      await mkdir(join(dataDir, "tls"), { mode: 0o755 });
      await chmod(join(dataDir, "tls"), 0o755);
      const lines: string[] = [];
      const logger = pino(
        { level: "info" },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      const store = await openSqliteStore({ dataDir, logger });
      await store.close();
      assert.equal(await modeOf(dataDir), 0o700);
      assert.equal(await modeOf(join(dataDir, "mailroom.db")), 0o600);
      assert.equal(await modeOf(join(dataDir, "messages")), 0o700);
      assert.equal(await modeOf(join(dataDir, "tls")), 0o700);
      const warnings = lines.filter((line) => line.includes("tightened the permissions"));
      assert.equal(warnings.length, 1, lines.join(""));
      assert.match(warnings[0] ?? "", /4 path\(s\)/);
      const again: string[] = [];
      const quiet = pino(
        { level: "info" },
        new Writable({
          write(chunk, _encoding, done) {
            again.push(String(chunk));
            done();
          },
        }),
      );
      await (await openSqliteStore({ dataDir, logger: quiet })).close();
      assert.equal(again.filter((line) => line.includes("tightened")).length, 0, "nothing left to tighten");
    });
  });
});
