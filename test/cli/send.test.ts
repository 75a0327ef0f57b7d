// `mailroom send` and `mailroom sendmail` against mailroom's own SMTP server, with --server and through
// MX records served by a test DNS server; the interactive body through a real pseudo-terminal.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import PostalMime from "postal-mime";
import { CliError } from "../../src/cli/command.js";
import { sendCommand } from "../../src/cli/send.js";
import { sendmailCommand } from "../../src/cli/sendmail.js";
import { type RealServer, startRealServer } from "../smtp/client/real-server.js";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";

const commands = [sendCommand, sendmailCommand];

/** Runs a command in-process with piped stdin, reporting CliErrors as the dispatcher (main.ts) does. */
async function runCli(
  argv: string[],
  options: { stdin?: string; stdinOpen?: boolean; env?: NodeJS.ProcessEnv; commands: typeof commands },
): Promise<{ code: number; stderr: string }> {
  const [name, ...args] = argv;
  const command = options.commands.find((each) => each.name === name);
  assert.ok(command, `no command ${name}`);
  const stdin = new PassThrough();
  // An open stdin with nothing in it: a command that reads it never returns.
  if (options.stdinOpen) stdin.write(options.stdin ?? "");
  else stdin.end(options.stdin ?? "");
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  stdout.resume();
  let code: number;
  try {
    code = await command.run(args, { stdin, stdout, stderr, env: options.env ?? {} });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    stderr.write(`mailroom: ${error.message}\n`);
    code = error.exitCode;
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stderr: Buffer.concat(chunks).toString("utf8") };
}
const root = resolve(import.meta.dirname, "../..");

