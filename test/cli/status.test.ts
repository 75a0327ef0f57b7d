// `mailroom status` without a real server (the integration test has one): what it says when nothing
// answers on the control socket (no socket, a dead server's file, a live lock holder that does not
// answer), how it prints a status a server answered — recent errors with what was dropped — and a
// server's refusal, all through a real Unix socket.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

const answered = {
  version: "0.1.0",
  hostname: "mx.example.org",
  store: "sqlite",
  counts: { domains: 1, users: 2, aliases: 0, queued: 3 },
  oldestQueuedAt: "2026-12-04T09:00:00.000Z",
  startedAt: "2026-12-04T08:00:00.000Z",
  uptimeSeconds: 3723,
  listeners: [
    { name: "smtp", host: "0.0.0.0", port: 25 },
    { name: "submission", host: "0.0.0.0", port: 587 },
  ],
  node: { host: "node-a", pid: 4242 },
  recentErrors: {
    node: "node-a",
    capacity: 2,
    total: 5,
    dropped: 3,
    events: [
      {
        time: "2026-12-04T10:00:02.000Z",
        level: "error",
        message: "queue: could not send a delivery notice",
        proto: null,
        fields: { err: { type: "StoreError", message: "disk full" } },
      },
      {
        time: "2026-12-04T10:00:01.000Z",
        level: "warn",
        message: "queue: returning to sender",
        proto: "queue",
        fields: { to: "nobody@example.net", result: "550 5.1.1 no such user here" },
      },
    ],
  },
};

/** A stand-in server on the data directory's control socket. */
async function fakeServer(dataDir: string, answer: (url: string) => [number, unknown]): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const [status, body] = answer(request.url ?? "");
    response.writeHead(status, { "Content-Type": "application/json" });
    response.end(JSON.stringify(body));
  });
  const path = join(dataDir, "control.sock");
  await rm(path, { force: true });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

const close = (server: http.Server) => new Promise((resolve) => server.close(resolve));

describe("mailroom status", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  let sleeper: ChildProcess | null = null;

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    await withTestStore(dataDir, async (store) => {
      await store.directory.addDomain("example.org");
    });
  });
  after(async () => {
    sleeper?.kill();
    await cleanup();
  });

  test("no server: it says so and how to start one, prints the store's counts, exits 69", async () => {
    const run = await runCli(["status", "--data-dir", dataDir]);
    assert.equal(run.code, 69, run.stderr);
    assert.equal(
      run.stdout.toString(),
      `mailroom is not running here: nothing answers at ${dataDir}/control.sock; start it with 'mailroom serve'
store sqlite (mailroom 0.1.0, hostname ${hostname()}):
  domains 1, users 0, aliases 0
  queue: empty
`,
    );
    const json = await runCli(["status", "--json", "--data-dir", dataDir]);
    assert.equal(json.code, 69);
    const parsed = JSON.parse(json.stdout.toString());
    assert.deepEqual([parsed.running, parsed.counts.domains], [false, 1]);
  });

  test("a dead server's socket file is no server either", async () => {
    await writeFile(join(dataDir, "control.sock"), "");
    const run = await runCli(["status", "--data-dir", dataDir]);
    assert.equal(run.code, 69, run.stderr);
    assert.match(run.stdout.toString(), /^mailroom is not running here: nothing answers at /);
  });

  test("a live lock holder that does not answer: still starting, or older; not 'start it'", async () => {
    sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    await writeFile(join(dataDir, "serve.pid"), `${sleeper.pid}\n`);
    const run = await runCli(["status", "--data-dir", dataDir]);
    assert.equal(run.code, 69, run.stderr);
    assert.match(
      run.stdout.toString(),
      new RegExp(
        `^mailroom does not answer here: a mailroom serve \\(pid ${sleeper.pid}\\) holds .*: it may still be starting, or be an older version without a control socket; try again, or restart it`,
      ),
    );
    sleeper.kill();
    sleeper = null;
  });

  test("a server's answer: listeners, uptime, queue, recent errors newest first with the dropped count", async () => {
    const server = await fakeServer(dataDir, (url) =>
      url === "/admin/api/status" ? [200, answered] : [404, { detail: "no" }],
    );
    try {
      const run = await runCli(["status", "--data-dir", dataDir]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout.toString(),
        `mailroom 0.1.0 running on node-a (pid 4242): hostname mx.example.org, store sqlite
up 1 h 2 min, since 2026-12-04T08:00:00.000Z
listeners:
  smtp        0.0.0.0:25
  submission  0.0.0.0:587
domains 1, users 2, aliases 0
queue: 3 waiting, the oldest since 2026-12-04T09:00:00.000Z
recent errors on node-a, newest first (2 kept of at most 2, 3 older ones dropped):
  2026-12-04T10:00:02.000Z  error  queue: could not send a delivery notice  err="disk full"
  2026-12-04T10:00:01.000Z  warn   [queue] queue: returning to sender  to=nobody@example.net result="550 5.1.1 no such user here"
`,
      );
      const json = await runCli(["status", "--json", "--data-dir", dataDir]);
      assert.deepEqual(JSON.parse(json.stdout.toString()), { running: true, ...answered });
    } finally {
      await close(server);
    }
  });

  test("a server that cannot give its status: its words, exit 70", async () => {
    const server = await fakeServer(dataDir, () => [
      500,
      { detail: "the status could not be read; see the log" },
    ]);
    try {
      const run = await runCli(["status", "--data-dir", dataDir]);
      assert.equal(run.code, 70);
      assert.match(
        run.stderr,
        /could not give its status \(500: the status could not be read; see the log\)/,
      );
    } finally {
      await close(server);
    }
  });

  test("no store and no server: the usual 'no mailroom store' refusal", async () => {
    const run = await runCli(["status", "--data-dir", join(dataDir, "nowhere")]);
    assert.equal(run.code, 66);
    assert.match(run.stderr, /no mailroom store in/);
  });
});
