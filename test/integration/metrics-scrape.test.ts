// The metrics listener of a real `mailroom serve`, scraped over HTTP after real SMTP, IMAP and POP3
// traffic and parsed as Prometheus text: each counter moved by exactly what the clients did, the
// histograms counted the commands, the queue gauge shows a queued remote message, and /healthz and
// /readyz answer 200.

import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { parseExposition, sampleValue } from "../support/prometheus.js";
import { startTestServer, type TestServer } from "../support/server.js";

const USER = "dora@example.org";
const PASSWORD = "metrics scrape pw";

async function scrape(server: TestServer): Promise<ReturnType<typeof parseExposition>> {
  const response = await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

/** One POP3 session: USER/PASS (good or bad), STAT, QUIT. */
async function pop3(server: TestServer, password: string): Promise<string> {
  const socket = createConnection({ host: "127.0.0.1", port: server.ports.pop3 });
  socket.setEncoding("utf8");
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  let buffered = "";
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
      lines.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
      waiting.shift()?.();
    }
  });
  const next = async () => {
    if (lines.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    return lines.shift() as string;
  };
  const send = (line: string) => {
    socket.write(`${line}\r\n`);
    return next();
  };
  try {
    await next();
    await send(`USER ${USER}`);
    const pass = await send(`PASS ${password}`);
    if (pass.startsWith("+OK")) await send("STAT");
    await send("QUIT");
    return pass;
  } finally {
    socket.destroy();
  }
}

describe("metrics scraped from a running server", () => {
  let server: TestServer;

  before(async () => {
    // The relay must not drain the queue during the test: its first pass is far off.
    server = await startTestServer({ env: { MAILROOM_RELAY_POLL_INTERVAL: "1h" } });
    assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
    assert.equal((await server.cli(["user", "add", USER, "--password-stdin"], `${PASSWORD}\n`)).code, 0);
  });

  after(async () => {
    await server?.cleanup();
  });

  test("health and readiness", async () => {
    const health = await fetch(`http://127.0.0.1:${server.ports.metrics}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${server.ports.metrics}/readyz`);
    assert.equal(ready.status, 200);
  });

  test("counters, gauges and histograms follow SMTP, IMAP and POP3 traffic", async () => {
    const before = await scrape(server);
    const value = (families: typeof before, name: string, labels: Record<string, string> = {}) => {
      try {
        return sampleValue(families, name, labels);
      } catch {
        return 0;
      }
    };

    const mx = nodemailer.createTransport({ host: "127.0.0.1", port: server.ports.smtp, ignoreTLS: true });
    await mx.sendMail({ from: "ann@remote.test", to: USER, subject: "one", text: "hello" });
    await mx.sendMail({ from: "ann@remote.test", to: USER, subject: "two", text: "hello again" });
    await assert.rejects(
      mx.sendMail({ from: "ann@remote.test", to: "nobody@example.org", subject: "x", text: "x" }),
    );
    mx.close();
    const submission = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.ports.submission,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: USER, pass: PASSWORD },
    });
    await submission.sendMail({ from: USER, to: "far@remote.test", subject: "out", text: "queued" });
    submission.close();

    const imap = new ImapFlow({
      host: "127.0.0.1",
      port: server.ports.imap,
      secure: false,
      doSTARTTLS: false,
      auth: { user: USER, pass: PASSWORD },
      logger: false,
    });
    await imap.connect();
    await imap.mailboxOpen("INBOX");
    for await (const _ of imap.fetch("1:*", { envelope: true })) void _;
    await imap.logout();
    const refused = new ImapFlow({
      host: "127.0.0.1",
      port: server.ports.imap,
      secure: false,
      doSTARTTLS: false,
      auth: { user: USER, pass: "wrong password" },
      logger: false,
    });
    await assert.rejects(refused.connect());
    assert.match(await pop3(server, PASSWORD), /^\+OK/);
    assert.match(await pop3(server, "wrong password"), /^-ERR/);

    const after = await scrape(server);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    assert.equal(moved("mailroom_smtp_messages_accepted_total", { listener: "smtp" }), 2);
    assert.equal(moved("mailroom_smtp_messages_accepted_total", { listener: "submission" }), 1);
    // 550 5.1.1 for the unknown recipient: subject 1 of RFC 3463 is addressing.
    assert.equal(
      moved("mailroom_smtp_refusals_total", {
        listener: "smtp",
        stage: "rcpt",
        class: "5xx",
        reason: "addressing",
      }),
      1,
    );
    assert.equal(moved("mailroom_auth_failures_total", { proto: "imap", reason: "bad-credentials" }), 1);
    assert.equal(moved("mailroom_auth_failures_total", { proto: "pop3", reason: "bad-credentials" }), 1);
    assert.equal(moved("mailroom_connections_total", { proto: "smtp", listener: "smtp" }) >= 1, true);
    assert.equal(moved("mailroom_connections_total", { proto: "imap", listener: "imap" }), 2);
    assert.equal(moved("mailroom_connections_total", { proto: "pop3", listener: "pop3" }), 2);
    assert.equal(value(after, "mailroom_sessions_open", { proto: "imap" }), 0, "the IMAP session closed");
    assert.equal(
      moved("mailroom_command_duration_seconds_count", { proto: "imap", command: "UID FETCH" }) +
        moved("mailroom_command_duration_seconds_count", { proto: "imap", command: "FETCH" }) >=
        1,
      true,
    );
    assert.equal(moved("mailroom_command_duration_seconds_count", { proto: "pop3", command: "STAT" }), 1);
    assert.equal(value(after, "mailroom_queue_size"), 1, "the remote recipient waits in the queue");
    assert.ok(value(after, "mailroom_queue_oldest_age_seconds") >= 0);
    const storeOps = after.get("mailroom_store_operation_duration_seconds");
    assert.ok(storeOps && storeOps.samples.length > 0, "store latencies are measured");
  });
});
