// SMTP in → POP3 out, on both stores: a message sent with nodemailer is read back with python3 poplib,
// curl pop3:// and fetchmail, each byte for byte against what the store holds, and deleted only by QUIT.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const password = "pop3 secret";

for (const backend of await integrationBackends()) {
  describe(`SMTP in, POP3 out, ${backend.name} store`, { skip: backend.skip }, () => {
    let server: TestServer;

    const storedBytes = async (uid: number): Promise<Buffer> => {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "mail", "cat", "bob@example.org", "INBOX", String(uid)],
        { cwd: join(import.meta.dirname, "../.."), env: server.env, encoding: "buffer" },
      );
      return stdout;
    };

    const inbox = async (): Promise<Array<{ uid: number; subject: string }>> => {
      const result = await server.cli(["mail", "list", "bob@example.org", "--json"]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as Array<{ uid: number; subject: string }>;
    };

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal(
        (await server.cli(["user", "add", "bob@example.org", "--password-stdin"], `${password}\n`)).code,
        0,
      );
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      for (const subject of ["first", "second"]) {
        await transport.sendMail({
          from: "carol@remote.test",
          to: "bob@example.org",
          subject,
          text: `${subject} message\n.starts with a dot\nGrüße\n`,
          attachments: [{ filename: "data.bin", content: Buffer.from([0, 1, 2, 255, 13, 10, 46]) }],
        });
      }
      transport.close();
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("python3 poplib: STAT, LIST, UIDL and RETR match the stored bytes", {
      skip: needs(clients.python3),
    }, async () => {
      const script = [
        "import poplib, sys, json",
        "p = poplib.POP3('127.0.0.1', int(sys.argv[1]))",
        "p.user('bob@example.org'); p.pass_(sys.argv[2])",
        "count, size = p.stat()",
        "sizes = [int(x.split()[1]) for x in p.list()[1]]",
        "uidl = [x.decode().split()[1] for x in p.uidl()[1]]",
        "bodies = [b'\\r\\n'.join(p.retr(i + 1)[1]).hex() for i in range(count)]",
        "p.quit()",
        "print(json.dumps({'count': count, 'size': size, 'sizes': sizes, 'uidl': uidl, 'bodies': bodies}))",
      ].join("\n");
      const { stdout } = await run("python3", ["-c", script, String(server.ports.pop3), password]);
      const result = JSON.parse(stdout) as {
        count: number;
        size: number;
        sizes: number[];
        uidl: string[];
        bodies: string[];
      };
      const messages = await inbox();
      assert.equal(result.count, messages.length);
      assert.equal(result.count, 2);
      for (const [index, message] of messages.entries()) {
        const bytes = await storedBytes(message.uid);
        assert.equal(result.sizes[index], bytes.length, "LIST size is the octet count RETR sends");
        // poplib strips the line ends and undoes dot-stuffing; rejoining with CRLF gives the stored bytes
        // minus the final CRLF.
        assert.equal(
          Buffer.from(result.bodies[index] ?? "", "hex").toString("latin1"),
          bytes.toString("latin1").replace(/\r\n$/, ""),
        );
      }
      assert.equal(
        result.size,
        result.sizes.reduce((a, b) => a + b, 0),
      );
      assert.equal(new Set(result.uidl).size, 2);
    });

    test("curl pop3:// retrieves message 1 byte for byte", { skip: needs(clients.curl) }, async () => {
      const { stdout } = await run(
        "curl",
        ["-sS", "--user", `bob@example.org:${password}`, `pop3://127.0.0.1:${server.ports.pop3}/1`],
        { encoding: "buffer" },
      );
      const [first] = await inbox();
      assert.ok(first);
      assert.equal(stdout.toString("latin1"), (await storedBytes(first.uid)).toString("latin1"));
    });

    test("fetchmail downloads every message into a local mailbox and deletes them on the server", {
      skip: needs(clients.fetchmail),
    }, async () => {
      const before = await inbox();
      const expected = await Promise.all(before.map((message) => storedBytes(message.uid)));
      const home = join(server.dataDir, "fetchmail-home");
      const out = join(home, "out");
      await mkdir(out, { recursive: true });
      const rc = join(home, ".fetchmailrc");
      await writeFile(
        rc,
        `poll 127.0.0.1 protocol POP3 port ${server.ports.pop3} user "bob@example.org" password "${password}" ` +
          `sslproto "" mda "/bin/sh -c 'cat > ${out}/msg.$$'"\n`,
      );
      await chmod(rc, 0o600);
      await run("fetchmail", ["-f", rc, "--nokeep", "--norewrite", "--silent"], {
        env: { ...process.env, HOME: home },
      });

      const files = await readdir(out);
      assert.equal(files.length, expected.length);
      const fetched = await Promise.all(files.map((name) => readFile(join(out, name), "latin1")));
      for (const original of expected) {
        // fetchmail hands the MDA LF line ends, keeps Return-Path on top and puts its own Received below.
        const text = original.toString("latin1").replace(/\r\n/g, "\n");
        const returnPath = text.slice(0, text.indexOf("\n") + 1);
        assert.match(returnPath, /^Return-Path: <carol@remote\.test>\n$/);
        const rest = text.slice(returnPath.length);
        assert.equal(fetched.filter((file) => file.startsWith(returnPath) && file.endsWith(rest)).length, 1);
      }
      assert.deepEqual(await inbox(), [], "QUIT after DELE emptied the maildrop");
    });
  });
}