describe("mailroom send", () => {
  let server: RealServer;
  let submission: RealServer;
  let dns: TestDns;
  let dir: string;
  before(async () => {
    [server, submission, dns] = await Promise.all([
      startRealServer(),
      // auth = "any": the -v test below logs in without TLS, which the default "tls" refuses.
      startRealServer({ listener: "submission", authPolicy: "any" }),
      startTestDns(),
    ]);
    dir = await mkdtemp(join(tmpdir(), "mailroom-send-"));
  });
  after(async () => {
    await Promise.all([
      server.close(),
      submission.close(),
      dns.close(),
      rm(dir, { recursive: true, force: true }),
    ]);
  });

  const lastBody = (agent: RealServer["agent"]) => {
    const id = agent.commits.at(-1)?.blob.id ?? "";
    return agent.body(id);
  };

  test("--server: a MIME message with UTF-8 subject and an attachment; progress on stderr", async () => {
    const file = join(dir, "notes.txt");
    await writeFile(file, "attached text\n");
    const run = await runCli(
      [
        "send",
        "--from",
        "Alice <alice@example.org>",
        "--to",
        "bob@example.org",
        "--cc",
        "carol@example.org",
        "--subject",
        "Grüße",
        "--attach",
        file,
        "--server",
        `127.0.0.1:${server.port}`,
        "--tls",
        "none",
      ],
      { stdin: "Hello Bob,\n.a line with a dot\n", commands },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^sent to 2 recipients: queued as msg\d+$/m);
    const commit = server.agent.commits.at(-1);
    assert.deepEqual(
      commit?.recipients.map((recipient) => recipient.address),
      ["bob@example.org", "carol@example.org"],
    );
    assert.equal(commit?.sender, "alice@example.org");
    const parsed = await PostalMime.parse(lastBody(server.agent));
    assert.equal(parsed.subject, "Grüße");
    assert.equal(parsed.from?.address, "alice@example.org");
    // The CRLF before a multipart boundary belongs to the boundary (RFC 2046 §5.1.1); parsers differ on it.
    assert.equal(parsed.text?.replace(/\r\n/g, "\n").trimEnd(), "Hello Bob,\n.a line with a dot");
    assert.ok(parsed.messageId?.endsWith("@example.org>"));
    assert.ok(parsed.date);
    assert.equal(parsed.attachments[0]?.filename, "notes.txt");
    assert.equal(parsed.attachments[0]?.mimeType, "text/plain");
    assert.equal(Buffer.from(parsed.attachments[0]?.content as ArrayBuffer).toString(), "attached text\n");
  });

  test("a refused recipient: exit 1 and the server's reply; the others still get it", async () => {
    const run = await runCli(
      ["send", "--from", "a@example.org", "--to", "nobody@example.org", "--to", "bob@example.org"],
      { stdin: "x\n", commands, env: {} },
    ).then(async () =>
      runCli(
        [
          "send",
          "--from",
          "a@example.org",
          "--to",
          "nobody@example.org,bob@example.org",
          "--server",
          `127.0.0.1:${server.port}`,
        ],
        { stdin: "x\n", commands },
      ),
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, /nobody@example\.org: refused: 550 5\.1\.1 No such user/);
    assert.match(run.stderr, /sent to 1 recipient: queued as/);
  });

  test("usage errors exit 64 and say what is missing", async () => {
    const noFrom = await runCli(["send", "--to", "b@example.org"], { commands });
    assert.equal(noFrom.code, 64);
    assert.match(noFrom.stderr, /missing --from/);
    const badTls = await runCli(
      ["send", "--from", "a@example.org", "--to", "b@example.org", "--tls", "maybe"],
      {
        commands,
      },
    );
    assert.equal(badTls.code, 64);
    const badAddress = await runCli(["send", "--from", "a@example.org", "--to", "not an address"], {
      commands,
    });
    assert.equal(badAddress.code, 64);
    assert.match(badAddress.stderr, /not (a valid|an) address/);
  });

  test("--user with --password-stdin and -v: the dialogue on stderr with the password masked", async () => {
    const run = await runCli(
      [
        "send",
        "-v",
        "--from",
        "alice@example.org",
        "--to",
        "dave@remote.example",
        "--server",
        `127.0.0.1:${submission.port}`,
        "--tls",
        "none",
        "--user",
        "alice@example.org",
        "--password-stdin",
      ],
      { stdin: "secret\nthe body\n", commands },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^C: AUTH PLAIN \*\*\*$/m);
    assert.match(run.stderr, /^S: 235 /m);
    assert.doesNotMatch(run.stderr, /secret|AGFsaWNl/);
    assert.match(lastBody(submission.agent), /the body/);
    assert.doesNotMatch(lastBody(submission.agent), /secret/);
  });

  test("without --server: MX in preference order (the first refuses connections), implicit MX, null MX, NXDOMAIN", async () => {
    dns.set({
      "example.org": {
        mx: [
          { preference: 20, exchange: "mx2.example.org" },
          { preference: 10, exchange: "mx1.example.org" },
        ],
      },
      "mx1.example.org": { a: ["127.0.0.2"] },
      "mx2.example.org": { a: ["127.0.0.1"] },
      "xn--bcher-kva.example": { a: ["127.0.0.1"] },
      "nomail.test": { mx: [{ preference: 0, exchange: "." }] },
    });
    const before = server.agent.commits.length;
    const run = await runCli(
      [
        "send",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--to",
        "eve@xn--bcher-kva.example",
        "--to",
        "x@nomail.test",
        "--to",
        "y@gone.test",
      ],
      {
        stdin: "hello\n",
        commands,
        env: {
          MAILROOM_SEND_RESOLVER: `${dns.address}:${dns.port}`,
          MAILROOM_SEND_MX_PORT: String(server.port),
        },
      },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /x@nomail\.test: not sent: nomail\.test does not accept mail \(.*null MX/);
    assert.match(run.stderr, /y@gone\.test: not sent: gone\.test does not exist/);
    const delivered = server.agent.commits
      .slice(before)
      .map((commit) => commit.recipients.map((r) => r.address));
    assert.deepEqual(delivered, [["bob@example.org"], ["eve@xn--bcher-kva.example"]]);
    assert.ok(dns.queries().includes("A mx1.example.org"));
  });

  const sendAsAlice = (server: string) => [
    "send",
    "--from",
    "alice@example.org",
    "--to",
    "bob@example.org",
    "--user",
    "alice@example.org",
    "--password-stdin",
    "--server",
    server,
  ];

  test("--user against an untrusted certificate fails before reading the password, with the --ca-file hint", async () => {
    const tlsServer = await startRealServer({ listener: "submission" });
    try {
      const args = sendAsAlice(`localhost:${tlsServer.port}`);
      const refused = await runCli(args, { stdinOpen: true, commands });
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /self-signed certificate/);
      assert.match(refused.stderr, /--ca-file data\/tls\/cert\.pem/);
      assert.equal(tlsServer.agent.commits.length, 0);

      const caFile = join(dir, "server-cert.pem");
      await writeFile(caFile, tlsServer.cert);
      const trusted = await runCli([...args, "--ca-file", caFile], {
        stdin: "secret\nSubject: trusted\n\nhello\n",
        commands,
      });
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.equal(tlsServer.agent.commits.length, 1);
    } finally {
      await tlsServer.close();
    }
  });

  test("--user against a server that is not there: exit 75 before reading the password", async () => {
    const closed = await startRealServer({ listener: "submission" });
    const port = closed.port;
    await closed.close();
    const run = await runCli(sendAsAlice(`127.0.0.1:${port}`), { stdinOpen: true, commands });
    assert.equal(run.code, 75, run.stderr);
    assert.match(run.stderr, /cannot connect to 127\.0\.0\.1:\d+.*nothing was sent/);
  });

  test("a DNS failure is temporary: exit 75", async () => {
    dns.set({ "broken.test": { servfail: true } });
    const run = await runCli(["send", "--from", "a@example.org", "--to", "z@broken.test"], {
      stdin: "x\n",
      commands,
      env: {
        MAILROOM_SEND_RESOLVER: `${dns.address}:${dns.port}`,
        MAILROOM_SEND_MX_PORT: String(server.port),
      },
    });
    assert.equal(run.code, 75, run.stderr);
    assert.match(run.stderr, /temporary failure, try again later/);
  });

  test("on a terminal the body is typed and ends with a line holding a single dot", {
    skip: needs(clients.python3),
  }, async () => {
    const before = server.agent.commits.length;
    const answers = JSON.stringify([["Ctrl-D.", "typed at a terminal\r.\r"]]);
    const { stdout } = await promisify(execFile)(
      "python3",
      [
        join(root, "test/cli/fixtures/pty-run.py"),
        answers,
        process.execPath,
        "--import",
        "tsx",
        join(root, "test/cli/fixtures/send-main.ts"),
        "send",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--server",
        `127.0.0.1:${server.port}`,
      ],
      { cwd: root, timeout: 60_000 },
    );
    const screen = Buffer.from(stdout, "base64").toString();
    assert.match(screen, /sent to 1 recipient: queued as/);
    assert.equal(server.agent.commits.length, before + 1);
    const parsed = await PostalMime.parse(lastBody(server.agent));
    assert.equal(parsed.text?.replace(/\r\n/g, "\n"), "typed at a terminal\n");
  });
});

