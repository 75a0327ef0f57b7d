// The authentication policy per listener, with default settings, against a real `mailroom serve`: a
// loopback client is offered no AUTH before TLS on the SMTP listeners (raw socket and swaks), while IMAP
// and POP3 still take plaintext logins from loopback (python3 imaplib and poplib). The policy does not
// touch the store, so the SQLite store alone is used.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { ReplyReader } from "../smtp/wire.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const password = "alice's long passphrase";
const plainCredentials = Buffer.from(`\0alice@example.org\0${password}`).toString("base64");

let server: TestServer;

/** swaks, resolving to its exit code and combined transcript instead of rejecting on failure. */
async function swaks(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("swaks", args);
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe("authentication policy per listener, default settings, real server on loopback", () => {
  before(async () => {
    server = await startTestServer({ env: { MAILROOM_LISTENERS_HTTP_ENABLED: "false" } });
    assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
    const added = await server.cli(["user", "add", "alice@example.org", "--password-stdin"], `${password}\n`);
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    await server?.cleanup();
  });

  test("raw socket: no AUTH before TLS on smtp or submission; AUTH refused with 502 / 538", async () => {
    for (const [listener, refusal] of [
      ["smtp", /^502 5\.5\.1 /],
      ["submission", /^538 5\.7\.11 /],
    ] as const) {
      const socket = connect(server.ports[listener], "127.0.0.1");
      const reader = new ReplyReader(socket);
      assert.match(await reader.next(), /^220 /);
      socket.write("EHLO hostile.example\r\n");
      const ehlo = await reader.next();
      assert.match(ehlo, /250-STARTTLS\r\n/, listener);
      assert.doesNotMatch(ehlo, /AUTH/, listener);
      for (const mechanism of [`PLAIN ${plainCredentials}`, "LOGIN", "SCRAM-SHA-256"]) {
        socket.write(`AUTH ${mechanism}\r\n`);
        assert.match(await reader.next(), refusal, `${listener} AUTH ${mechanism}`);
      }
      socket.write("QUIT\r\n");
      assert.match(await reader.next(), /^221 /);
      socket.destroy();
    }
    assert.ok(
      !server.logs().some((line) => line.msg === "authenticated"),
      "nobody was authenticated before TLS",
    );
  });

  test("raw socket: the MX offers no AUTH after STARTTLS either", async () => {
    const plain = connect(server.ports.smtp, "127.0.0.1");
    const reader = new ReplyReader(plain);
    await reader.next();
    plain.write("EHLO x\r\n");
    await reader.next();
    plain.write("STARTTLS\r\n");
    assert.match(await reader.next(), /^220 /);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: "localhost" });
    await once(secure, "secureConnect");
    reader.attach(secure);
    secure.write("EHLO x\r\n");
    assert.doesNotMatch(await reader.next(), /AUTH/);
    secure.write(`AUTH PLAIN ${plainCredentials}\r\n`);
    assert.match(await reader.next(), /^502 5\.5\.1 AUTH is not offered on this listener/);
    secure.end("QUIT\r\n");
  });

  test("swaks: AUTH without TLS finds none advertised on smtp and submission; with --tls it logs in", {
    skip: needs(clients.swaks),
  }, async () => {
    for (const listener of ["smtp", "submission"] as const) {
      const address = `127.0.0.1:${server.ports[listener]}`;
      const ehlo = await swaks(["--server", address, "--quit-after", "EHLO"]);
      assert.equal(ehlo.code, 0, ehlo.out);
      assert.doesNotMatch(ehlo.out, /<-\s+250[- ]AUTH/, listener);
      const forced = await swaks([
        "--server",
        address,
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        password,
        "--quit-after",
        "AUTH",
      ]);
      assert.notEqual(forced.code, 0, forced.out);
      assert.match(forced.out, /did not advertise authentication/i, listener);
      assert.doesNotMatch(forced.out, /235 /, listener);
    }
    const secure = await swaks([
      "--server",
      `127.0.0.1:${server.ports.submission}`,
      "--tls",
      "--auth",
      "PLAIN",
      "--auth-user",
      "alice@example.org",
      "--auth-password",
      password,
      "--quit-after",
      "AUTH",
    ]);
    assert.equal(secure.code, 0, secure.out);
    assert.match(secure.out, /235 2\.7\.0/);
  });

  test("python3 imaplib and poplib: plaintext logins from loopback still work", {
    skip: needs(clients.python3),
  }, async () => {
    const script = `
import imaplib, poplib, sys
imap_port, pop3_port, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
m = imaplib.IMAP4('127.0.0.1', imap_port)
print('imap caps', ' '.join(m.capabilities))
print('imap login', m.login('alice@example.org', password)[0])
m.logout()
p = poplib.POP3('127.0.0.1', pop3_port)
print('pop3 capa', ' '.join(p.capa()))
p.user('alice@example.org')
print('pop3 pass', p.pass_(password).decode())
p.quit()
`;
    const { stdout } = await run("python3", [
      "-c",
      script,
      String(server.ports.imap),
      String(server.ports.pop3),
      password,
    ]);
    assert.match(stdout, /^imap caps .*AUTH=PLAIN/m);
    assert.doesNotMatch(stdout, /LOGINDISABLED/);
    assert.match(stdout, /^imap login OK$/m);
    assert.match(stdout, /^pop3 capa .*USER/m);
    assert.match(stdout, /^pop3 pass \+OK/m);
  });
});
