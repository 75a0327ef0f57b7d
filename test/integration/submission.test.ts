// Message submission (RFC 6409) with real mail clients — swaks, msmtp, curl, nodemailer, python3
// smtplib — through the submission port (STARTTLS + AUTH) and the submissions port (implicit TLS,
// RFC 8314), against a real `mailroom serve` on both stores.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const alicePassword = "alice's long passphrase";
const bobPassword = "bob's long passphrase";

// The harness gives no port to the HTTP listener; unused here, it stays off rather than collide on its
// default port with another test's server.
const UNUSED_LISTENERS_OFF = { MAILROOM_LISTENERS_HTTP_ENABLED: "false" };

let server: TestServer;
let dns: TestDns;
let counter = 0;

function uniqueSubject(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}

/** A message with no Date: and no Message-ID:, so the submission server must add both. */
function bareMessage(subject: string, from = "alice@example.org"): string {
  return `From: Alice <${from}>\r\nTo: bob@example.org\r\nSubject: ${subject}\r\n\r\nsubmitted body\r\n`;
}

async function storedBySubject(address: string, subject: string): Promise<string> {
  const listed = await server.cli(["mail", "list", address, "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  const matches = (JSON.parse(listed.stdout) as Array<{ uid: number; subject: string }>).filter(
    (m) => m.subject === subject,
  );
  assert.equal(matches.length, 1, `expected one message "${subject}" for ${address}`);
  const cat = await server.cli(["mail", "cat", address, "INBOX", String(matches[0]?.uid)]);
  assert.equal(cat.code, 0, cat.stderr);
  return cat.stdout;
}

/** The header section's fields, each unfolded onto one line. */
function unfoldedHeader(message: string): string[] {
  const end = message.indexOf("\r\n\r\n");
  return message
    .slice(0, end < 0 ? message.length : end)
    .replace(/\r\n[ \t]/g, " ")
    .split("\r\n");
}

/** The header section's field names, lower-cased, in order. */
function fieldNames(message: string): string[] {
  return unfoldedHeader(message).map((field) => field.slice(0, field.indexOf(":")).toLowerCase());
}

/** Delivered to bob with exactly one Date and Message-ID and a DKIM signature of example.org. */
async function assertSubmitted(subject: string): Promise<string> {
  const message = await storedBySubject("bob@example.org", subject);
  const names = fieldNames(message);
  assert.equal(names.filter((n) => n === "date").length, 1, message);
  assert.equal(names.filter((n) => n === "message-id").length, 1, message);
  assert.equal(names.filter((n) => n === "dkim-signature").length, 1, message);
  const signature = unfoldedHeader(message).find((field) => /^DKIM-Signature:/i.test(field));
  assert.match(signature ?? "", /[;\s]d=example\.org;/);
  assert.match(message, /^Message-ID: <[^@\s>]+@[^>\s]+>\r$/im);
  assert.match(message, /submitted body/);
  return message;
}

function runWithInput(
  command: string,
  args: string[],
  input: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => done({ code, out }));
    child.stdin.end(input);
  });
}

async function msmtprc(implicit: boolean): Promise<string> {
  const file = join(server.dataDir, implicit ? "msmtprc-implicit" : "msmtprc-starttls");
  const lines = [
    "defaults",
    "tls on",
    // The test server has a self-signed certificate.
    "tls_certcheck off",
    `tls_starttls ${implicit ? "off" : "on"}`,
    "account default",
    "host 127.0.0.1",
    `port ${implicit ? server.ports.submissions : server.ports.submission}`,
    "auth on",
    "user alice@example.org",
    `password ${alicePassword}`,
    "from alice@example.org",
    "",
  ];
  await writeFile(file, lines.join("\n"));
  // msmtp refuses a configuration file with a password that others can read.
  await chmod(file, 0o600);
  return file;
}