describe("mailroom sendmail", () => {
  let server: RealServer;
  let submission: RealServer;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    [server, submission] = await Promise.all([
      startRealServer(),
      startRealServer({ listener: "submission" }),
    ]);
    env = { MAILROOM_SENDMAIL_SERVER: `127.0.0.1:${server.port}` };
  });
  after(() => Promise.all([server.close(), submission.close()]));

  test("--user against a submission listener with the default policy: STARTTLS, then AUTH, then relayed", async () => {
    const run = await runCli(
      [
        "sendmail",
        "-v",
        "-f",
        "alice@example.org",
        "--user",
        "alice@example.org",
        "--password-stdin",
        "dave@remote.example",
      ],
      {
        stdin: "secret\nSubject: out\n\nrelayed\n",
        commands,
        env: { MAILROOM_SENDMAIL_SERVER: `127.0.0.1:${submission.port}` },
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stderr.indexOf("STARTTLS") < run.stderr.indexOf("AUTH PLAIN"), run.stderr);
    assert.match(run.stderr, /^S: 235 /m);
    const commit = submission.agent.commits.at(-1);
    assert.deepEqual(commit?.recipients, [{ address: "dave@remote.example" }]);
  });

  const lastCommit = () => {
    const commit = server.agent.commits.at(-1);
    assert.ok(commit);
    return { commit, body: server.agent.body(commit.blob.id) };
  };

  test("-t: recipients from To, Cc and Bcc; Bcc removed; a lone dot ends input; headers completed", async () => {
    const input =
      "To: Bob <bob@example.org>\nCc: carol@example.org\nBcc: dave@example.org,\n  erin@example.org\nSubject: cron\n\nhello\n.\nnot part of it\n";
    const run = await runCli(["sendmail", "-t", "-f", "root@example.org", "-F", "Cron Daemon"], {
      stdin: input,
      commands,
      env,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const { commit, body } = lastCommit();
    assert.equal(commit.sender, "root@example.org");
    assert.deepEqual(
      commit.recipients.map((recipient) => recipient.address),
      ["bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org"],
    );
    assert.doesNotMatch(body, /^Bcc:|erin/im);
    assert.match(body, /^To: Bob <bob@example\.org>\r\nCc: carol@example\.org\r\nSubject: cron\r\n/m);
    assert.match(body, /^From: "Cron Daemon" <root@example\.org>\r\n/m);
    assert.match(body, /^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/m);
    assert.match(body, /^Message-ID: <[^>]+@example\.org>\r\n/m);
    assert.ok(body.endsWith("\r\n\r\nhello\r\n"), JSON.stringify(body));
  });

  test("-i: a lone dot is part of the message; existing From/Date/Message-ID are kept", async () => {
    const input =
      "From: a@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\none\n.\ntwo\n";
    const run = await runCli(["sendmail", "-i", "bob@example.org"], { stdin: input, commands, env });
    assert.equal(run.code, 0, run.stderr);
    const { body } = lastCommit();
    assert.equal(
      body,
      "From: a@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\none\r\n.\r\ntwo\r\n",
    );
  });

  test("a refused recipient exits 1; no recipients is a usage error; no server is temporary", async () => {
    const refused = await runCli(["sendmail", "-oi", "nobody@example.org"], {
      stdin: "Subject: x\n\nx\n",
      commands,
      env,
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /nobody@example\.org: refused: 550/);
    const none = await runCli(["sendmail"], { stdin: "x\n", commands, env });
    assert.equal(none.code, 64);
    const closed = await startRealServer();
    await closed.close();
    const down = await runCli(["sendmail", "bob@example.org"], {
      stdin: "x\n",
      commands,
      env: { MAILROOM_SENDMAIL_SERVER: `127.0.0.1:${closed.port}` },
    });
    assert.equal(down.code, 75);
    assert.match(down.stderr, /cannot connect to 127\.0\.0\.1/);
  });
});
