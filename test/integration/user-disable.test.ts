// Disabled users against a real `mailroom serve` on both stores: disabled with the CLI or the admin
// API, the user's IMAP LOGIN (raw socket and imapflow), SMTP AUTH (nodemailer) and app token (Bearer
// on JMAP) are refused with exactly the reply a wrong password gets; mail to the user is still accepted
// and delivered meanwhile, and once enabled again the same credentials work and the mail is there.

import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const ADMIN = "root@example.org";
const BOB = "bob@example.org";
const PASSWORD = "a long enough passphrase";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** The tagged reply to one IMAP LOGIN over a raw socket, its tag removed. */
function imapLoginReply(port: number, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let buffered = "";
    let greeted = false;
    socket.setEncoding("utf8");
    socket.on("error", reject);
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (!greeted && buffered.includes("\r\n")) {
        greeted = true;
        buffered = "";
        socket.write(`a1 LOGIN "${user}" "${password}"\r\n`);
        return;
      }
      const tagged = /^a1 ([^\r\n]*)\r\n/m.exec(buffered);
      if (tagged) {
        socket.end("a2 LOGOUT\r\n");
        resolve(tagged[1] as string);
      }
    });
  });
}

/** The SMTP reply to AUTH on the submission port (STARTTLS first), or "accepted" when it succeeds. */
async function smtpAuthReply(port: number, user: string, password: string): Promise<string> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: true,
    auth: { user, pass: password },
    tls: { rejectUnauthorized: false },
  });
  try {
    await transport.verify();
    return "accepted";
  } catch (error) {
    return String((error as { response?: string }).response);
  } finally {
    transport.close();
  }
}

for (const backend of await integrationBackends()) {
  describe(`disabled users on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let bobToken: string;

    const admin = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/admin/api${path}`, {
        method,
        headers: { Authorization: basic(ADMIN, PASSWORD), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    const jmapStatus = async (authorization: string) =>
      (
        await fetch(`http://127.0.0.1:${server.ports.http}/.well-known/jmap`, {
          headers: { Authorization: authorization },
        })
      ).status;

    const deliver = async (subject: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      try {
        return await transport.sendMail({ from: "sender@remote.test", to: BOB, subject, text: "hello\n" });
      } finally {
        transport.close();
      }
    };

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        // Every refusal here counts against 127.0.0.1; the throttle is not what is tested.
        env: { MAILROOM_AUTH_FAILURE_DELAY: "1ms", MAILROOM_AUTH_MAX_FAILURES_PER_IP: "1000" },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const [user, flags] of [
        [ADMIN, ["--admin"]],
        [BOB, []],
      ] as const) {
        const added = await server.cli(["user", "add", user, ...flags, "--password-stdin"], `${PASSWORD}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
      const token = await server.cli(["token", "create", BOB, "--name", "phone"]);
      assert.equal(token.code, 0, token.stderr);
      bobToken = token.stdout.trim();
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("disabled with the CLI: IMAP, SMTP AUTH and the app token refused as a wrong password is", async () => {
      const wrongImap = await imapLoginReply(server.ports.imap, BOB, "not the password");
      const wrongSmtp = await smtpAuthReply(server.ports.submission, BOB, "not the password");
      assert.match(wrongImap, /^NO /);
      assert.match(wrongSmtp, /^535 /);
      assert.match(
        await imapLoginReply(server.ports.imap, BOB, PASSWORD),
        /^OK .*logged in as bob@example\.org$/,
      );
      assert.equal(await jmapStatus(`Bearer ${bobToken}`), 200);

      const disabled = await server.cli(["user", "disable", BOB]);
      assert.equal(disabled.code, 0, disabled.stderr);
      assert.match((await server.cli(["user", "list"])).stdout, /^bob@example\.org \(disabled\)$/m);
      assert.equal(await imapLoginReply(server.ports.imap, BOB, PASSWORD), wrongImap);
      assert.equal(await smtpAuthReply(server.ports.submission, BOB, PASSWORD), wrongSmtp);
      // Nor for an address that does not exist is the reply any different.
      assert.equal(await imapLoginReply(server.ports.imap, "ghost@example.org", PASSWORD), wrongImap);
      const wrongBearer = await jmapStatus(
        "Bearer mrt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      );
      assert.equal(await jmapStatus(`Bearer ${bobToken}`), wrongBearer);
      assert.equal(await jmapStatus(basic(BOB, PASSWORD)), 401);

      const enabled = await server.cli(["user", "enable", BOB]);
      assert.equal(enabled.code, 0, enabled.stderr);
      assert.equal(await smtpAuthReply(server.ports.submission, BOB, PASSWORD), "accepted");
      assert.equal(await jmapStatus(`Bearer ${bobToken}`), 200);
    });

    test("mail to a disabled user is accepted and delivered; enabled again through the admin API, it is there", async () => {
      const off = await admin("PUT", `/users/${BOB}/disabled`, { disabled: true });
      assert.deepEqual([off.status, off.json.address, off.json.disabled], [200, BOB, true]);
      const info = await deliver("while disabled");
      assert.deepEqual(info.accepted, [BOB]);
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        auth: { user: BOB, pass: PASSWORD },
        logger: false,
      });
      await assert.rejects(client.connect(), (error: { authenticationFailed?: boolean }) => {
        assert.equal(error.authenticationFailed, true);
        return true;
      });

      const on = await admin("PUT", `/users/${BOB}/disabled`, { disabled: false });
      assert.deepEqual([on.status, on.json.disabled], [200, false]);
      const again = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        auth: { user: BOB, pass: PASSWORD },
        logger: false,
      });
      await again.connect();
      try {
        const lock = await again.getMailboxLock("INBOX");
        try {
          const subjects: string[] = [];
          for await (const message of again.fetch("1:*", { envelope: true })) {
            subjects.push(message.envelope?.subject ?? "");
          }
          assert.deepEqual(subjects, ["while disabled"]);
        } finally {
          lock.release();
        }
      } finally {
        await again.logout();
      }

      const bad = await admin("PUT", `/users/${BOB}/disabled`, { disabled: "yes" });
      assert.equal(bad.status, 400);
      const ghost = await admin("PUT", "/users/ghost@example.org/disabled", { disabled: true });
      assert.equal(ghost.status, 404);
    });
  });
}
