// SMTP in, through real clients (swaks, python3 smtplib, curl, nodemailer) against a real
// `mailroom serve`, and the stored message checked byte for byte with `mailroom mail cat`.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const password = "correct horse battery";

let server: TestServer;
let counter = 0;

async function stored(address: string): Promise<Array<{ uid: number; subject: string; size: number }>> {
  const result = await server.cli(["mail", "list", address, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Array<{ uid: number; subject: string; size: number }>;
}

async function storedBytes(address: string, uid: number): Promise<Buffer> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "mail", "cat", address, "INBOX", String(uid)],
    {
      cwd: join(import.meta.dirname, "../.."),
      env: server.env,
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout;
}

/** Finds the message whose Subject carries `token` and returns its exact stored bytes. */
async function fetchBySubject(address: string, token: string): Promise<Buffer> {
  const matches = (await stored(address)).filter((m) => m.subject.includes(token));
  assert.equal(matches.length, 1, `expected exactly one message with subject ${token}`);
  const [match] = matches;
  assert.ok(match);
  const bytes = await storedBytes(address, match.uid);
  assert.equal(bytes.length, match.size, "listed size equals stored octets");
  return bytes;
}

function uniqueSubject(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}

/**
 * Splits the trace headers mailroom prepends (Return-Path, Received, its Authentication-Results, and their
 * folded lines) from the rest.
 */
function splitTrace(bytes: Buffer): { trace: string; rest: Buffer } {
  const text = bytes.toString("latin1");
  let offset = 0;
  for (;;) {
    const lineEnd = text.indexOf("\r\n", offset);
    if (lineEnd < 0) break;
    const line = text.slice(offset, lineEnd);
    const traceField = /^(Return-Path|Received|Authentication-Results: mx\.mailroom\.test;)/i.test(line);
    const folded = offset > 0 && /^[ \t]/.test(line);
    if (!traceField && !folded) break;
    offset = lineEnd + 2;
  }
  return { trace: text.slice(0, offset), rest: bytes.subarray(offset) };
}

for (const backend of await integrationBackends()) {
  describe(`SMTP in, ${backend.name} store`, { skip: backend.skip }, () => {
    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      const added = await server.cli(
        ["user", "add", "alice@example.org", "--password-stdin"],
        `${password}\n`,
      );
      assert.equal(added.code, 0, added.stderr);
      assert.equal((await server.cli(["alias", "add", "team@example.org", "alice@example.org"])).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    describe("SMTP with real clients", () => {
      test("swaks, plain: the stored message is the sent bytes behind Return-Path and Received", {
        skip: needs(clients.swaks),
      }, async () => {
        const subject = uniqueSubject("swaks-plain");
        // swaks ends DATA with CRLF "." CRLF after the file's last byte, so the file has no final line end.
        const sent = `From: Bob <bob@remote.test>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n\r\nLine one\r\n.leading dot\r\n..two dots`;
        const file = join(server.dataDir, `${subject}.eml`);
        await writeFile(file, sent);
        await run("swaks", [
          "--server",
          `127.0.0.1:${server.ports.smtp}`,
          "--from",
          "bob@remote.test",
          "--to",
          "alice@example.org",
          "--data",
          file,
          "--silent",
          "2",
        ]);
        const { trace, rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.equal(rest.toString("latin1"), `${sent}\r\n`);
        assert.match(trace, /^Return-Path: <bob@remote\.test>\r\n/);
        assert.match(trace, /Received: from .*\r?\n?.*by mx\.mailroom\.test/s);
        assert.match(trace, /with ESMTP\s/);
      });

      test("swaks with PIPELINING and STARTTLS: Received says ESMTPS", {
        skip: needs(clients.swaks),
      }, async () => {
        const subject = uniqueSubject("swaks-tls");
        await run("swaks", [
          "--server",
          `127.0.0.1:${server.ports.smtp}`,
          "--from",
          "bob@remote.test",
          "--to",
          "team@example.org",
          "--pipeline",
          "--tls",
          "--header",
          `Subject: ${subject}`,
          "--body",
          "over TLS",
          "--silent",
          "2",
        ]);
        const { trace, rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.match(trace, /with ESMTPS/);
        assert.match(trace, /TLS/);
        assert.match(rest.toString("utf8"), /over TLS/);
      });

      test("python3 smtplib: 8BITMIME body and a refused recipient among accepted ones", {
        skip: needs(clients.python3),
      }, async () => {
        const subject = uniqueSubject("smtplib");
        const script = [
          "import smtplib, sys",
          'body = ("From: carol@remote.test\\r\\nTo: alice@example.org\\r\\nSubject: %s\\r\\n"',
          '        "Content-Type: text/plain; charset=utf-8\\r\\nContent-Transfer-Encoding: 8bit\\r\\n\\r\\n"',
          '        "Grüße aus Köln\\r\\n" % sys.argv[2]).encode("utf-8")',
          's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
          's.ehlo("client.remote.test")',
          'assert s.has_extn("8bitmime")',
          'refused = s.sendmail("carol@remote.test", ["alice@example.org", "nobody@example.org"], body, mail_options=["BODY=8BITMIME"])',
          "print(sorted(refused.items()))",
          "s.quit()",
        ].join("\n");
        const { stdout } = await run("python3", ["-c", script, String(server.ports.smtp), subject]);
        assert.match(stdout, /nobody@example\.org', \(550,/);
        const { rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.ok(rest.includes(Buffer.from("Grüße aus Köln\r\n", "utf8")));
      });

      test("curl smtp:// uploads a file byte for byte", { skip: needs(clients.curl) }, async () => {
        const subject = uniqueSubject("curl");
        const sent = `From: dave@remote.test\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n\r\nsent with curl\r\n`;
        const file = join(server.dataDir, `${subject}.eml`);
        await writeFile(file, sent);
        await run("curl", [
          "-sS",
          `smtp://127.0.0.1:${server.ports.smtp}`,
          "--mail-from",
          "dave@remote.test",
          "--mail-rcpt",
          "alice@example.org",
          "--upload-file",
          file,
        ]);
        const { rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.equal(rest.toString("latin1"), sent);
      });

      test("nodemailer over STARTTLS", async () => {
        const subject = uniqueSubject("nodemailer");
        const transport = nodemailer.createTransport({
          host: "127.0.0.1",
          port: server.ports.smtp,
          secure: false,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
        });
        const info = await transport.sendMail({
          from: "erin@remote.test",
          to: "alice+lists@example.org",
          subject,
          text: "hello from nodemailer",
        });
        assert.deepEqual(info.accepted, ["alice+lists@example.org"]);
        assert.match(info.response, /^250 2\.0\.0 Ok: queued as \S+/);
        const { rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.match(rest.toString("utf8"), /hello from nodemailer/);
      });

      test("never an open relay: unauthenticated RCPT to another domain gets 554 5.7.1", {
        skip: needs(clients.swaks),
      }, async () => {
        await assert.rejects(
          run("swaks", [
            "--server",
            `127.0.0.1:${server.ports.smtp}`,
            "--from",
            "spam@remote.test",
            "--to",
            "victim@elsewhere.test",
            "--silent",
            "2",
          ]),
          (error: { stdout?: string; stderr?: string }) =>
            /554 5\.7\.1/.test(`${error.stdout}${error.stderr}`),
        );
      });

      test("submission: AUTH PLAIN after STARTTLS relays to another domain (queued)", {
        skip: needs(clients.swaks),
      }, async () => {
        const { stdout } = await run("swaks", [
          "--server",
          `127.0.0.1:${server.ports.submission}`,
          "--tls",
          "--auth",
          "PLAIN",
          "--auth-user",
          "alice@example.org",
          "--auth-password",
          password,
          "--from",
          "alice@example.org",
          "--to",
          "friend@elsewhere.test",
          "--header",
          "Subject: out",
        ]);
        assert.match(stdout, /235 2\.7\.0/);
        assert.match(stdout, /250 2\.0\.0 Ok: queued as/);
      });

      test("mailroom send over submission: verified STARTTLS with --ca-file, AUTH, delivered locally", async () => {
        const subject = uniqueSubject("send-ca-file");
        const refused = await server.cli(
          [
            "send",
            "--server",
            `127.0.0.1:${server.ports.submission}`,
            "--user",
            "alice@example.org",
            "--password-stdin",
            "--from",
            "alice@example.org",
            "--to",
            "alice@example.org",
            "--subject",
            subject,
          ],
          `${password}\nbody\n`,
        );
        assert.equal(
          refused.code,
          1,
          "an unknown self-signed certificate is not trusted, and retrying will not help",
        );
        assert.match(refused.stderr, /self-signed certificate/);
        assert.match(refused.stderr, /--ca-file data\/tls\/cert\.pem/);
        const sent = await server.cli(
          [
            "send",
            "--server",
            `127.0.0.1:${server.ports.submission}`,
            "--ca-file",
            join(server.dataDir, "tls", "cert.pem"),
            "--user",
            "alice@example.org",
            "--password-stdin",
            "--from",
            "alice@example.org",
            "--to",
            "alice@example.org",
            "--subject",
            subject,
          ],
          `${password}\nsent with mailroom send\n`,
        );
        assert.equal(sent.code, 0, sent.stderr);
        const { trace, rest } = splitTrace(await fetchBySubject("alice@example.org", subject));
        assert.match(trace, /with ESMTPSA/);
        assert.match(rest.toString("utf8"), /sent with mailroom send/);
      });

      test("smuggling: a bare-LF dot line does not end DATA, so no second message appears", async () => {
        const subject = uniqueSubject("smuggle");
        const smuggled = uniqueSubject("smuggled");
        const dialogue = [
          "EHLO client.remote.test",
          "MAIL FROM:<mallory@remote.test>",
          "RCPT TO:<alice@example.org>",
          "DATA",
        ].join("\r\n");
        const body =
          `Subject: ${subject}\r\n\r\nhello\n.\nMAIL FROM:<mallory@remote.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: ${smuggled}\n\nsmuggled\n.\n` +
          "\r\n.\r\nQUIT\r\n";
        const transcript = await new Promise<string>((done, reject) => {
          const socket = createConnection({ host: "127.0.0.1", port: server.ports.smtp });
          let received = "";
          let step = 0;
          socket.setEncoding("latin1");
          socket.on("data", (chunk: string) => {
            received += chunk;
            if (step === 0 && received.includes("220 ")) {
              step = 1;
              socket.write(`${dialogue}\r\n`);
            } else if (step === 1 && /\r\n354 /.test(received)) {
              step = 2;
              socket.write(body);
            }
          });
          socket.on("close", () => done(received));
          socket.on("error", reject);
        });
        assert.match(transcript, /\r\n221 /);
        const list = await stored("alice@example.org");
        assert.equal(list.filter((m) => m.subject.includes(smuggled)).length, 0);
        assert.ok(list.filter((m) => m.subject.includes(subject)).length <= 1);
      });
    });
  });
}
