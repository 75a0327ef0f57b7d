// ManageSieve (RFC 5804) through a real `mailroom serve` on both stores, with real clients: Debian's
// sieve-connect (over STARTTLS) and python3-sievelib (in cleartext from loopback, which the listener's
// default policy allows) upload, list, activate, rename and delete scripts; an SMTP delivery then obeys
// the uploaded script, and `mailroom sieve` sees the same scripts. A script with errors is refused with
// its line and column, and credentials are refused in cleartext where the policy says TLS.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const user = "sam@example.org";
const password = "sam's managesieve passphrase";

const FILING = `require ["fileinto", "mailbox"];
if header :contains "subject" "[reports]" { fileinto :create "Reports"; }
`;

for (const backend of await integrationBackends()) {
  describe(`ManageSieve, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.sieveConnect, clients.pythonSievelib),
  }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    /** sieve-connect with one action; STARTTLS to the self-signed certificate, password on stdin. */
    const sieveConnect = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          "sieve-connect",
          [
            "--server",
            "127.0.0.1",
            "--port",
            String(server.ports.managesieve),
            "--user",
            user,
            "--passwordfd",
            "0",
            "--notlsverify",
            "--noclearauth",
            ...args,
          ],
          { timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin?.end(`${password}\n`);
      });

    /** A python3-sievelib session: the given lines run with `c`, a connected Client; prints JSON. */
    const sievelib = async (body: string) => {
      const script = `
import json, sys
from sievelib.managesieve import Client
c = Client("127.0.0.1", int(sys.argv[1]))
out = {"connected": c.connect(sys.argv[2], sys.argv[3], starttls=False, authmech="PLAIN")}
${body}
c.logout()
print(json.dumps(out))
`;
      const { stdout } = await run(
        "/usr/bin/python3",
        ["-c", script, String(server.ports.managesieve), user, password],
        { timeout: 60_000 },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };

    const send = async (subject: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      try {
        await transport.sendMail({ from: "reports@elsewhere.test", to: user, subject, text: "figures\n" });
      } finally {
        transport.close();
      }
    };

    const subjects = async (mailbox: string) => {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        auth: { user, pass: password },
        logger: false,
      });
      await client.connect();
      try {
        if (!(await client.list()).some((entry) => entry.path === mailbox)) return null;
        await client.mailboxOpen(mailbox);
        const out: string[] = [];
        for await (const message of client.fetch("1:*", { envelope: true }))
          out.push(message.envelope?.subject ?? "");
        return out;
      } finally {
        await client.logout();
      }
    };

    test("sieve-connect uploads, lists and activates over STARTTLS; delivery obeys the script", async () => {
      const file = join(server.dataDir, "..", `filing-${backend.name}.sieve`);
      await writeFile(file, FILING);
      const upload = await sieveConnect("--upload", "--localsieve", file, "--remotesieve", "filing");
      assert.equal(upload.code, 0, upload.stdout + upload.stderr);
      const activate = await sieveConnect("--activate", "--remotesieve", "filing");
      assert.equal(activate.code, 0, activate.stdout + activate.stderr);
      const list = await sieveConnect("--list");
      assert.equal(list.code, 0, list.stdout + list.stderr);
      assert.match(list.stdout, /^"filing" ACTIVE$/m);
      const download = await sieveConnect("--download", "--remotesieve", "filing", "--localsieve", "-");
      assert.equal(download.stdout, FILING);
      const logins = server.logs().filter((line) => line.msg === "managesieve login");
      assert.ok(
        logins.length >= 4 && logins.every((line) => line.secure === true),
        "sieve-connect used STARTTLS",
      );

      await send("[reports] weekly");
      await send("hello");
      assert.deepEqual(await subjects("Reports"), ["[reports] weekly"]);
      assert.deepEqual(await subjects("INBOX"), ["hello"]);
      const cli = await server.cli(["sieve", "list", user]);
      assert.match(cli.stdout, /^\* filing$/m);
    });

    test("python3-sievelib: capabilities, put, check, rename, activate, get, delete, havespace", async () => {
      const out = await sievelib(String.raw`
out["sieve"] = c.get_sieve_capabilities()
out["implementation"] = c.get_implementation()
out["havespace"] = c.havespace("vacation", 100)
out["toobig"] = c.havespace("vacation", 50 * 1024 * 1024)
out["bad"] = c.putscript("bad", 'require "fileinto";\nfileinto;\n')
out["bad_error"] = c.errmsg.decode() if isinstance(c.errmsg, bytes) else str(c.errmsg)
out["check"] = c.checkscript('keep;')
out["put"] = c.putscript("away", 'require ["vacation"];\nvacation :days 1 :subject "Away" "Back soon.";\n')
out["rename"] = c.renamescript("away", "vacation")
out["rename_missing"] = c.renamescript("away", "other")
out["activate"] = c.setactive("vacation")
out["delete_active"] = c.deletescript("vacation")
out["list"] = c.listscripts()
out["get"] = c.getscript("vacation")
`);
      assert.equal(out.connected, true);
      assert.ok((out.sieve as string[]).includes("vacation"));
      assert.ok((out.sieve as string[]).includes("ereject"));
      assert.equal(out.implementation, "mailroom");
      assert.equal(out.havespace, true);
      assert.equal(out.toobig, false);
      assert.equal(out.bad, false);
      assert.match(String(out.bad_error), /2:\d+/);
      assert.equal(out.check, true);
      assert.equal(out.put, true);
      assert.equal(out.rename, true);
      assert.equal(out.rename_missing, false);
      assert.equal(out.activate, true);
      assert.equal(out.delete_active, false);
      assert.deepEqual(out.list, ["vacation", ["filing"]]);
      assert.match(String(out.get), /vacation :days 1/);

      // The uploaded vacation script answers an outside sender through the queue.
      await send("are you there?");
      const queue = await server.cli(["queue", "list"]);
      assert.match(queue.stdout, /reports@elsewhere\.test/);

      const cleanup = await sievelib(`
out["deactivate"] = c.setactive("")
out["delete"] = c.deletescript("vacation")
out["list"] = c.listscripts()
`);
      assert.equal(cleanup.deactivate, true);
      assert.equal(cleanup.delete, true);
      assert.deepEqual(cleanup.list, [null, ["filing"]]);
    });
  });
}
