// The server's status with its recent errors, against a real `mailroom serve` on both stores: a relay
// bounce (the remote MX, scripted on loopback, refuses the recipient with 550) is logged as a warning and
// shows up, redacted and newest first, in GET /admin/api/status and in `mailroom status` (text and
// --json), which reads it over the control socket; both name the answering node. An admin cannot
// disable, demote or remove their own account over HTTP (409). Stopped, the server is reported down with
// what the store still says, and exit code 69.

import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Remote, startRemote } from "../queue/remote.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { startSendingServer, submitMail } from "../support/sending-server.js";
import { integrationBackends, type TestServer } from "../support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

const ADMIN = "root@example.org";
const PASSWORD = "a long enough passphrase";
const asAdmin = { Authorization: `Basic ${Buffer.from(`${ADMIN}:${PASSWORD}`).toString("base64")}` };

for (const backend of await integrationBackends()) {
  describe(`server status and recent errors on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let remote: Remote;
    let dns: TestDns;
    let base = "";
    let messageId = "";

    const status = async (): Promise<Loose> => {
      const response = await fetch(`${base}/admin/api/status`, { headers: asAdmin });
      assert.equal(response.status, 200);
      return (await response.json()) as Loose;
    };

    before(async () => {
      remote = await startRemote({ rcpt: () => "550 5.1.1 no such user here" });
      dns = await startTestDns({
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
      });
      server = await startSendingServer({
        ...(backend.store ? { store: backend.store } : {}),
        dns,
        relayPort: remote.port,
        pollInterval: "200ms",
        retrySchedule: "1s",
        user: { address: ADMIN, password: PASSWORD },
        env: { MAILROOM_LISTENERS_HTTP_ENABLED: "true", MAILROOM_LOG_RECENT_ERRORS: "50" },
      });
      assert.equal((await server.cli(["user", "admin", ADMIN, "on"])).code, 0);
      base = `http://127.0.0.1:${server.ports.http}`;
      const info = await submitMail(
        server,
        { user: ADMIN, pass: PASSWORD },
        { from: ADMIN, to: "nobody@example.net", subject: "secret subject", text: "secret body" },
      );
      messageId = /queued as (\S+)/.exec(info.response)?.[1] ?? "";
      assert.ok(messageId, info.response);
    });

    after(async () => {
      await server?.cleanup();
      await remote?.close();
      await dns?.close();
      await backend.release();
    });

    test("the bounce's warning in GET /admin/api/status: newest first, redacted, for this node", async () => {
      const json = await eventually("the bounce among the recent errors", async () => {
        const got = await status();
        const found = (got.recentErrors?.events as Loose[] | undefined)?.some(
          (event) => event.message === "queue: returning to sender",
        );
        return found ? got : undefined;
      });
      const pid = Number((await readFile(join(server.dataDir, "serve.pid"), "utf8")).trim());
      assert.deepEqual(json.node, { host: os.hostname(), pid });
      const recent = json.recentErrors as Loose;
      assert.equal(recent.node, os.hostname());
      assert.equal(recent.capacity, 50);
      assert.equal(recent.dropped, 0);
      assert.ok(recent.total >= 1);
      const events = recent.events as Loose[];
      const times = events.map((event) => Date.parse(event.time));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        "newest first",
      );
      const bounce = events.find((event) => event.message === "queue: returning to sender") as Loose;
      assert.equal(bounce.level, "warn");
      assert.equal(bounce.proto, "queue");
      assert.equal(bounce.fields.messageId, messageId);
      assert.equal(bounce.fields.to, "nobody@example.net");
      assert.match(String(bounce.fields.result), /550 5\.1\.1 no such user here/);
      const text = JSON.stringify(json);
      assert.equal(/secret (subject|body)/.test(text), false, "no message content");
      assert.equal(text.includes(PASSWORD), false);
    });

    test("mailroom status: the same, over the control socket (0600), as text and --json", async () => {
      const socket = await stat(join(server.dataDir, "control.sock"));
      assert.ok(socket.isSocket());
      assert.equal(socket.mode & 0o777, 0o600);
      const text = await server.cli(["status"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^mailroom 0\\.1\\.0 running on ${os.hostname()} \\(pid \\d+\\)`));
      assert.match(text.stdout, new RegExp(`store ${backend.name}`));
      assert.match(text.stdout, /^up \d+ min \d+ s, since /m);
      assert.match(text.stdout, new RegExp(`^ {2}http +127\\.0\\.0\\.1:${server.ports.http}$`, "m"));
      assert.match(text.stdout, /^domains 1, users 1, aliases 0$/m);
      assert.match(text.stdout, /^queue: (empty|\d+ waiting)/m);
      assert.match(text.stdout, /^recent errors on .*, newest first \(\d+ kept of at most 50\):$/m);
      assert.match(
        text.stdout,
        new RegExp(
          `^ {2}\\S+ {2}warn {3}\\[queue\\] queue: returning to sender {2}.*messageId=${messageId} to=nobody@example\\.net`,
          "m",
        ),
      );
      assert.equal(/secret (subject|body)/.test(text.stdout), false);

      const json = await server.cli(["status", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as Loose;
      assert.equal(parsed.running, true);
      const api = await status();
      // One code path: the CLI prints the admin API's answer (uptime moves on between the two calls).
      for (const key of ["version", "hostname", "store", "startedAt", "node", "listeners"]) {
        assert.deepEqual(parsed[key], api[key], key);
      }
      assert.deepEqual(
        (parsed.recentErrors.events as Loose[]).find(
          (event) => event.message === "queue: returning to sender",
        ),
        (api.recentErrors.events as Loose[]).find((event) => event.message === "queue: returning to sender"),
      );
    });

    test("an admin cannot disable, demote or remove their own account over HTTP: 409, unchanged", async () => {
      const call = (method: string, path: string, body: unknown) =>
        fetch(`${base}/admin/api${path}`, {
          method,
          headers: { ...asAdmin, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
      for (const [method, path, body, words] of [
        ["PUT", `/users/${ADMIN}/disabled`, { disabled: true }, "disable"],
        ["PUT", `/users/${ADMIN}/admin`, { admin: false }, "take the admin role from"],
        ["DELETE", `/users/${ADMIN}`, {}, "remove"],
      ] as const) {
        const response = await call(method, path, body);
        assert.equal(response.status, 409, path);
        assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
        const problem = (await response.json()) as Loose;
        assert.equal(problem.code, "conflict");
        assert.equal(
          problem.detail,
          `you are logged in as ${ADMIN} and cannot ${words} your own account: you would lock yourself out; ask another admin, or use 'mailroom user' on the server`,
        );
      }
      assert.equal((await status()).counts.users, 1, "still there, and still an admin");
      assert.match((await server.cli(["user", "list"])).stdout, /^root@example\.org$/m);
    });

    test("stopped: mailroom status says it is down, with the store's counts and queue; exit 69", async () => {
      assert.equal(await server.stop(), 0);
      const down = await server.cli(["status"]);
      assert.equal(down.code, 69, down.stderr);
      assert.match(
        down.stdout,
        new RegExp(
          `^mailroom is not running here: nothing answers at ${server.dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/control\\.sock; start it with 'mailroom serve'`,
        ),
      );
      assert.match(down.stdout, /^ {2}domains 1, users 1, aliases 0$/m);
      assert.match(down.stdout, /^ {2}queue: (empty|\d+ waiting)/m);
      const json = await server.cli(["status", "--json"]);
      assert.equal(json.code, 69);
      const parsed = JSON.parse(json.stdout) as Loose;
      assert.deepEqual([parsed.running, parsed.counts.users, parsed.store], [false, 1, backend.name]);
      assert.match(parsed.reason, /nothing answers at/);
    });
  });
}
