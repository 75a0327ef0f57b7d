// An admin command pointed at a PostgreSQL database without mailroom's schema (a mistyped database name,
// a fresh server) stops with exit 66 and creates nothing there; only `init` (and a first `serve`) sets
// the schema up.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { runCli } from "../support/server.js";

const postgres = await startTestPostgres();

async function tableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>(
      "SELECT count(*) AS count FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return Number(result.rows[0]?.count);
  } finally {
    await client.end();
  }
}

describe("a PostgreSQL database without a store", { skip: postgres ? false : POSTGRES_SKIP_REASON }, () => {
  let database: TestPostgres;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    database = postgres as TestPostgres;
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-nostore-"));
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      MAILROOM_STORE: database.url,
      MAILROOM_DATA_DIR: dataDir,
    };
  });
  after(async () => {
    await database?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("domain add exits 66 naming what to set, and leaves the database empty", async () => {
    const result = await runCli(["domain", "add", "typo.example"], env);
    assert.equal(result.code, 66, result.stderr);
    assert.match(result.stderr, /holds no mailroom store/);
    assert.match(result.stderr, /MAILROOM_STORE/);
    assert.match(result.stderr, /mailroom init/);
    assert.equal(await tableCount(database.url), 0);
  });

  test("init creates the schema and says so; then commands work; a second init changes nothing", async () => {
    const first = await runCli(["init"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /created a mailroom store in the PostgreSQL database/);
    assert.ok((await tableCount(database.url)) > 0);
    const add = await runCli(["domain", "add", "right.example"], env);
    assert.equal(add.code, 0, add.stderr);
    const again = await runCli(["init"], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already holds a mailroom store/);
  });
});
