// `serve` makes the data directory private whatever the store: on PostgreSQL the directory holds no
// database, but it does hold the TLS key and serve.pid, which the SQLite store's own pass never sees.

import assert from "node:assert/strict";
import { chmod, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { startTestServer, type TestServer } from "../support/server.js";

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

const postgres = await startTestPostgres();

describe("serve on a PostgreSQL store tightens the data directory", {
  skip: postgres ? false : POSTGRES_SKIP_REASON,
}, () => {
  let database: TestPostgres;
  let server: TestServer;
  before(async () => {
    database = postgres as TestPostgres;
    server = await startTestServer({ store: database.url });
  });
  after(async () => {
    await server?.cleanup();
    await database?.stop();
  });

  test("looser modes from before are tightened at the next start, with one warning naming them", async () => {
    const { dataDir } = server;
    assert.equal(await modeOf(join(dataDir, "tls", "key.pem")), 0o600, "a new key is private");
    await server.stop();
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, "tls"), 0o755);
    await chmod(join(dataDir, "tls", "key.pem"), 0o644);
    const before = server.logs().length;
    await server.restart();
    assert.equal(await modeOf(dataDir), 0o700);
    assert.equal(await modeOf(join(dataDir, "tls")), 0o700);
    assert.equal(await modeOf(join(dataDir, "tls", "key.pem")), 0o600);
    const warnings = server
      .logs()
      .slice(before)
      .filter((line) => String(line.msg).startsWith("tightened the permissions"));
    assert.equal(warnings.length, 1, JSON.stringify(server.logs().slice(before)));
    assert.match(String(warnings[0]?.msg), /3 path\(s\)/);
  });
});
