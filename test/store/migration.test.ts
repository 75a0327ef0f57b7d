import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { SCHEMA_VERSION } from "../../src/store/sqlite/schema.js";
import { StoreError } from "../../src/store/types.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const digest = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

test("a fresh data dir is created and migrated; reopening keeps the data", async () => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, "nested", "data");
    const first = await openSqliteStore({ dataDir, logger: silentLogger });
    await first.addDomain("kept.example");
    await first.addUser("a@kept.example", CREDENTIALS);
    await first.close();
    const db = new Database(join(dataDir, "mailroom.db"), { readonly: true });
    assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
    const second = await openSqliteStore({ dataDir, logger: silentLogger });
    assert.ok(await second.getUser("a@kept.example"));
    await second.close();
  });
});

test("a database from a newer mailroom is refused and left untouched", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    await store.addDomain("future.example");
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
