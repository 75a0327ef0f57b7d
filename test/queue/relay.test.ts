import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { IN_MEMORY_BODY_LIMIT } from "../../src/queue/body.js";
import type { TestDnsRecords } from "../support/dns.js";
import { type Harness, inboxReports, makeHarness, queueMessage } from "./helpers.js";
import type { RemoteScript } from "./remote.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const oneMx = (): TestDnsRecords => ({
  "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
  "mx.remote.test": { a: ["127.0.0.1"] },
});

const BODY =
  "From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: hi\r\n\r\nHello Bob.\r\n.dot line\r\n";

describe("relaying queued mail", () => {
  let harness: Harness | null = null;
  afterEach(async () => {
    await harness?.close();
    harness = null;
  });

  async function setup(script: RemoteScript = {}, records = oneMx, overrides = {}): Promise<Harness> {
    harness = await makeHarness(() => records(), script, overrides);
    return harness;
  }

  test("success: the remote gets the body without Return-Path and the entry is gone", async () => {
    const h = await setup();
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["bob@remote.test"], body: BODY });
    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 1);
    const [sent] = h.remote.transactions;
    assert.equal(sent?.from, "alice@example.org");
    assert.deepEqual(sent?.to, ["bob@remote.test"]);
    assert.equal(sent?.body.toString(), BODY);
    assert.deepEqual(await h.store.queue.list(), []);
    assert.deepEqual(await inboxReports(h.store), [], "no notice without NOTIFY=SUCCESS");
  });

  test("4xx then success: deferred by the first retry delay, then delivered", async () => {
    const h = await setup({
      rcpt: (_address, attempt) => (attempt === 1 ? "451 4.3.0 Try later" : "250 2.1.5 Ok"),
    });
    const { queueIds } = await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: BODY,
    });
    const before = h.now().getTime();
    await h.runner().runNow();
    const deferred = await h.store.queue.get(queueIds[0] ?? "");
    assert.ok(deferred);
    assert.equal(deferred.state, "queued");
    assert.equal(deferred.attempts, 1);
    assert.match(deferred.lastError ?? "", /^451 4\.3\.0 Try later/);
    const wait = deferred.nextAttemptAt.getTime() - before;
    assert.ok(wait >= 5 * MINUTE && wait < 5 * MINUTE + 10_000, `next attempt in ${wait} ms`);
    assert.equal(h.remote.transactions.length, 0);

    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 0, "not due yet: not tried again");
    h.advance(5 * MINUTE + 1000);
    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 1);
    assert.deepEqual(await h.store.queue.list(), []);
  });

  test("5xx: bounced at once, and the notice lands in the local sender's INBOX", async () => {
    const h = await setup({
      rcpt: (address) => (address === "nobody@remote.test" ? "550 5.1.1 No such user here" : "250 2.1.5 Ok"),
    });
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: [
        { recipient: "nobody@remote.test", dsn: { orcpt: "rfc822;Nobody@remote.test" } },
        "bob@remote.test",
      ],
      body: BODY,
      envelopeDsn: { envid: "ENV-42", ret: "HDRS" },
    });
    await h.runner().runNow();
    assert.deepEqual(await h.store.queue.list(), []);
    assert.deepEqual(h.remote.transactions[0]?.to, ["bob@remote.test"]);
    const reports = await inboxReports(h.store);
    assert.equal(reports.length, 1);
    const report = reports[0];
    assert.ok(report);
    assert.ok(report.raw.startsWith("Return-Path: <>\r\n"));
    assert.match(report.headers, /^To: <alice@example\.org>$/m);
    assert.match(report.headers, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    assert.deepEqual(
      report.parts.map((part) => part.contentType),
      ["text/plain", "message/delivery-status", "text/rfc822-headers"],
    );
    const [message, recipient, ...rest] = report.status;
    assert.equal(rest.length, 0, "only the failed recipient is reported");
    assert.equal(message?.["reporting-mta"], "dns; mx.example.org");
    assert.equal(message?.["original-envelope-id"], "ENV-42");
    assert.ok(message?.["arrival-date"]);
    assert.equal(recipient?.["final-recipient"], "rfc822; nobody@remote.test");
    assert.equal(recipient?.["original-recipient"], "rfc822; Nobody@remote.test");
    assert.equal(recipient?.action, "failed");
    assert.equal(recipient?.status, "5.1.1");
    assert.equal(recipient?.["remote-mta"], "dns; mx.remote.test");
    assert.equal(recipient?.["diagnostic-code"], "smtp; 550 5.1.1 No such user here");
    assert.ok(recipient?.["last-attempt-date"]);
    // RET=HDRS: the header block only, without the Return-Path added at acceptance.
    assert.equal(
      report.parts[2]?.body,
      "From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: hi\r\n\r\n",
    );
  });

  test("expiry: a message still deferred past maxAge is returned with 4.4.7 and the full message", async () => {
    const h = await setup({ rcpt: () => "450 4.2.1 Mailbox busy" });
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["bob@remote.test"], body: BODY });
    h.advance(h.config.maxAge + MINUTE);
    await h.runner().runNow();
    assert.deepEqual(await h.store.queue.list(), []);
    const [report] = await inboxReports(h.store);
    assert.ok(report);
    assert.equal(report.status[1]?.action, "failed");
    assert.equal(report.status[1]?.status, "4.4.7");
    assert.equal(report.status[1]?.["diagnostic-code"], "smtp; 450 4.2.1 Mailbox busy");
    assert.equal(report.parts[2]?.contentType, "message/rfc822");
    assert.equal(report.parts[2]?.body, BODY, "RET defaults to FULL for failures");
  });

  test("delay notice: sent once after delayNotice, not again at the next failure", async () => {
    const h = await setup({ rcpt: () => "451 4.7.1 Greylisted" });
    const { queueIds } = await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: BODY,
    });
    await h.runner().runNow();
    assert.equal((await inboxReports(h.store)).length, 0, "too early for a delay notice");
    h.advance(h.config.delayNotice + MINUTE);
    await h.runner().runNow();
    let reports = await inboxReports(h.store);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.status[1]?.action, "delayed");
    assert.equal(reports[0]?.status[1]?.status, "4.7.1");
    assert.ok(reports[0]?.status[1]?.["will-retry-until"]);
    assert.equal((await h.store.queue.get(queueIds[0] ?? ""))?.delayNotified, true);
    h.advance(4 * HOUR);
    await h.runner().runNow();
    reports = await inboxReports(h.store);
    assert.equal(reports.length, 1, "only one delay notice");
    assert.equal((await h.store.queue.get(queueIds[0] ?? ""))?.attempts, 3);
  });

  test("NOTIFY=NEVER suppresses the bounce", async () => {
    const h = await setup({ rcpt: () => "550 5.1.1 No" });
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: [{ recipient: "bob@remote.test", dsn: { notify: ["NEVER"] } }],
      body: BODY,
    });
    await h.runner().runNow();
    assert.deepEqual(await h.store.queue.list(), []);
    assert.equal((await inboxReports(h.store)).length, 0);
  });

  test("null MX: bounced as 'does not accept mail' without contacting anyone", async () => {
    const h = await setup({}, () => ({ "remote.test": { mx: [{ preference: 0, exchange: "." }] } }));
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["bob@remote.test"], body: BODY });
    await h.runner().runNow();
    assert.equal(h.remote.connections(), 0);
    assert.deepEqual(await h.store.queue.list(), []);
    const [report] = await inboxReports(h.store);
    assert.equal(report?.status[1]?.status, "5.1.10");
    assert.match(report?.status[1]?.["diagnostic-code"] ?? "", /^x-mailroom; .*does not accept mail/);
  });

  test("MX preference: the first MX refuses connections, the second gets the message", async () => {
    const h = await setup({}, () => ({
      "remote.test": {
        mx: [
          { preference: 20, exchange: "backup.remote.test" },
          { preference: 5, exchange: "down.remote.test" },
        ],
      },
      // Nothing listens on 127.0.0.2 at the remote's port: the connection is refused.
      "down.remote.test": { a: ["127.0.0.2"] },
      "backup.remote.test": { a: ["127.0.0.1"] },
    }));
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["bob@remote.test"], body: BODY });
    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 1);
    assert.deepEqual(await h.store.queue.list(), []);
    const asked = h.dns.queries();
    assert.ok(asked.indexOf("A down.remote.test") < asked.indexOf("A backup.remote.test"));
  });

  test("a connection dropped mid-DATA: deferred, not lost, and delivered on the retry", async () => {
    const h = await setup({ dataEnd: (_tx, attempt) => (attempt === 1 ? "drop" : "250 2.0.0 Ok") });
    const { queueIds } = await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["bob@remote.test"],
      body: BODY,
    });
    await h.runner().runNow();
    const entry = await h.store.queue.get(queueIds[0] ?? "");
    assert.equal(entry?.state, "queued");
    assert.equal(entry?.attempts, 1);
    assert.ok(entry?.lastError);
    assert.equal(h.remote.transactions.length, 0);
    h.advance(6 * MINUTE);
    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 1);
    assert.equal(h.remote.transactions[0]?.body.toString(), BODY);
    assert.deepEqual(await h.store.queue.list(), []);
  });

  test("recipients of one domain share one transaction; other domains get their own", async () => {
    const h = await setup({}, () => ({
      ...oneMx(),
      "other.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
    }));
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["a@remote.test", "b@remote.test", "c@other.test", "d@remote.test"],
      body: BODY,
    });
    await h.runner().runNow();
    const seen = h.remote.transactions.map((tx) => [...tx.to].sort());
    assert.equal(seen.length, 2);
    assert.deepEqual(
      seen.sort((x, y) => x.length - y.length),
      [["c@other.test"], ["a@remote.test", "b@remote.test", "d@remote.test"]],
    );
    assert.deepEqual(await h.store.queue.list(), []);
  });

  test("recipients of several domains that fail together get one DSN listing them all", async () => {
    const h = await setup(
      {
        rcpt: (address) =>
          address.startsWith("ok@") ? "250 2.1.5 Ok" : `550 5.1.1 <${address}> No such user here`,
      },
      () => ({
        ...oneMx(),
        "other.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
        "third.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
      }),
    );
    const { messageId } = await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["x@remote.test", "ok@remote.test", "y@other.test", "z@third.test"],
      body: BODY,
    });
    await h.runner().runNow();
    assert.deepEqual(await h.store.queue.list(), []);
    const reports = await inboxReports(h.store);
    assert.equal(reports.length, 1, "one notice for the message, not one per domain");
    const failed = reports[0]?.status.slice(1).map((each) => each["final-recipient"]);
    assert.deepEqual(failed?.sort(), [
      "rfc822; x@remote.test",
      "rfc822; y@other.test",
      "rfc822; z@third.test",
    ]);
    // The trace names the notice once, with every recipient it reports.
    await h.runner().stop();
    const dsns = (await h.store.traces.getTrace(messageId)).filter((event) => event.kind === "dsn");
    assert.equal(dsns.length, 1);
    assert.deepEqual([...((dsns[0]?.data.recipients ?? []) as string[])].sort(), [
      "x@remote.test",
      "y@other.test",
      "z@third.test",
    ]);
  });

  test("a recipient that fails at a later retry gets its own later DSN", async () => {
    let deferOther = true;
    const h = await setup(
      {
        rcpt: (address) => {
          if (address === "y@other.test" && deferOther) return "451 4.3.0 try later";
          return `550 5.1.1 <${address}> No such user here`;
        },
      },
      () => ({ ...oneMx(), "other.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] } }),
    );
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["x@remote.test", "y@other.test"],
      body: BODY,
    });
    await h.runner().runNow();
    let reports = await inboxReports(h.store);
    assert.equal(reports.length, 1, "the failure is not held back for a recipient waiting to be retried");
    assert.deepEqual(
      reports[0]?.status.slice(1).map((each) => each["final-recipient"]),
      ["rfc822; x@remote.test"],
    );
    const [waiting] = await h.store.queue.list();
    assert.equal(waiting?.recipient, "y@other.test");
    deferOther = false;
    h.advance(HOUR);
    await h.runner().runNow();
    reports = await inboxReports(h.store);
    assert.equal(reports.length, 2);
    assert.deepEqual(
      reports.map((report) => report.status.slice(1).map((each) => each["final-recipient"])).sort(),
      [["rfc822; x@remote.test"], ["rfc822; y@other.test"]],
    );
  });

  test("connections to a host are reused for the next message", async () => {
    // Idle longer than a loaded machine takes between the two passes: the harness's 500 ms is not.
    const h = await setup({}, oneMx, { idleTimeout: 60_000 });
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["a@remote.test"], body: BODY });
    await h.runner().runNow();
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["b@remote.test"], body: BODY });
    await h.runner().runNow();
    assert.equal(h.remote.transactions.length, 2);
    assert.equal(h.remote.connections(), 1);
  });

  const threeDomains = (): TestDnsRecords => ({
    "a.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
    "b.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
    "c.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
    "mx.remote.test": { a: ["127.0.0.1"] },
  });
  const burstBody = (n: number, tag = ""): string =>
    `From: alice@example.org\r\nSubject: burst ${n}${tag}\r\n\r\nMessage ${n}.\r\n`;

  test("a burst to several domains: each message arrives once over reused connections, the queue ends empty", async () => {
    const h = await setup({}, threeDomains, { concurrency: 6, perDomainConcurrency: 2 });
    const count = 90;
    for (let n = 0; n < count; n++) {
      const domain = ["a.test", "b.test", "c.test"][n % 3];
      await queueMessage(h.store, {
        sender: "alice@example.org",
        recipients: [`user${n}@${domain}`],
        body: burstBody(n),
      });
    }
    await h.runner().runNow();
    const subjects = h.remote.transactions.map(
      (each) => /Subject: (burst \d+)/.exec(each.body.toString())?.[1],
    );
    assert.equal(subjects.length, count, "one transaction per message");
    assert.equal(new Set(subjects).size, count, "no message twice");
    assert.ok(h.remote.connections() <= 6, `${h.remote.connections()} connections for 6 slots`);
    assert.deepEqual(await h.store.queue.stats(), { size: 0, oldestCreatedAt: null });
    // The bodies go once the batched records are durable (a checkpoint follows within a second).
    const files = async () =>
      (await readdir(join(h.dataDir, "messages"), { recursive: true, withFileTypes: true })).filter((each) =>
        each.isFile(),
      ).length;
    const deadline = Date.now() + 5000;
    while ((await files()) > 0) {
      assert.ok(Date.now() < deadline, "every sent body is removed");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  test("in a burst only the messages the remote accepted leave the queue", async () => {
    const h = await setup(
      {
        dataEnd: (transaction) => {
          const text = transaction.body.toString();
          if (text.includes("(defer)")) return "451 4.3.0 Not now";
          if (text.includes("(refuse)")) return "554 5.6.0 Not this one";
          return "250 2.0.0 Ok: queued";
        },
      },
      threeDomains,
      { concurrency: 6, perDomainConcurrency: 2 },
    );
    const fate = (n: number): string => (n % 5 === 1 ? " (defer)" : n % 5 === 3 ? " (refuse)" : "");
    const ids = new Map<string, number>();
    for (let n = 0; n < 40; n++) {
      const domain = ["a.test", "b.test", "c.test"][n % 3];
      const { queueIds } = await queueMessage(h.store, {
        sender: "alice@example.org",
        recipients: [`user${n}@${domain}`],
        body: burstBody(n, fate(n)),
      });
      ids.set(queueIds[0] as string, n);
    }
    await h.runner().runNow();
    const left = await h.store.queue.list();
    assert.deepEqual(
      left.map((entry) => ids.get(entry.id)).sort((x, y) => (x ?? 0) - (y ?? 0)),
      [...ids.values()].filter((n) => n % 5 === 1),
      "exactly the deferred messages wait",
    );
    for (const entry of left) {
      assert.equal(entry.state, "queued");
      assert.match(entry.lastError ?? "", /451 4\.3\.0 Not now/);
    }
    assert.equal(h.remote.transactions.length, 24, "the accepted ones, once each");
    const bounced = (await inboxReports(h.store)).flatMap((report) =>
      report.status.slice(1).map((each) => each["final-recipient"]),
    );
    assert.deepEqual(
      bounced.sort(),
      [...ids.values()]
        .filter((n) => n % 5 === 3)
        .map((n) => `rfc822; user${n}@${["a.test", "b.test", "c.test"][n % 3]}`)
        .sort(),
    );
  });

  test("a body past the in-memory limit is streamed whole; an 8-bit byte at its end still asks for 8BITMIME", async () => {
    const h = await setup();
    const line = `${"x".repeat(998)}\r\n`;
    const body = Buffer.concat([
      Buffer.from("From: alice@example.org\r\nSubject: big\r\n\r\n"),
      Buffer.from(line.repeat(Math.ceil((IN_MEMORY_BODY_LIMIT * 1.5) / line.length))),
      Buffer.from("caf\u00e9\r\n", "utf8"),
    ]);
    await queueMessage(h.store, { sender: "alice@example.org", recipients: ["bob@remote.test"], body });
    await queueMessage(h.store, {
      sender: "alice@example.org",
      recipients: ["carol@remote.test"],
      body: BODY,
    });
    await h.runner().runNow();
    const big = h.remote.transactions.find((each) => each.to[0] === "bob@remote.test");
    const small = h.remote.transactions.find((each) => each.to[0] === "carol@remote.test");
    assert.ok(big && small);
    assert.ok(big.body.equals(body), "the large body arrives byte for byte");
    assert.match(big.mail, /BODY=8BITMIME/);
    assert.equal(small.body.toString(), BODY);
    assert.doesNotMatch(small.mail, /BODY=8BITMIME/);
    assert.deepEqual(await h.store.queue.list(), []);
  });

  test("a bounce of a bounce is dropped, not sent to <>", async () => {
    const h = await setup({ rcpt: () => "550 5.1.1 No" });
    await queueMessage(h.store, { sender: "", recipients: ["bob@remote.test"], body: BODY });
    await h.runner().runNow();
    assert.deepEqual(await h.store.queue.list(), []);
    assert.equal((await inboxReports(h.store)).length, 0);
  });

  test("a remote sender's bounce is queued to the sender's domain from <>", async () => {
    const h = await setup({
      rcpt: (address) => (address === "bob@remote.test" ? "550 5.1.1 No" : "250 2.1.5 Ok"),
    });
    await queueMessage(h.store, { sender: "carol@remote.test", recipients: ["bob@remote.test"], body: BODY });
    await h.runner().runNow();
    await h.runner().runNow();
    const notice = h.remote.transactions.find((tx) => tx.to.includes("carol@remote.test"));
    assert.ok(notice);
    assert.equal(notice.from, "");
    assert.match(notice.body.toString(), /^From: Mail Delivery System <MAILER-DAEMON@mx\.example\.org>\r\n/);
  });
});
