// `mailroom import --from imaps://`: one mailroom copies a user's mail from another over implicit TLS,
// with the certificate verified — refused without the CA that signed it, accepted with --ca.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import { pino } from "pino";
import { openStore } from "../../src/store/open.js";
import { runCli } from "../cli/helpers.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { makeTestCa, signedCertificate } from "../support/test-ca.js";

const ADDRESS = "carol@example.org";
const PASSWORD = "imap-import-secret";

describe("mailroom import --from imaps:// from another mailroom", () => {
  let server: TestServer;
  let work: string;
  let caFile: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "mailroom-imaps-import-"));
    const ca = await makeTestCa();
    const certificate = await signedCertificate(ca, ["localhost"]);
    caFile = join(work, "ca.pem");
    await writeFile(caFile, ca.cert);
    await writeFile(join(work, "server.pem"), certificate.cert);
    await writeFile(join(work, "server.key"), certificate.key, { mode: 0o600 });
    server = await startTestServer({
      env: { MAILROOM_TLS_CERT: join(work, "server.pem"), MAILROOM_TLS_KEY: join(work, "server.key") },
    });
    assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
    assert.equal((await server.cli(["user", "add", ADDRESS, "--password-stdin"], `${PASSWORD}\n`)).code, 0);
    const client = new ImapFlow({
      host: "localhost",
      port: server.ports.imaps,
      secure: true,
      tls: { ca: ca.cert },
      auth: { user: ADDRESS, pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxCreate("Archive");
      await client.append(
        "INBOX",
        "Subject: kept\r\n\r\nhello\r\n",
        ["\\Seen"],
        new Date("2025-03-01T09:00:00Z"),
      );
      await client.append(
        "Archive",
        "Subject: old\r\n\r\nolder\r\n",
        ["\\Flagged"],
        new Date("2020-01-01T00:00:00Z"),
      );
    } finally {
      await client.logout();
    }
  });

  after(async () => {
    await server?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("the certificate is verified: refused without --ca, the mail copied with it", async () => {
    const dataDir = join(work, "target");
    const env = { MAILROOM_DATA_DIR: dataDir, MAILROOM_IMPORT_PASSWORD: PASSWORD };
    assert.equal((await runCli(["init"], { env })).code, 0);
    assert.equal((await runCli(["domain", "add", "example.org"], { env })).code, 0);
    const added = await runCli(["user", "add", ADDRESS, "--password-stdin"], {
      env,
      stdin: "another-password\n",
    });
    assert.equal(added.code, 0, added.stderr);
    const from = `imaps://${encodeURIComponent(ADDRESS)}@localhost:${server.ports.imaps}`;

    const untrusted = await runCli(["import", "--user", ADDRESS, "--from", from], { env });
    assert.equal(untrusted.code, 69, untrusted.stderr);
    assert.match(
      untrusted.stderr,
      /could not connect to imaps:\/\/carol@example\.org@localhost:\d+ .*--ca FILE/,
    );

    const imported = await runCli(["import", "--user", ADDRESS, "--from", from, "--ca", caFile], { env });
    assert.equal(imported.code, 0, `${imported.stdout}${imported.stderr}`);
    assert.match(imported.stdout.toString(), /imported 2 messages .* 0 already there/);
    const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
    try {
      const user = await store.directory.getUser(ADDRESS);
      assert.ok(user);
      const rows: string[] = [];
      for (const mailbox of await store.mailboxes.listMailboxes(user.id)) {
        for (const message of await store.messages.listMessages(mailbox.id)) {
          const bytes = (await store.blobs.readBlobBytes(message.messageId)).toString();
          rows.push(
            `${mailbox.name} ${[...message.flags].join(",")} ${message.internalDate.toISOString()} ${bytes}`,
          );
        }
      }
      assert.deepEqual(rows.sort(), [
        "Archive \\Flagged 2020-01-01T00:00:00.000Z Subject: old\r\n\r\nolder\r\n",
        "INBOX \\Seen 2025-03-01T09:00:00.000Z Subject: kept\r\n\r\nhello\r\n",
      ]);
    } finally {
      await store.close();
    }
  });
});
