import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { QueueListing } from "../../src/cli/queue.js";
import { queueMessage } from "../queue/helpers.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

describe("mailroom queue", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  let ids: string[] = [];
  const cli = (argv: string[]) => runCli(["queue", ...argv, "--data-dir", dataDir]);

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    await withTestStore(dataDir, async (store) => {
      const queued = await queueMessage(store, {
        sender: "alice@example.org",
        recipients: [
          { recipient: "bob@remote.test", dsn: { notify: ["FAILURE"], orcpt: "rfc822;bob@remote.test" } },
          "carol@remote.test",
        ],
        body: "From: alice@example.org\r\nSubject: queued one\r\n\r\nbody\r\n",
        envelopeDsn: { ret: "HDRS", envid: "E-1" },
      });
      ids = queued.queueIds;
      const second = ids[1] ?? "";
      await store.queue.claim(new Date(Date.now() + 1000), 10, 60_000);
      await store.queue.defer(ids[0] ?? "", new Date(Date.now() + 3_600_000), "451 4.7.1 Greylisted\x1b[31m");
      await store.queue.defer(second, new Date(Date.now() + 3_600_000), "421 4.4.2 Timeout");
    });
  });
  after(() => cleanup());

  test("list shows every entry; --json gives the fields", async () => {
    const table = await cli(["list"]);
    assert.equal(table.code, 0, table.stderr);
    const text = table.stdout.toString();
    assert.match(text, /^ID\s+SENDER\s+RECIPIENT\s+ATTEMPTS\s+NEXT TRY\s+LAST ERROR$/m);
    assert.match(text, /bob@remote\.test\s+1\s+.*451 4\.7\.1 Greylisted\uFFFD\[31m/);
    const json = await cli(["list", "--json"]);
    const entries = JSON.parse(json.stdout.toString()) as QueueListing[];
    assert.deepEqual(entries.map((entry) => entry.recipient).sort(), [
      "bob@remote.test",
      "carol@remote.test",
    ]);
    assert.ok(entries.every((entry) => entry.attempts === 1 && entry.state === "queued"));
  });

  test("show adds DSN parameters and the message header", async () => {
    const run = await cli(["show", ids[0] ?? ""]);
    assert.equal(run.code, 0, run.stderr);
    const text = run.stdout.toString();
    assert.match(text, /^NOTIFY:\s+FAILURE$/m);
    assert.match(text, /^ORCPT:\s+rfc822;bob@remote\.test$/m);
    assert.match(text, /^RET:\s+HDRS$/m);
    assert.match(text, /^ENVID:\s+E-1$/m);
    assert.match(text, /^Subject: queued one$/m);
    const missing = await cli(["show", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no queue entry 'nope'; see 'mailroom queue list'/);
  });

  test("retry makes entries due now", async () => {
    const one = await cli(["retry", ids[0] ?? ""]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout.toString(), /^1 entry is due now/);
    await withTestStore(dataDir, async (store) => {
      const entry = await store.queue.get(ids[0] ?? "");
      assert.ok(entry && entry.nextAttemptAt.getTime() <= Date.now());
      const other = await store.queue.get(ids[1] ?? "");
      assert.ok(other && other.nextAttemptAt.getTime() > Date.now(), "only the named entry");
    });
    const all = await cli(["retry"]);
    assert.match(all.stdout.toString(), /^2 entries are due now/);
  });

  test("delete says what it removes and removes it; usage errors exit 64", async () => {
    const run = await cli(["delete", ids[1] ?? ""]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout.toString(),
      /removing queue entry .*alice@example\.org -> carol@remote\.test \(1 attempts/,
    );
    await withTestStore(dataDir, async (store) => {
      assert.equal(await store.queue.get(ids[1] ?? ""), null);
      assert.ok(await store.queue.get(ids[0] ?? ""));
    });
    assert.equal((await cli(["delete"])).code, 64);
    assert.equal((await cli(["frobnicate"])).code, 64);
  });
});