for (const backend of await integrationBackends()) {
  describe(`submission with real clients, ${backend.name} store`, { skip: backend.skip }, () => {
    before(async () => {
      // remote.test answers SERVFAIL, so its queued entry stays queued (deferred), never bounced.
      dns = await startTestDns({ "remote.test": { servfail: true } });
      server = await startTestServer({
        store: backend.store,
        env: { ...UNUSED_LISTENERS_OFF, MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}` },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const [user, password] of [
        ["alice@example.org", alicePassword],
        ["bob@example.org", bobPassword],
      ] as const) {
        const added = await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
    });

    after(async () => {
      await server?.cleanup();
      await dns?.close();
      await backend.release();
    });

    test("MAIL before AUTH gets 530; MAIL FROM another user's address gets 550 5.7.1", {
      skip: needs(clients.python3),
    }, async () => {
      const script = [
        "import smtplib, ssl, sys",
        's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
        "s.starttls(context=ssl._create_unverified_context())",
        "s.ehlo()",
        'print("unauth", s.mail("alice@example.org"))',
        's.login("alice@example.org", sys.argv[2])',
        'print("other", s.mail("bob@example.org"))',
        "s.rset()",
        'print("own", s.mail("alice@example.org"))',
        "s.quit()",
      ].join("\n");
      const { stdout } = await run("python3", ["-c", script, String(server.ports.submission), alicePassword]);
      assert.match(stdout, /^unauth \(530, b'5\.7\.0 /m);
      assert.match(
        stdout,
        /^other \(550, b'5\.7\.1 <bob@example\.org>: not owned by user alice@example\.org/m,
      );
      assert.match(stdout, /^own \(250, /m);
    });

    test("swaks --auth over STARTTLS on the submission port", { skip: needs(clients.swaks) }, async () => {
      const subject = uniqueSubject("swaks-587");
      const file = join(server.dataDir, `${subject}.eml`);
      // swaks adds CRLF.CRLF after the file's last byte.
      await writeFile(file, bareMessage(subject).replace(/\r\n$/, ""));
      const { stdout } = await run("swaks", [
        "--server",
        `127.0.0.1:${server.ports.submission}`,
        "--tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        alicePassword,
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--data",
        file,
      ]);
      assert.match(stdout, /235 2\.7\.0/);
      await assertSubmitted(subject);
    });

    test("swaks --tlsc --auth on the submissions port (implicit TLS)", {
      skip: needs(clients.swaks),
    }, async () => {
      const subject = uniqueSubject("swaks-465");
      const file = join(server.dataDir, `${subject}.eml`);
      await writeFile(file, bareMessage(subject).replace(/\r\n$/, ""));
      await run("swaks", [
        "--server",
        `127.0.0.1:${server.ports.submissions}`,
        "--tlsc",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        alicePassword,
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--data",
        file,
      ]);
      await assertSubmitted(subject);
    });

    for (const implicit of [false, true]) {
      test(`msmtp, ${implicit ? "implicit TLS (submissions)" : "STARTTLS (submission)"}`, {
        skip: needs(clients.msmtp),
      }, async () => {
        const subject = uniqueSubject(implicit ? "msmtp-465" : "msmtp-587");
        const result = await runWithInput(
          "msmtp",
          ["-C", await msmtprc(implicit), "bob@example.org"],
          bareMessage(subject).replaceAll("\r\n", "\n"),
        );
        assert.equal(result.code, 0, result.out);
        await assertSubmitted(subject);
      });
    }

    for (const { label, url, tlsArgs } of [
      {
        label: "curl smtp:// --ssl-reqd",
        url: () => `smtp://127.0.0.1:${server.ports.submission}`,
        tlsArgs: ["--ssl-reqd"],
      },
      { label: "curl smtps://", url: () => `smtps://127.0.0.1:${server.ports.submissions}`, tlsArgs: [] },
    ]) {
      test(`${label} with --user`, { skip: needs(clients.curl) }, async () => {
        const subject = uniqueSubject(label.startsWith("curl smtps") ? "curl-465" : "curl-587");
        const file = join(server.dataDir, `${subject}.eml`);
        await writeFile(file, bareMessage(subject));
        await run("curl", [
          "-sS",
          "--insecure",
          ...tlsArgs,
          url(),
          "--user",
          `alice@example.org:${alicePassword}`,
          "--mail-from",
          "alice@example.org",
          "--mail-rcpt",
          "bob@example.org",
          "--upload-file",
          file,
        ]);
        await assertSubmitted(subject);
      });
    }

    for (const secure of [false, true]) {
      test(`nodemailer with auth, ${secure ? "implicit TLS" : "STARTTLS"}`, async () => {
        const subject = uniqueSubject(secure ? "nodemailer-465" : "nodemailer-587");
        const transport = nodemailer.createTransport({
          host: "127.0.0.1",
          port: secure ? server.ports.submissions : server.ports.submission,
          secure,
          requireTLS: !secure,
          auth: { user: "alice@example.org", pass: alicePassword },
          tls: { rejectUnauthorized: false },
        });
        const info = await transport.sendMail({
          from: "Alice <alice@example.org>",
          to: "bob@example.org",
          subject,
          text: "submitted body",
        });
        transport.close();
        assert.deepEqual(info.accepted, ["bob@example.org"]);
        const message = await assertSubmitted(subject);
        // nodemailer writes its own Message-ID; the server must keep it rather than add a second.
        assert.ok(message.includes(info.messageId), `${info.messageId} kept`);
      });
    }

    test("python3 smtplib starttls()+login(): local copy signed, remote recipient queued", {
      skip: needs(clients.python3),
    }, async () => {
      const subject = uniqueSubject("smtplib");
      const script = [
        "import smtplib, ssl, sys",
        's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
        "s.starttls(context=ssl._create_unverified_context())",
        's.login("alice@example.org", sys.argv[2])',
        'refused = s.sendmail("alice@example.org", ["bob@example.org", "friend@remote.test"], sys.stdin.buffer.read())',
        "print(refused)",
        "s.quit()",
      ].join("\n");
      const result = await runWithInput(
        "python3",
        ["-c", script, String(server.ports.submission), alicePassword],
        bareMessage(subject),
      );
      assert.equal(result.code, 0, result.out);
      assert.equal(result.out.trim(), "{}");
      await assertSubmitted(subject);

      const listed = await server.cli(["queue", "list", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const queued = (
        JSON.parse(listed.stdout) as Array<{ sender: string; recipient: string; state: string }>
      ).filter((entry) => entry.recipient === "friend@remote.test");
      assert.equal(queued.length, 1, listed.stdout);
      assert.equal(queued[0]?.sender, "alice@example.org");
    });

    test("a From: that is not the user's is refused with 550 5.7.1 naming the header, and not delivered", {
      skip: needs(clients.python3),
    }, async () => {
      const subject = uniqueSubject("foreign-from");
      const script = [
        "import smtplib, ssl, sys",
        's = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ssl._create_unverified_context())',
        's.login("alice@example.org", sys.argv[2])',
        "try:",
        '    s.sendmail("alice@example.org", ["bob@example.org"], sys.stdin.buffer.read())',
        "except smtplib.SMTPDataError as e:",
        '    print("refused", e.smtp_code, e.smtp_error.decode())',
        "s.quit()",
      ].join("\n");
      const result = await runWithInput(
        "python3",
        ["-c", script, String(server.ports.submissions), alicePassword],
        bareMessage(subject, "bob@example.org"),
      );
      assert.equal(result.code, 0, result.out);
      assert.match(
        result.out,
        /^refused 550 5\.7\.1 the From: header names <bob@example\.org>, which is not an address of user alice@example\.org/m,
      );
      const listed = await server.cli(["mail", "list", "bob@example.org", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.includes(subject), listed.stdout);
    });
  });
}
