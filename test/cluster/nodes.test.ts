// Issue 7: three `mailroom serve` nodes on one PostgreSQL database. Mail accepted by node A is read on
// node B (CLI and POP3) and on node C (IMAP, woken in IDLE by LISTEN/NOTIFY), byte for byte; a flag set
// on A is pushed to a JMAP EventSource client on B; and a node killed with SIGKILL while it holds a POP3
// maildrop lock does not lock the user out of the others.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";
import { type ClusterNode, LineClient, startNodes } from "./helpers.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const password = "cluster secret";
const user = "bob@example.org";

const database: TestPostgres | null = await startTestPostgres();

async function catBytes(env: NodeJS.ProcessEnv, uid: number): Promise<Buffer> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "mail", "cat", user, "INBOX", String(uid)],
    { cwd: root, env, encoding: "buffer" },
  );
  return stdout;
}

async function sendTo(port: number, subject: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, ignoreTLS: true });
  try {
    await transport.sendMail({
      from: "carol@remote.test",
      to: user,
      subject,
      text: `${subject}\n.a line starting with a dot\nGrüße\n`,
      attachments: [{ filename: "bytes.bin", content: Buffer.from([0, 13, 10, 46, 255]) }],
    });
  } finally {
    transport.close();
  }
}

/** A POP3 session through USER/PASS; resolves with the client and the reply line to PASS. */
async function pop3Login(port: number): Promise<{ client: LineClient; reply: string }> {
  const client = await LineClient.open(port);
  await client.waitFor(/^\+OK[^\r\n]*\r\n/);
  let from = client.text.length;
  client.send(`USER ${user}`);
  await client.waitFor(/[+-][^\r\n]*\r\n/, from);
  from = client.text.length;
  client.send(`PASS ${password}`);
  const match = await client.waitFor(/([+-][^\r\n]*)\r\n/, from);
  return { client, reply: match[1] ?? "" };
}

/** An IMAP session logged in with INBOX selected (tags l1 and l2). */
async function imapInbox(port: number): Promise<LineClient> {
  const imap = await LineClient.open(port);
  try {
    await imap.waitFor(/^\* OK[^\r\n]*\r\n/);
    imap.send(`l1 LOGIN ${user} "${password}"`);
    await imap.waitFor(/l1 OK[^\r\n]*\r\n/);
    imap.send("l2 SELECT INBOX");
    await imap.waitFor(/l2 OK[^\r\n]*\r\n/);
    return imap;
  } catch (error) {
    imap.close();
    throw error;
  }
}

