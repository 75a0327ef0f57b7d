// Developer capture mode end to end: `mailroom dev` as a process on both stores, mail sent by
// nodemailer to random addresses, read back over IMAP (imapflow) per recipient and through the
// Mailpit API; a loopback "remote" that would take the relay's connections proves none is made.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { eventually } from "../support/eventually.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const SUMMARY_KEYS = [
  "Attachments",
  "Bcc",
  "Cc",
  "Created",
  "From",
  "ID",
  "MessageID",
  "Read",
  "ReplyTo",
  "Size",
  "Snippet",
  "Subject",
  "Tags",
  "To",
  "Username",
];

interface Summary {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: { Name: string; Address: string } | null;
  To: Array<{ Name: string; Address: string }>;
  Subject: string;
  Created: string;
  Size: number;
  Attachments: number;
  Snippet: string;
}

interface Listing {
  total: number;
  unread: number;
  count: number;
  messages_count: number;
  start: number;
  tags: string[];
  messages: Summary[];
}

const tag = () => randomBytes(4).toString("hex");

/** A TCP listener standing in for every remote MX and smarthost: it counts who connects. */
async function startLoopbackRemote(): Promise<{
  port: number;
  connections(): number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.end("220 remote.test ESMTP\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

for (const backend of await integrationBackends()) {
  describe(`mailroom dev on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let remote: Awaited<ReturnType<typeof startLoopbackRemote>>;
    const base = () => `http://127.0.0.1:${server.ports.http}/api/v1`;

    before(async () => {
      remote = await startLoopbackRemote();
      server = await startTestServer({
        command: ["dev"],
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          // Were anything relayed, it would go here.
          MAILROOM_RELAY_SMARTHOST: `127.0.0.1:${remote.port}`,
          MAILROOM_RELAY_POLL_INTERVAL: "300ms",
        },
      });
    });
    after(async () => {
      await server?.cleanup();
      await remote?.close();
      await backend.release();
    });

    async function api<T>(
      path: string,
      init?: RequestInit,
    ): Promise<{ status: number; body: T; text: string }> {
      const response = await fetch(`${base()}${path}`, init);
      const text = await response.text();
      let body: unknown = null;
      if ((response.headers.get("content-type") ?? "").startsWith("application/json"))
        body = JSON.parse(text);
      return { status: response.status, body: body as T, text };
    }

    async function inboxSubjects(user: string): Promise<string[]> {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        // Capture mode: any password is the right one.
        auth: { user, pass: `any-${tag()}` },
        logger: false,
      });
      await client.connect();
      try {
        const lock = await client.getMailboxLock("INBOX");
        try {
          const subjects: string[] = [];
          if ((client.mailbox && client.mailbox.exists) === 0) return subjects;
          for await (const message of client.fetch("1:*", { envelope: true })) {
            subjects.push(message.envelope?.subject ?? "");
          }
          return subjects;
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    }

    /** USER/PASS/STAT over a plain POP3 connection: the maildrop's message count. */
    async function pop3Count(user: string): Promise<number> {
      const socket = createConnection({ host: "127.0.0.1", port: server.ports.pop3 });
      socket.setEncoding("utf8");
      let buffered = "";
      const waiting: Array<(line: string) => void> = [];
      socket.on("data", (chunk: string) => {
        buffered += chunk;
        for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          waiting.shift()?.(line);
        }
      });
      const next = () => new Promise<string>((resolve) => waiting.push(resolve));
      const send = (line: string) => {
        const reply = next();
        socket.write(`${line}\r\n`);
        return reply;
      };
      try {
        assert.match(await next(), /^\+OK/);
        assert.match(await send(`USER ${user}`), /^\+OK/);
        assert.match(await send(`PASS any-${tag()}`), /^\+OK/);
        const stat = await send("STAT");
        assert.match(stat, /^\+OK \d+ \d+/);
        await send("QUIT");
        return Number(stat.split(" ")[1]);
      } finally {
        socket.destroy();
      }
    }

    const smtp = () =>
      nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        secure: false,
        ignoreTLS: true,
      });

    async function findBySubject(subject: string): Promise<Summary> {
      return eventually(`"${subject}" in the Mailpit API`, async () => {
        const { body } = await api<Listing>(`/search?query=${encodeURIComponent(`subject:"${subject}"`)}`);
        return body.messages.find((message) => message.Subject === subject);
      });
    }

    test("two random addresses: each message in its own IMAP inbox, both in the catch-all and the API", async () => {
      const first = `first-${tag()}@example.test`;
      const second = `second-${tag()}@elsewhere.test`;
      const subjects = [`for first ${tag()}`, `for second ${tag()}`];
      await smtp().sendMail({
        from: "App <app@myapp.test>",
        to: first,
        subject: subjects[0],
        text: "Hello first.",
        html: "<p>Hello <b>first</b>.</p>",
        attachments: [{ filename: "report.txt", content: "attached bytes" }],
      });
      await smtp().sendMail({
        from: "app@myapp.test",
        to: second,
        subject: subjects[1],
        text: "Hello second.",
      });

      assert.deepEqual(await inboxSubjects(first), [subjects[0]]);
      assert.deepEqual(await inboxSubjects(second), [subjects[1]]);
      const all = await inboxSubjects("dev");
      for (const subject of subjects)
        assert.ok(all.includes(subject as string), `the catch-all has ${subject}`);

      const { status, body } = await api<Listing>("/messages?limit=500");
      assert.equal(status, 200);
      assert.deepEqual(Object.keys(body).sort(), [
        "count",
        "messages",
        "messages_count",
        "messages_unread",
        "start",
        "tags",
        "total",
        "unread",
      ]);
      assert.ok(body.total >= 2);
      assert.equal(body.count, body.messages.length);
      assert.equal(body.start, 0);
      assert.deepEqual(body.tags, []);
      const listed = body.messages.find((message) => message.Subject === subjects[0]);
      assert.ok(listed, "the first message is listed");
      assert.deepEqual(Object.keys(listed).sort(), SUMMARY_KEYS);
      assert.deepEqual(listed.From, { Name: "App", Address: "app@myapp.test" });
      assert.deepEqual(listed.To, [{ Name: "", Address: first }]);
      assert.equal(listed.Read, false);
      assert.equal(listed.Attachments, 1);
      assert.match(listed.Snippet, /Hello first/);
      assert.ok(!Number.isNaN(Date.parse(listed.Created)));
      // Newest first, as Mailpit lists them.
      const created = body.messages.map((message) => Date.parse(message.Created));
      assert.deepEqual(
        created,
        [...created].sort((a, b) => b - a),
      );

      const paged = await api<Listing>("/messages?start=1&limit=1");
      assert.equal(paged.body.start, 1);
      assert.equal(paged.body.messages.length, 1);
      assert.equal(paged.body.messages[0]?.ID, body.messages[1]?.ID);
    });

    test("one message: text, HTML, attachments, headers and the raw source", async () => {
      const subject = `full ${tag()}`;
      await smtp().sendMail({
        from: "app@myapp.test",
        to: `reader-${tag()}@example.test`,
        subject,
        text: "Plain words.",
        html: '<p>Rich <img src="cid:logo@x"> words.</p>',
        attachments: [
          { filename: "data.csv", content: "a,b\n1,2\n" },
          { filename: "logo.png", content: Buffer.from("89504e47", "hex"), cid: "logo@x" },
        ],
      });
      const { ID } = await findBySubject(subject);
      const message = await api<Record<string, unknown>>(`/message/${ID}`);
      assert.equal(message.status, 200);
      assert.equal(message.body.Subject, subject);
      assert.match(String(message.body.Text), /Plain words\./);
      assert.match(String(message.body.HTML), /<p>Rich <img src="cid:logo@x"> words\.<\/p>/);
      assert.equal(message.body.ReturnPath, "app@myapp.test");
      const attachments = message.body.Attachments as Array<Record<string, unknown>>;
      const inline = message.body.Inline as Array<Record<string, unknown>>;
      assert.deepEqual(
        attachments.map((part) => [part.FileName, part.ContentType]),
        [["data.csv", "text/csv"]],
      );
      assert.deepEqual(
        inline.map((part) => [part.FileName, part.ContentID]),
        [["logo.png", "logo@x"]],
      );

      const headers = await api<Record<string, string[]>>(`/message/${ID}/headers`);
      assert.deepEqual(headers.body.Subject, [subject]);
      assert.ok(headers.body.Received?.[0]?.includes("mailroom"));

      const raw = await api<null>(`/message/${ID}/raw`);
      assert.equal(raw.status, 200);
      assert.match(raw.text, new RegExp(`^Subject: ${subject}\\r$`, "m"));
      assert.ok(raw.text.includes("data.csv"), "the raw source holds the attachment");

      const latest = await api<Record<string, unknown>>("/message/latest");
      assert.equal(latest.body.ID, ID);
    });

    test("search, the read flag, and bad requests answered plainly", async () => {
      const word = `needle${tag()}`;
      await smtp().sendMail({
        from: "search@myapp.test",
        to: `s-${tag()}@example.test`,
        subject: `find ${word}`,
        text: "x",
      });
      const messageId = `<${word}.2@myapp.test>`;
      await smtp().sendMail({
        from: "other@myapp.test",
        to: `t-${tag()}@example.test`,
        subject: "not this",
        text: word,
        messageId,
      });
      const found = await eventually("both searchable", async () => {
        const { body } = await api<Listing>(`/search?query=${word}`);
        return body.messages_count === 2 ? body : undefined;
      });
      assert.equal(found.messages.length, 2);
      const bySender = await api<Listing>(
        `/search?query=${encodeURIComponent(`${word} from:search@myapp.test`)}`,
      );
      assert.deepEqual(
        bySender.body.messages.map((message) => message.Subject),
        [`find ${word}`],
      );

      const byMessageId = await api<Listing>(
        `/search?query=${encodeURIComponent(`message-id:${word}.2@myapp.test`)}`,
      );
      assert.deepEqual(
        byMessageId.body.messages.map((message) => message.Subject),
        ["not this"],
      );

      const ids = found.messages.map((message) => message.ID);
      const put = await api<null>("/messages", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ IDs: ids, Read: true }),
      });
      assert.equal(put.status, 200);
      assert.equal(put.text, "ok");
      const read = await api<Listing>(`/search?query=${encodeURIComponent(`${word} is:read`)}`);
      assert.equal(read.body.messages_count, 2);
      assert.ok(read.body.messages.every((message) => message.Read));

      assert.equal((await api<null>("/search?query=")).status, 400);
      const tagged = await api<null>("/search?query=tag:x");
      assert.equal(tagged.status, 400);
      assert.match(tagged.text, /tags/);
      assert.equal((await api<null>("/messages?start=-1")).status, 400);
      const bad = await api<null>("/messages", { method: "DELETE", body: "{not json" });
      assert.equal(bad.status, 400);
      assert.equal((await api<null>("/message/E999999")).status, 404);
      const unknown = await api<null>("/webui");
      assert.equal(unknown.status, 404);
      assert.match(unknown.text, /\/api\/v1\/messages/);
      // Nothing was deleted by the refused requests.
      assert.equal((await api<Listing>(`/search?query=${word}`)).body.messages_count, 2);
    });

    test("mail for another domain, and the notice the server itself sends there, are captured: no connection goes out", async () => {
      const outside = `someone-${tag()}@faraway-${tag()}.test`;
      const sender = `app@notify-${tag()}.test`;
      const subject = `outbound ${tag()}`;
      const submission = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.submission,
        secure: false,
        ignoreTLS: true,
        auth: { user: "whoever", pass: "whatever" },
      });
      // NOTIFY=SUCCESS makes the server write a delivery notice to the sender, whose domain is not
      // served here: that one goes through the queue, where the capture transport takes it.
      await submission.sendMail({
        envelope: { from: sender, to: [outside] },
        from: sender,
        to: outside,
        subject,
        text: "would have left the building",
        dsn: { notify: ["success"], recipient: outside },
      });
      assert.deepEqual(await inboxSubjects(outside), [subject]);
      const notice = await eventually("the success notice in the sender's captured inbox", async () => {
        const subjects = await inboxSubjects(sender);
        return subjects.length > 0 ? subjects : undefined;
      });
      assert.match(notice[0] ?? "", /deliver/i);
      const queue = await server.cli(["queue", "list"]);
      assert.equal(queue.code, 0, queue.stderr);
      assert.doesNotMatch(queue.stdout, /notify-/);
      assert.ok(
        server.logs().some((line) => line.msg === "capture: outbound message kept here, not sent"),
        "the capture transport took the notice",
      );
      assert.equal(remote.connections(), 0, "the loopback smarthost/MX saw no connection");
    });

    test("delete by ID removes every copy; delete all empties every inbox", async () => {
      const victim = `victim-${tag()}@example.test`;
      const subject = `doomed ${tag()}`;
      await smtp().sendMail({ from: "app@myapp.test", to: victim, subject, text: "bye" });
      const { ID } = await findBySubject(subject);
      assert.deepEqual(await inboxSubjects(victim), [subject]);
      const removed = await api<null>("/messages", {
        method: "DELETE",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ IDs: [ID] }),
      });
      assert.equal(removed.status, 200);
      assert.equal((await api<null>(`/message/${ID}`)).status, 404);
      assert.deepEqual(await inboxSubjects(victim), [], "the recipient's copy went too");

      const searched = `bysearch${tag()}`;
      await smtp().sendMail({ from: "app@myapp.test", to: victim, subject: searched, text: "x" });
      await findBySubject(searched);
      assert.equal((await api<null>(`/search?query=${searched}`, { method: "DELETE" })).status, 200);
      assert.equal((await api<Listing>(`/search?query=${searched}`)).body.messages_count, 0);
      assert.deepEqual(await inboxSubjects(victim), []);

      assert.equal((await api<null>("/messages", { method: "DELETE" })).status, 200);
      const empty = await api<Listing>("/messages");
      assert.equal(empty.body.total, 0);
      assert.deepEqual(empty.body.messages, []);
      assert.deepEqual(await inboxSubjects("dev"), []);
    });
  });
}

describe("outside capture mode", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.cleanup();
  });

  test("the Mailpit API is not served", async () => {
    const response = await fetch(`http://127.0.0.1:${server.ports.http}/api/v1/messages`);
    assert.equal(response.status, 404);
    await response.text();
  });
});
