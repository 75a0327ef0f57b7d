// Relaying through a smarthost: server A sends all outbound mail through server B's submission port
// (STARTTLS required, AUTH PLAIN/LOGIN with the password from a file), as when port 25 is blocked. The
// recipient's domain has no DNS at all, so only the smarthost can have delivered it. A wrong password
// first: the queue says AUTH was refused; then the right one, and the retry arrives at B, authenticated.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { listQueue, startSendingServer } from "../support/sending-server.js";
import { startTestServer, type TestServer } from "../support/server.js";

const alice = { address: "alice@example.org", password: "alice's long passphrase" };
const relayPassword = "the relay's own passphrase";

describe("relay through a smarthost with STARTTLS and AUTH", () => {
  let dns: TestDns;
  let serverA: TestServer;
  let serverB: TestServer;
  let secrets: string;
  let passwordFile: string;

  before(async () => {
    dns = await startTestDns({});
    secrets = await mkdtemp(join(tmpdir(), "mailroom-smarthost-"));
    passwordFile = join(secrets, "smarthost-password");
    await writeFile(passwordFile, "not the password\n", { mode: 0o600 });
    serverB = await startTestServer({
      env: { MAILROOM_LISTENERS_HTTP_ENABLED: "false", MAILROOM_HOSTNAME: "smarthost.example.com" },
    });
    for (const args of [
      ["domain", "add", "example.org"],
      ["domain", "add", "example.net"],
    ]) {
      const run = await serverB.cli(args);
      assert.equal(run.code, 0, run.stderr);
    }
    for (const [user, password] of [
      [alice.address, relayPassword],
      ["bob@example.net", "bob's long passphrase"],
    ] as const) {
      const run = await serverB.cli(["user", "add", user, "--password-stdin"], `${password}\n`);
      assert.equal(run.code, 0, run.stderr);
    }
    serverA = await startSendingServer({
      dns,
      relayPort: 1,
      pollInterval: "200ms",
      retrySchedule: "1s",
      user: alice,
      env: {
        MAILROOM_RELAY_SMARTHOST: `127.0.0.1:${serverB.ports.submission}`,
        MAILROOM_RELAY_SMARTHOST_USER: alice.address,
        MAILROOM_RELAY_SMARTHOST_PASSWORD_FILE: passwordFile,
        // B's generated certificate names 127.0.0.1; A trusts it the way it would trust a real CA's.
        NODE_EXTRA_CA_CERTS: join(serverB.dataDir, "tls", "cert.pem"),
      },
    });
  });
  after(async () => {
    await serverA?.cleanup();
    await serverB?.cleanup();
    await dns?.close();
    await rm(secrets, { recursive: true, force: true });
  });

  test("a refused AUTH is named in the queue; with the right password the retry is delivered", async () => {
    const subject = `smarthost-${process.pid}`;
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: serverA.ports.submission,
      requireTLS: true,
      auth: { user: alice.address, pass: alice.password },
      tls: { rejectUnauthorized: false },
    });
    try {
      await transport.sendMail({
        from: alice.address,
        to: "bob@example.net",
        subject,
        text: "via the smarthost",
      });
    } finally {
      transport.close();
    }
    const refused = await eventually("the refused AUTH in the queue", async () =>
      (await listQueue(serverA)).find((entry) => /refused AUTH/.test(entry.lastError ?? "")),
    );
    assert.match(
      refused.lastError ?? "",
      /^smarthost 127\.0\.0\.1:\d+ refused AUTH: 535 5\.7\.8 .*; check relay\.smarthost_user and smarthost_password_file/,
    );
    await writeFile(passwordFile, `${relayPassword}\n`);
    const listed = await eventually("the message at B", async () => {
      const run = await serverB.cli(["mail", "list", "bob@example.net", "--json"]);
      assert.equal(run.code, 0, run.stderr);
      return (JSON.parse(run.stdout) as Array<{ uid: number; subject: string }>).find(
        (each) => each.subject === subject,
      );
    });
    const cat = await serverB.cli(["mail", "cat", "bob@example.net", "INBOX", String(listed.uid)]);
    // B's own Received: field says the message came over TLS, authenticated (RFC 3848 ESMTPSA).
    const received = cat.stdout
      .replace(/\r\n[ \t]/g, " ")
      .split("\r\n")
      .find((line) => line.startsWith("Received:") && line.includes("smarthost.example.com"));
    assert.match(received ?? cat.stdout, /with ESMTPSA/);
    assert.deepEqual(await listQueue(serverA), []);
  });
});
