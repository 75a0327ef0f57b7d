// Relay between two real servers: A (example.org) takes alice's submission and its queue runner delivers
// to B (example.net), found through a loopback DNS server's MX record. Covers delivery with the DKIM
// signature intact (checked by an independent verifier, dkimpy), deferral while B is down, the bounce
// (RFC 3464 DSN) when B refuses a recipient, and `mailroom send` straight to B's MX.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { startSendingServer } from "../support/sending-server.js";
import { integrationBackends, runCli, startTestServer, type TestServer } from "../support/server.js";

const alicePassword = "alice's long passphrase";

// The harness gives no port to the HTTP listener; unused here, it stays off rather than collide on its
// default port with another test's server.
const UNUSED_LISTENERS_OFF = { MAILROOM_LISTENERS_HTTP_ENABLED: "false" };

interface Listed {
  uid: number;
  subject: string;
}

interface QueueListed {
  recipient: string;
  attempts: number;
  lastError: string | null;
}

let serverA: TestServer;
let serverB: TestServer;
let dns: TestDns;
let counter = 0;

function uniqueSubject(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}

async function inbox(server: TestServer, address: string): Promise<Listed[]> {
  const result = await server.cli(["mail", "list", address, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Listed[];
}

async function cat(server: TestServer, address: string, uid: number): Promise<string> {
  const result = await server.cli(["mail", "cat", address, "INBOX", String(uid)]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function queue(server: TestServer): Promise<QueueListed[]> {
  const result = await server.cli(["queue", "list", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueListed[];
}

/** Polls until `probe` returns a value (the relay runs on its own schedule); fails after 20 s. */
async function arrived(server: TestServer, address: string, match: (m: Listed) => boolean): Promise<string> {
  const found = await eventually(`a message for ${address}`, async () =>
    (await inbox(server, address)).find(match),
  );
  return cat(server, address, found.uid);
}

async function submit(to: string, subject: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: serverA.ports.submission,
    requireTLS: true,
    auth: { user: "alice@example.org", pass: alicePassword },
    tls: { rejectUnauthorized: false },
  });
  try {
    await transport.sendMail({
      from: "Alice <alice@example.org>",
      to,
      subject,
      text: `relay test ${subject}`,
    });
  } finally {
    transport.close();
  }
}

/** The header section's field lines, unfolded. */
function headerFields(message: string): string[] {
  const end = message.indexOf("\r\n\r\n");
  return message
    .slice(0, end < 0 ? message.length : end)
    .replace(/\r\n[ \t]/g, " ")
    .split("\r\n");
}

/** Verifies the message's DKIM signature with dkimpy, the key given as its DNS TXT value. */
async function dkimVerifies(message: string, txtName: string, txtValue: string): Promise<string> {
  const script = [
    "import dkim, sys",
    "name, value = sys.argv[1], sys.argv[2]",
    "def lookup(query, timeout=5):",
    "    q = query.decode() if isinstance(query, bytes) else query",
    "    return value.encode() if q.rstrip('.') == name else None",
    "print(dkim.verify(sys.stdin.buffer.read(), dnsfunc=lookup))",
  ].join("\n");
  const child = spawn(clients.pythonDkim.binary, ["-c", script, txtName, txtValue]);
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", () => resolve());
  });
  child.stdin.end(Buffer.from(message, "latin1"));
  await done;
  return out.trim();
}

for (const backend of await integrationBackends()) {
  // B only receives; it stays on SQLite so that two servers never share one database.
  describe(`relay A (example.org, ${backend.name}) → B (example.net)`, { skip: backend.skip }, () => {
    before(async () => {
      serverB = await startTestServer({
        env: { ...UNUSED_LISTENERS_OFF, MAILROOM_HOSTNAME: "mx.example.net" },
      });
      assert.equal((await serverB.cli(["domain", "add", "example.net"])).code, 0);
      const bob = await serverB.cli(["user", "add", "bob@example.net", "--password-stdin"], "bob's secret\n");
      assert.equal(bob.code, 0, bob.stderr);

      dns = await startTestDns({
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
      });
      serverA = await startSendingServer({
        store: backend.store,
        dns,
        relayPort: serverB.ports.smtp,
        pollInterval: "200ms",
        retrySchedule: "1s",
        user: { address: "alice@example.org", password: alicePassword },
      });
    });

    after(async () => {
      await serverA?.cleanup();
      await serverB?.cleanup();
      await dns?.close();
      await backend.release();
    });

    test("submitted on A, delivered to bob's INBOX on B with A's DKIM signature intact", {
      skip: needs(clients.pythonDkim),
    }, async () => {
      const subject = uniqueSubject("relayed");
      await submit("bob@example.net", subject);
      const message = await arrived(serverB, "bob@example.net", (m) => m.subject === subject);

      const fields = headerFields(message);
      const returnPaths = fields.filter((f) => /^Return-Path:/i.test(f));
      assert.deepEqual(returnPaths, ["Return-Path: <alice@example.org>"]);
      // B's Received names A's EHLO and B's own host; A's own Received is below it.
      const received = fields.filter((f) => /^Received:/i.test(f));
      assert.equal(received.length, 2, received.join("\n"));
      assert.match(received[0] ?? "", /from mx\.example\.org .*by mx\.example\.net/);
      assert.match(message, /relay test /);

      const shown = await serverA.cli(["dkim", "show", "example.org"]);
      assert.equal(shown.code, 0, shown.stderr);
      const zone = /^(\S+)\. IN TXT \( (.*) \)$/m.exec(shown.stdout);
      assert.ok(zone, shown.stdout);
      const txtValue = [...(zone[2] ?? "").matchAll(/"([^"]*)"/g)].map((m) => m[1]).join("");
      assert.equal(await dkimVerifies(message, zone[1] ?? "", txtValue), "True");
      // The check can fail: the same signature on altered bytes does not verify.
      assert.equal(
        await dkimVerifies(message.replace("relay test", "relay TEST"), zone[1] ?? "", txtValue),
        "False",
      );
    });

    test("B down: A defers with attempts and the error; B back: delivered exactly once", async () => {
      assert.equal(await serverB.stop(), 0);
      const subject = uniqueSubject("deferred");
      await submit("bob@example.net", subject);
      const deferred = await eventually("a deferred queue entry", async () =>
        (await queue(serverA)).find((e) => e.recipient === "bob@example.net" && e.attempts >= 1),
      );
      assert.ok(deferred.lastError, "the last error is recorded");
      assert.match(deferred.lastError, /127\.0\.0\.1|connect|refused/i);

      await serverB.restart();
      await arrived(serverB, "bob@example.net", (m) => m.subject === subject);
      await eventually("an empty queue", async () =>
        (await queue(serverA)).length === 0 ? true : undefined,
      );
      // Another poll or two on A must not deliver it again.
      await new Promise((r) => setTimeout(r, 1_000));
      const copies = (await inbox(serverB, "bob@example.net")).filter((m) => m.subject === subject);
      assert.equal(copies.length, 1);
    });

    test("a recipient B refuses comes back to alice on A as a multipart/report DSN", async () => {
      const subject = uniqueSubject("refused");
      await submit("nobody@example.net", subject);
      const bounce = await arrived(serverA, "alice@example.org", (m) => m.subject !== subject);
      const fields = headerFields(bounce);
      assert.ok(
        fields.some((f) => /^Content-Type: multipart\/report;.*report-type="?delivery-status/i.test(f)),
        fields.join("\n"),
      );
      assert.ok(fields.includes("Return-Path: <>"), "a DSN has the null reverse path (RFC 3464 §2)");
      assert.match(bounce, /^Final-Recipient: rfc822; ?nobody@example\.net\r$/im);
      assert.match(bounce, /^Action: failed\r$/im);
      assert.match(bounce, /^Status: 5\.\d\.\d+\r$/im);
      assert.match(bounce, /^Diagnostic-Code: smtp; ?550/im);
      assert.ok(bounce.includes(subject), "the returned header names the original subject");
      assert.equal((await queue(serverA)).length, 0);
    });

    test("mailroom send without --server delivers straight to B's MX", async () => {
      const subject = uniqueSubject("direct");
      const result = await runCli(
        ["send", "--from", "alice@example.org", "--to", "bob@example.net", "--subject", subject],
        {
          ...serverA.env,
          MAILROOM_SEND_RESOLVER: `${dns.address}:${dns.port}`,
          MAILROOM_SEND_MX_PORT: String(serverB.ports.smtp),
        },
        "sent directly\n",
      );
      assert.equal(result.code, 0, result.stderr);
      const message = await arrived(serverB, "bob@example.net", (m) => m.subject === subject);
      assert.match(message, /sent directly/);
      assert.equal((await queue(serverA)).length, 0, "nothing went through A's queue");
    });
  });
}