describe("three nodes on one PostgreSQL", { skip: database === null && POSTGRES_SKIP_REASON }, () => {
  let nodes: ClusterNode[] = [];
  const node = (index: number): ClusterNode => {
    const found = nodes[index];
    assert.ok(found, `node ${index} was started`);
    return found;
  };

  before(async () => {
    assert.ok(database);
    nodes = await startNodes(3, database.url);
    const admin = node(1).server;
    assert.equal((await admin.cli(["domain", "add", "example.org"])).code, 0);
    const added = await admin.cli(["user", "add", user, "--password-stdin"], `${password}\n`);
    assert.equal(added.code, 0, added.stderr);
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.server.cleanup()));
    await database?.stop();
  });

  test("mail accepted on A: IDLE on C hears it; CLI on B, IMAP on C and POP3 on B read the same bytes", {
    skip: needs(clients.curl),
  }, async () => {
    const imap = await imapInbox(node(2).imapPort);
    try {
      assert.match(imap.text, /\* 0 EXISTS\r\n/);
      imap.send("a3 IDLE");
      const idling = await imap.waitFor(/\+ [^\r\n]*\r\n/);

      await sendTo(node(0).server.ports.smtp, "hello from node A");

      // RFC 2177: while idling the server sends untagged EXISTS for new mail without being asked.
      await imap.waitFor(/\* 1 EXISTS\r\n/, idling.index);
      let from = imap.text.length;
      imap.send("DONE");
      await imap.waitFor(/a3 OK[^\r\n]*\r\n/, from);

      const listed = await node(1).server.cli(["mail", "list", user, "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const messages = JSON.parse(listed.stdout) as Array<{ uid: number; subject: string }>;
      assert.equal(messages.length, 1);
      const [message] = messages;
      assert.ok(message);
      assert.equal(message.subject, "hello from node A");
      const stored = await catBytes(node(1).server.env, message.uid);
      assert.match(stored.toString("latin1"), /^Return-Path: <carol@remote\.test>\r\n/);
      assert.ok(stored.includes(Buffer.from("\r\n.a line starting with a dot")));

      from = imap.text.length;
      imap.send(`a4 UID FETCH ${message.uid} BODY.PEEK[]`);
      const literal = await imap.waitFor(/BODY\[\] \{(\d+)\}\r\n/, from);
      await imap.waitFor(/a4 OK[^\r\n]*\r\n/, from);
      const start = literal.index + literal[0].length;
      const fetched = imap.text.slice(start, start + Number(literal[1]));
      assert.equal(fetched, stored.toString("latin1"), "IMAP on C returns the bytes the CLI on B shows");

      const pop3 = await run(
        "curl",
        ["-sS", "--user", `${user}:${password}`, `pop3://127.0.0.1:${node(1).server.ports.pop3}/1`],
        { encoding: "buffer" },
      );
      assert.equal(pop3.stdout.toString("latin1"), stored.toString("latin1"), "POP3 RETR on B");
    } finally {
      imap.close();
    }
  });

  test("a flag set over IMAP on A reaches a JMAP EventSource client on B as a StateChange", async () => {
    // Issue 14: on PostgreSQL the push of one node hears what another changed (LISTEN/NOTIFY).
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    const jmapOn = (index: number) => `http://127.0.0.1:${node(index).server.ports.http}`;
    const session = (await (
      await fetch(`${jmapOn(1)}/.well-known/jmap`, { headers: { authorization } })
    ).json()) as { primaryAccounts: Record<string, string> };
    const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
    assert.ok(accountId, "node B's session names the mail account");
    const stream = await fetch(`${jmapOn(1)}/jmap/eventsource/?types=Email&closeafter=state&ping=0`, {
      headers: { authorization },
    });
    assert.equal(stream.status, 200);
    const events = stream.text();

    const imap = await imapInbox(node(0).imapPort);
    try {
      imap.send("b3 STORE 1 +FLAGS (\\Flagged)");
      await imap.waitFor(/b3 OK[^\r\n]*\r\n/);
    } finally {
      imap.close();
    }

    const data = /^event: state\ndata: (.+)$/m.exec(await events)?.[1];
    assert.ok(data, "node B's EventSource sent a state event");
    const change = JSON.parse(data) as { "@type": string; changed: Record<string, { Email?: string }> };
    assert.equal(change["@type"], "StateChange");
    const answer = (await (
      await fetch(`${jmapOn(0)}/jmap/api/`, {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify({
          using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
          methodCalls: [["Email/get", { accountId, ids: [], properties: ["keywords"] }, "g"]],
        }),
      })
    ).json()) as { methodResponses: Array<[string, { state: string }, string]> };
    const emailState = answer.methodResponses[0]?.[1].state;
    assert.equal(change.changed[accountId]?.Email, emailState, "B pushed the Email state A now reports");
  });

  test("a node killed with SIGKILL while holding the POP3 lock does not lock the user out", async () => {
    const holder = await pop3Login(node(0).server.ports.pop3);
    assert.match(holder.reply, /^\+OK/);
    // The lock is the cluster's, not the node's: a second session on another node is refused.
    const refused = await pop3Login(node(1).server.ports.pop3);
    assert.match(refused.reply, /^-ERR \[IN-USE\]/);
    refused.client.close();

    await node(0).server.kill();
    holder.client.close();

    // PostgreSQL ends the dead node's session when its socket closes, and with it the advisory lock.
    const deadline = Date.now() + 20_000;
    let last = "";
    for (;;) {
      const attempt = await pop3Login(node(2).server.ports.pop3);
      last = attempt.reply;
      if (last.startsWith("+OK")) {
        const from = attempt.client.text.length;
        attempt.client.send("QUIT");
        await attempt.client.waitFor(/\+OK[^\r\n]*\r\n/, from);
        attempt.client.close();
        break;
      }
      attempt.client.close();
      assert.match(last, /^-ERR \[IN-USE\]/, "the only refusal expected is the stale lock");
      assert.ok(Date.now() < deadline, `still locked out 20 s after the kill: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
});
