// Issue 6, IMAP against a running mailroom with command-line clients, on both stores: mbsync (isync)
// syncing INBOX both ways with flag changes, and curl imap:// and imaps:// (LIST, FETCH by UID, SEARCH).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const user = "bob@example.org";
const password = "imap tools secret";
const root = join(import.meta.dirname, "../..");

interface Listed {
  uid: number;
  subject: string;
  flags: string[];
}

for (const backend of await integrationBackends()) {
  describe(`IMAP with command-line clients, ${backend.name} store`, { skip: backend.skip }, () => {
    let server: TestServer;

    const storedBytes = async (mailbox: string, uid: number): Promise<Buffer> => {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "mail", "cat", user, mailbox, String(uid)],
        { cwd: root, env: server.env, encoding: "buffer" },
      );
      return stdout;
    };

    const listing = async (mailbox = "INBOX"): Promise<Listed[]> => {
      const result = await server.cli(["mail", "list", user, mailbox, "--json"]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as Listed[];
    };

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
      });
      try {
        for (const subject of ["first", "second"]) {
          await transport.sendMail({
            from: "carol@remote.test",
            to: user,
            subject,
            text: `${subject} body\nGrüße\n`,
            attachments: [{ filename: "data.bin", content: Buffer.from([0, 1, 2, 255, 13, 10, 46]) }],
          });
        }
      } finally {
        transport.close();
      }
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    const curl = async (args: string[]): Promise<Buffer> => {
      const { stdout } = await run("curl", ["-sS", "--user", `${user}:${password}`, ...args], {
        encoding: "buffer",
      });
      return stdout;
    };

    for (const scheme of ["imap", "imaps"] as const) {
      test(`curl ${scheme}://: LIST, FETCH by UID byte-identical, SEARCH`, {
        skip: needs(clients.curl),
      }, async () => {
        const port = scheme === "imap" ? server.ports.imap : server.ports.imaps;
        const base = `${scheme}://127.0.0.1:${port}`;
        const tls = scheme === "imaps" ? ["-k"] : [];

        const list = (await curl([...tls, `${base}/`])).toString("utf8");
        // SASL-IR (RFC 4959): curl sends the PLAIN response on the AUTHENTICATE line itself.
        const verbose = await run("curl", [
          "-sS",
          "-v",
          "--sasl-ir",
          "--login-options",
          "AUTH=PLAIN",
          "--user",
          `${user}:${password}`,
          ...tls,
          `${base}/`,
        ]);
        assert.match(verbose.stderr, /^> \S+ AUTHENTICATE PLAIN [A-Za-z0-9+/=]+\r?$/m);
        assert.match(verbose.stderr, /^< \S+ OK /m);
        for (const name of ["INBOX", "Sent", "Trash"])
          assert.match(list, new RegExp(`^\\* LIST .* "?${name}"?\\r$`, "m"));

        const messages = await listing();
        assert.ok(messages.length >= 2);
        for (const message of messages) {
          const body = await curl([...tls, `${base}/INBOX/;UID=${message.uid}`]);
          assert.ok(
            body.equals(await storedBytes("INBOX", message.uid)),
            `UID ${message.uid} byte-identical`,
          );
        }

        const found = (await curl([...tls, "-X", "UID SEARCH SUBJECT second", `${base}/INBOX`])).toString(
          "utf8",
        );
        const second = messages.find((message) => message.subject === "second");
        assert.ok(second);
        // imap4rev1 clients that did not ENABLE IMAP4rev2 get a classic SEARCH response.
        assert.match(found, new RegExp(`^\\* SEARCH ${second.uid}\\r$`, "m"));
      });
    }

    test("mutt in batch mode saves its copy of a sent message to Sent over IMAP (APPEND)", {
      skip: needs(clients.mutt),
    }, async () => {
      const home = join(server.dataDir, "mutt-home");
      await mkdir(home, { recursive: true });
      const rc = join(home, "muttrc");
      // Loopback plaintext is allowed by the server's default policy, so STARTTLS is turned off here.
      await writeFile(
        rc,
        [
          `set imap_user="${user}"`,
          `set imap_pass="${password}"`,
          "set ssl_starttls=no",
          "set ssl_force_tls=no",
          "set sendmail=/bin/true",
          `set from="${user}"`,
          "set use_from=yes",
          "set copy=yes",
          `set record="imap://127.0.0.1:${server.ports.imap}/Sent"`,
          "",
        ].join("\n"),
      );
      await chmod(rc, 0o600);
      const child = execFile("mutt", ["-n", "-F", rc, "-s", "sent with mutt", "alice@example.org"], {
        env: { ...process.env, HOME: home },
      });
      child.stdin?.end("Written by mutt in batch mode.\n");
      const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
      assert.equal(code, 0);
      const sent = await listing("Sent");
      assert.deepEqual(
        sent.map((message) => message.subject),
        ["sent with mutt"],
      );
      const [copy] = sent;
      assert.ok(copy);
      const bytes = (await storedBytes("Sent", copy.uid)).toString("utf8");
      assert.match(bytes, /^To: alice@example\.org\r$/m);
      assert.match(bytes, /\r\n\r\nWritten by mutt in batch mode\.\r\n$/);
    });

    test("mbsync syncs INBOX to a Maildir and back, with flag changes both ways", {
      skip: needs(clients.mbsync, clients.curl),
    }, async () => {
      const home = join(server.dataDir, "mbsync-home");
      const maildir = join(home, "Mail");
      await mkdir(maildir, { recursive: true });
      const rc = join(home, ".mbsyncrc");
      await writeFile(
        rc,
        [
          "IMAPAccount mailroom",
          "Host 127.0.0.1",
          `Port ${server.ports.imap}`,
          `User ${user}`,
          `Pass "${password}"`,
          "SSLType STARTTLS",
          `CertificateFile ${join(server.dataDir, "tls", "cert.pem")}`,
          "AuthMechs PLAIN",
          "",
          "IMAPStore remote",
          "Account mailroom",
          "",
          "MaildirStore local",
          `Path ${maildir}/`,
          `Inbox ${maildir}/INBOX`,
          "",
          "Channel inbox",
          "Far :remote:",
          "Near :local:",
          "Patterns INBOX",
          "Create Both",
          "Expunge Both",
          "SyncState *",
          "",
        ].join("\n"),
      );
      await chmod(rc, 0o600);
      const mbsync = () => run("mbsync", ["-c", rc, "-a"], { env: { ...process.env, HOME: home } });

      await mbsync();
      const inbox = join(maildir, "INBOX");
      const downloaded = await readdir(join(inbox, "cur")).then(async (cur) => [
        ...cur.map((name) => join(inbox, "cur", name)),
        ...(await readdir(join(inbox, "new"))).map((name) => join(inbox, "new", name)),
      ]);
      const messages = await listing();
      assert.equal(downloaded.length, messages.length);
      const files = await Promise.all(downloaded.map((path) => readFile(path)));
      for (const message of messages) {
        // mbsync writes Maildir files with LF line ends and puts its own X-TUID tracking header last in the
        // header block (isync marks every message it propagates); everything else is the stored bytes.
        const expected = (await storedBytes("INBOX", message.uid)).toString("latin1").replace(/\r\n/g, "\n");
        const local = files.map((file) => file.toString("latin1").replace(/^X-TUID: [^\n]*\n(?=\n)/m, ""));
        assert.equal(local.filter((text) => text === expected).length, 1, `UID ${message.uid}`);
      }

      // Local → server: a new message, and \Flagged set on a downloaded one (Maildir info flag F).
      const added =
        "From: bob@example.org\nTo: alice@example.org\nSubject: written offline\n\nFrom the Maildir\n";
      await writeFile(join(inbox, "new", "1700000000.local.host"), added);
      const firstPath = downloaded.find((_, index) =>
        files[index]?.toString("latin1").includes("Subject: first"),
      );
      assert.ok(firstPath);
      const base = firstPath.replace(/:2,[A-Z]*$/, "");
      await rename(firstPath, `${base.replace("/new/", "/cur/")}:2,F`);
      await mbsync();
      const afterUpload = await listing();
      const uploaded = afterUpload.find((message) => message.subject === "written offline");
      assert.ok(uploaded, "the Maildir message appeared on the server");
      const uploadedBytes = (await storedBytes("INBOX", uploaded.uid)).toString("latin1");
      assert.ok(uploadedBytes.endsWith("\r\n\r\nFrom the Maildir\r\n"));
      assert.match(uploadedBytes, /^From: bob@example\.org\r\n/m);
      assert.deepEqual(afterUpload.find((message) => message.subject === "first")?.flags, ["\\Flagged"]);

      // Server → local: \Seen set on the server shows up as the Maildir S flag.
      const second = afterUpload.find((message) => message.subject === "second");
      assert.ok(second);
      const curl = await run("curl", [
        "-sS",
        "--user",
        `${user}:${password}`,
        "-X",
        `UID STORE ${second.uid} +FLAGS (\\Seen)`,
        `imap://127.0.0.1:${server.ports.imap}/INBOX`,
      ]);
      assert.match(curl.stdout, /\\Seen/);
      await mbsync();
      const cur = await readdir(join(inbox, "cur"));
      const secondFile = await Promise.all(
        cur.map(async (name) => ({ name, text: await readFile(join(inbox, "cur", name), "latin1") })),
      ).then((all) => all.find((file) => file.text.includes("Subject: second")));
      assert.ok(secondFile);
      assert.match(secondFile.name, /:2,[A-Z]*S[A-Z]*$/);
    });
  });
}
