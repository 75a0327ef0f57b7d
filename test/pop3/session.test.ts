import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import fc from "fast-check";
import { scramClient } from "../../src/auth/sasl/scram-client.js";
import { WHOLE_BODY_LIMIT } from "../../src/pop3/session.js";
import { StoreError } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { ADDRESS, collect, createFixture, PASSWORD, type Pop3Fixture, SessionDriver } from "./fixtures.js";

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");
const STATUS = /^(\+OK|-ERR)( [^\r\n]*)?\r\n/;

const MESSAGE_1 = "From: a@b\r\nSubject: one\r\n\r\nHello\r\n.leading dot\r\n.\r\nbye\r\n";
const MESSAGE_2 = "Subject: two\r\n\r\nno final newline";
const MESSAGE_3 = "Subject: three\r\nX: y\r\n\r\nl1\r\nl2\r\n.l3\r\nl4\r\n";

describe("POP3 session", () => {
  let fixture: Pop3Fixture;
  let uids: number[];

  before(async () => {
    fixture = await createFixture();
  });
  after(async () => {
    await fixture.cleanup();
  });
  beforeEach(async () => {
    const existing = await fixture.store.messages.listMessages(fixture.inbox.id);
    await fixture.store.messages.expunge(
      fixture.inbox.id,
      existing.map((message) => message.uid),
    );
    uids = [];
    for (const message of [MESSAGE_1, MESSAGE_2, MESSAGE_3]) uids.push(await fixture.deliver(message));
  });

  describe("AUTHORIZATION", () => {
    test("the greeting carries no APOP timestamp and APOP is refused with advice", async () => {
      const driver = new SessionDriver(fixture);
      const greeting = await collect(driver.session.greeting().output);
      assert.match(greeting, /^\+OK [^<>]*\r\n$/);
      assert.equal(
        await driver.send("APOP alice@example.test c4c9334bac560ecc979e58001b3e22fb"),
        "-ERR APOP is not supported; use AUTH SCRAM-SHA-256 or USER/PASS over TLS\r\n",
      );
      assert.equal(driver.session.state, "authorization");
    });

    test("CAPA on loopback without TLS offers USER, PLAIN and STLS", async () => {
      const capa = await new SessionDriver(fixture).send("CAPA");
      const lines = capa.split("\r\n");
      assert.equal(lines[0], "+OK capability list follows");
      for (const expected of [
        "TOP",
        "UIDL",
        "USER",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "EXPIRE NEVER",
        "STLS",
        "IMPLEMENTATION mailroom",
      ]) {
        assert.ok(lines.includes(expected), expected);
      }
      const sasl = lines.find((line) => line.startsWith("SASL "));
      assert.ok(sasl?.includes("SCRAM-SHA-256") && sasl.includes("PLAIN") && sasl.includes("LOGIN"));
      assert.ok(capa.endsWith("\r\n.\r\n"));
    });

    test("from a remote address without TLS: no USER, no SASL at all; USER, PASS and AUTH refused", async () => {
      const driver = new SessionDriver(fixture, { remoteAddress: "203.0.113.9" });
      const capa = await driver.send("CAPA");
      assert.ok(!capa.split("\r\n").includes("USER"));
      assert.doesNotMatch(capa, /SASL/, "not even SCRAM is offered where AUTH would be refused");
      assert.match(capa, /\r\nSTLS\r\n/);
      assert.match(await driver.send("AUTH SCRAM-SHA-256"), /^-ERR \[AUTH\] .*STLS/);
      assert.match(await driver.send(`USER ${ADDRESS}`), /^-ERR \[AUTH\] .*STLS/);
      assert.match(await driver.send(`PASS ${PASSWORD}`), /^-ERR /);
      assert.match(
        await driver.send(`AUTH PLAIN ${b64(`\0${ADDRESS}\0${PASSWORD}`)}`),
        /^-ERR \[AUTH\] .*STLS/,
      );
      assert.match(await driver.send("AUTH LOGIN"), /^-ERR \[AUTH\]/);
      assert.equal(driver.session.state, "authorization");
    });

    test('per-listener policy: "tls" refuses USER from loopback before STLS, "any" takes it from afar', async () => {
      const tls = new SessionDriver(fixture, { authPolicy: "tls" });
      const capa = await tls.send("CAPA");
      assert.ok(!capa.split("\r\n").includes("USER"));
      assert.doesNotMatch(capa, /SASL/);
      assert.match(await tls.send(`USER ${ADDRESS}`), /^-ERR \[AUTH\] .*STLS/);
      const off = new SessionDriver(fixture, { authPolicy: "off", secure: true, tlsAvailable: false });
      assert.match(await off.send(`USER ${ADDRESS}`), /^-ERR \[AUTH\] logins are turned off/);
      const any = new SessionDriver(fixture, { authPolicy: "any", remoteAddress: "203.0.113.9" });
      assert.match(await any.send(`USER ${ADDRESS}`), /^\+OK /);
      assert.match(await any.send(`PASS ${PASSWORD}`), /^\+OK /);
      assert.match(await any.send("QUIT"), /^\+OK /);
    });

    test("STLS asks for the upgrade; afterwards USER is allowed and STLS is gone", async () => {
      const driver = new SessionDriver(fixture, { remoteAddress: "203.0.113.9" });
      assert.equal(await driver.send("STLS"), "+OK begin TLS negotiation\r\n");
      assert.equal(driver.lastAction, "starttls");
      driver.session.tlsStarted();
      const capa = await driver.send("CAPA");
      assert.ok(capa.split("\r\n").includes("USER"));
      assert.ok(!capa.includes("STLS"));
      assert.match(await driver.send("STLS"), /^-ERR TLS is already active/);
      assert.match(await driver.login(), /^\+OK /);
      await driver.send("QUIT");
    });

    test("STLS forgets a USER given before it", async () => {
      const driver = new SessionDriver(fixture);
      await driver.send(`USER ${ADDRESS}`);
      await driver.send("STLS");
      driver.session.tlsStarted();
      assert.match(await driver.send(`PASS ${PASSWORD}`), /^-ERR send USER before PASS/);
    });

    test("STLS is refused where no TLS identity is available", async () => {
      const driver = new SessionDriver(fixture, { tlsAvailable: false });
      assert.ok(!(await driver.send("CAPA")).includes("STLS"));
      assert.match(await driver.send("STLS"), /^-ERR /);
      assert.equal(driver.lastAction, "continue");
    });

    test("USER/PASS logs in and reports the maildrop", async () => {
      const driver = new SessionDriver(fixture);
      assert.equal(await driver.send(`user ${ADDRESS}`), "+OK send your password with PASS\r\n");
      const size = Buffer.byteLength(MESSAGE_1) + Buffer.byteLength(MESSAGE_2) + Buffer.byteLength(MESSAGE_3);
      assert.equal(
        await driver.send(`PASS ${PASSWORD}`),
        `+OK ${ADDRESS} has 3 messages (${size} octets)\r\n`,
      );
      assert.equal(driver.session.state, "transaction");
      await driver.send("QUIT");
    });

    test("a wrong password fails with [AUTH] and USER must be sent again", async () => {
      const driver = new SessionDriver(fixture);
      await driver.send(`USER ${ADDRESS}`);
      assert.match(await driver.send("PASS wrong"), /^-ERR \[AUTH\] /);
      assert.match(await driver.send(`PASS ${PASSWORD}`), /^-ERR send USER before PASS/);
      assert.match(await driver.send("PASS"), /^-ERR /);
      assert.match(await driver.send("USER"), /^-ERR usage: USER/);
      assert.equal(driver.session.state, "authorization");
    });

    test("AUTH PLAIN with an initial response", async () => {
      const driver = new SessionDriver(fixture);
      assert.match(await driver.send(`AUTH PLAIN ${b64(`\0${ADDRESS}\0${PASSWORD}`)}`), /^\+OK /);
      assert.equal(driver.session.state, "transaction");
      await driver.send("QUIT");
    });

    test("AUTH PLAIN without initial response gets an empty challenge; '*' cancels", async () => {
      const driver = new SessionDriver(fixture);
      assert.equal(await driver.send("AUTH PLAIN"), "+ \r\n");
      assert.equal(await driver.send("*"), "-ERR authentication cancelled\r\n");
      assert.equal(await driver.send("AUTH PLAIN"), "+ \r\n");
      assert.match(await driver.send(b64(`\0${ADDRESS}\0${PASSWORD}`)), /^\+OK /);
      await driver.send("QUIT");
    });

    test("AUTH LOGIN in two steps; bad base64 aborts", async () => {
      const driver = new SessionDriver(fixture);
      assert.equal(await driver.send("AUTH LOGIN"), `+ ${b64("Username:")}\r\n`);
      assert.match(await driver.send("not base64!"), /^-ERR malformed/);
      assert.match(await driver.send("AUTH LOGIN"), /^\+ /);
      assert.match(await driver.send(b64(ADDRESS)), /^\+ /);
      assert.match(await driver.send(b64(PASSWORD)), /^\+OK /);
      await driver.send("QUIT");
    });

    test("AUTH SCRAM-SHA-256 from a remote address over TLS: server-final sent as a challenge, then +OK", async () => {
      const driver = new SessionDriver(fixture, {
        remoteAddress: "203.0.113.9",
        secure: true,
        tlsAvailable: false,
      });
      const client = scramClient(ADDRESS, PASSWORD);
      const serverFirst = await driver.send(`AUTH SCRAM-SHA-256 ${b64(client.first())}`);
      assert.match(serverFirst, /^\+ [A-Za-z0-9+/=]+\r\n$/);
      const final = await client.final(Buffer.from(serverFirst.slice(2, -2), "base64"));
      const serverFinal = await driver.send(b64(final));
      assert.match(serverFinal, /^\+ [A-Za-z0-9+/=]+\r\n$/);
      assert.equal(client.verify(Buffer.from(serverFinal.slice(2, -2), "base64")), true);
      assert.match(await driver.send(""), /^\+OK /);
      assert.equal(driver.session.state, "transaction");
      await driver.send("QUIT");
    });

    test("AUTH with an unknown mechanism, and bare AUTH lists the mechanisms", async () => {
      const driver = new SessionDriver(fixture);
      assert.match(await driver.send("AUTH CRAM-MD5"), /^-ERR SASL mechanism "CRAM-MD5" is not supported/);
      const list = await driver.send("AUTH");
      assert.match(list, /^\+OK .*\r\n(.*\r\n)*SCRAM-SHA-256\r\n(.*\r\n)*\.\r\n$/);
    });

    test("transaction commands, unknown commands and NOOP are refused before login", async () => {
      const driver = new SessionDriver(fixture, { maxErrors: 100 });
      for (const verb of ["STAT", "LIST", "RETR 1", "DELE 1", "RSET", "TOP 1 1", "UIDL", "NOOP"]) {
        const keyword = verb.split(" ")[0];
        assert.equal(await driver.send(verb), `-ERR "${keyword}" is only valid after login\r\n`, verb);
      }
      assert.match(await driver.send("XYZZY"), /^-ERR unknown command "XYZZY"/);
      assert.match(await driver.send("\u0000\u001b[2J"), /^-ERR unknown command; see CAPA/);
      assert.equal(driver.session.state, "authorization");
    });

    test("a user name that is not an address is an ordinary failed login", async () => {
      for (const name of ["../../tmp/x", "*", "~root"]) {
        const driver = new SessionDriver(fixture);
        await driver.send(`USER ${name}`);
        assert.equal(
          await driver.send("PASS secret"),
          "-ERR [AUTH] authentication failed: wrong user name or password\r\n",
          name,
        );
        const sasl = new SessionDriver(fixture);
        assert.equal(
          await sasl.send(`AUTH PLAIN ${b64(`\0${name}\0secret`)}`),
          "-ERR [AUTH] authentication failed: wrong user name or password\r\n",
          name,
        );
        assert.equal(driver.session.state, "authorization");
      }
    });

    test("QUIT before login closes", async () => {
      const driver = new SessionDriver(fixture);
      assert.match(await driver.send("QUIT"), /^\+OK /);
      assert.equal(driver.lastAction, "close");
    });

    test("an overlong line is answered once and changes nothing", async () => {
      const driver = new SessionDriver(fixture);
      await driver.send(`USER ${ADDRESS}`);
      assert.match(await driver.overlong(), /^-ERR line too long/);
      assert.match(await driver.send(`PASS ${PASSWORD}`), /^\+OK /, "the pending USER survived");
      assert.match(await driver.overlong(), /^-ERR line too long/);
      assert.equal(driver.session.state, "transaction");
      await driver.send("QUIT");
    });

    test("a runaway line is answered and closes the session; marks are not applied", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      assert.match(await driver.send("DELE 1"), /^\+OK /);
      const result = await driver.session.handle({ kind: "runaway" });
      assert.equal(result.action, "close");
      assert.match(
        await collect(result.output),
        /^-ERR line too long .*no line end followed; closing the connection\r\n$/,
      );
      assert.equal(driver.session.state, "closed");
      assert.equal(
        (await fixture.store.messages.listMessages(fixture.inbox.id)).length,
        3,
        "nothing was deleted",
      );
      const again = new SessionDriver(fixture);
      assert.match(await again.login(), /^\+OK /, "the maildrop lock was released");
      await again.send("QUIT");
    });

    test("after ten bad commands the session closes", async () => {
      const driver = new SessionDriver(fixture);
      for (let i = 1; i < 10; i++) {
        await driver.send("BOGUS");
        assert.equal(driver.lastAction, "continue");
      }
      const last = await driver.send("BOGUS");
      assert.match(last, /\r\n-ERR too many bad commands; closing the connection\r\n$/);
      assert.equal(driver.lastAction, "close");
    });
  });

  describe("TRANSACTION", () => {
    test("RETR and TOP of a message another session expunged since login: -ERR saying so, and the session goes on", async () => {
      const large = await fixture.deliver(`Subject: large\r\n\r\n${"y".repeat(WHOLE_BODY_LIMIT + 10)}\r\n`);
      const driver = new SessionDriver(fixture);
      await driver.login();
      // As an IMAP session's EXPUNGE would, behind the POP3 session's snapshot.
      await fixture.store.messages.expunge(fixture.inbox.id, [uids[0]!, uids[2]!, large]);
      const gone = (n: number) =>
        `-ERR message ${n} was deleted by another mail client since login; it can no longer be retrieved\r\n`;
      assert.equal(await driver.send("RETR 1"), gone(1));
      assert.equal(await driver.send("TOP 1 0"), gone(1));
      assert.equal(await driver.send("RETR 4"), gone(4), "a body too large to read in one piece");
      driver.session.readAheadFor({ kind: "line", line: Buffer.from("RETR 3") });
      assert.equal(await driver.send("RETR 3"), gone(3), "a body read ahead");
      assert.match(await driver.send("RETR 2"), /^\+OK \d+ octets\r\nSubject: two/);
      assert.equal(driver.lastAction, "continue");
      assert.match(await driver.send("DELE 1"), /^\+OK /);
      // It was gone already, so the UPDATE state has nothing left to remove.
      assert.match(await driver.send("QUIT"), /^\+OK .*\(0 messages deleted\)/);
    });

    test("STAT, LIST and LIST n", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      const sizes = [MESSAGE_1, MESSAGE_2, MESSAGE_3].map((message) => Buffer.byteLength(message));
      const total = sizes.reduce((a, b) => a + b, 0);
      assert.equal(await driver.send("STAT"), `+OK 3 ${total}\r\n`);
      assert.equal(
        await driver.send("LIST"),
        `+OK 3 messages (${total} octets)\r\n1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n3 ${sizes[2]}\r\n.\r\n`,
      );
      assert.equal(await driver.send("LIST 2"), `+OK 2 ${sizes[1]}\r\n`);
      assert.match(await driver.send("LIST 4"), /^-ERR no message 4; this maildrop has 3\r\n$/);
      assert.match(await driver.send("LIST 0"), /^-ERR no message 0/);
      assert.match(await driver.send("LIST x"), /^-ERR usage: LIST <message>/);
      assert.match(await driver.send("LIST 1 2"), /^-ERR usage: LIST <message>/);
      assert.match(await driver.send("STAT 1"), /^-ERR /);
      await driver.send("QUIT");
    });

    test("RETR returns the stored bytes dot-stuffed, and a final CRLF where one is missing", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      assert.equal(
        await driver.send("RETR 1"),
        `+OK ${Buffer.byteLength(MESSAGE_1)} octets\r\n` +
          "From: a@b\r\nSubject: one\r\n\r\nHello\r\n..leading dot\r\n..\r\nbye\r\n.\r\n",
      );
      assert.equal(
        await driver.send("RETR 2"),
        `+OK ${Buffer.byteLength(MESSAGE_2)} octets\r\nSubject: two\r\n\r\nno final newline\r\n.\r\n`,
      );
      for (const bad of ["RETR", "RETR 9", "RETR -1", "RETR 1 1"])
        assert.match(await driver.send(bad), /^-ERR /, bad);
      await driver.send("QUIT");
    });

    test("RETR is byte-exact for binary 8-bit content", async () => {
      const bytes = Buffer.alloc(3000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256 === 10 || i % 256 === 13 ? 65 : i % 256;
      const message = Buffer.concat([Buffer.from("Subject: bin\r\n\r\n"), bytes, Buffer.from("\r\n")]);
      await fixture.deliver(message);
      const driver = new SessionDriver(fixture);
      await driver.login();
      const text = await driver.send("RETR 4");
      const body = Buffer.from(text, "latin1").subarray(text.indexOf("\r\n") + 2, -3);
      assert.deepEqual(body, message);
      await driver.send("QUIT");
    });

    test("RETR marks \\Seen when the session ends (QUIT or a dropped connection), TOP does not", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      await driver.send("TOP 1 0");
      await driver.send("RETR 1");
      let rows = await fixture.store.messages.listMessages(fixture.inbox.id);
      assert.ok(!rows[0]?.flags.includes("\\Seen"), "one flag write per session, not per RETR");
      await driver.send("QUIT");
      rows = await fixture.store.messages.listMessages(fixture.inbox.id);
      assert.ok(rows[0]?.flags.includes("\\Seen"));
      assert.ok(!rows[1]?.flags.includes("\\Seen"));

      const dropped = new SessionDriver(fixture);
      await dropped.login();
      await dropped.send("RETR 2");
      await dropped.session.close();
      rows = await fixture.store.messages.listMessages(fixture.inbox.id);
      assert.ok(rows[1]?.flags.includes("\\Seen"));
    });

    test("TOP sends the header, the blank line and m body lines", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      assert.equal(
        await driver.send("TOP 3 0"),
        "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\n.\r\n",
      );
      assert.equal(
        await driver.send("TOP 3 3"),
        "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\nl1\r\nl2\r\n..l3\r\n.\r\n",
      );
      assert.equal(
        await driver.send("TOP 3 100"),
        "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\nl1\r\nl2\r\n..l3\r\nl4\r\n.\r\n",
      );
      for (const bad of ["TOP 3", "TOP 3 x", "TOP 3 -1", "TOP 9 1", "TOP"]) {
        assert.match(await driver.send(bad), /^-ERR /, bad);
      }
      await driver.send("QUIT");
    });

    test("UIDL is <uidValidity>.<uid> and stable across sessions and deletions", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      const expected = uids.map((uid, i) => `${i + 1} ${fixture.inbox.uidValidity}.${uid}`);
      assert.equal(
        await driver.send("UIDL"),
        `+OK unique-id listing follows\r\n${expected.join("\r\n")}\r\n.\r\n`,
      );
      assert.equal(await driver.send("UIDL 2"), `+OK ${expected[1]}\r\n`);
      await driver.send("DELE 1");
      await driver.send("QUIT");

      const again = new SessionDriver(fixture);
      await again.login();
      assert.equal(
        await again.send("UIDL"),
        `+OK unique-id listing follows\r\n1 ${fixture.inbox.uidValidity}.${uids[1]}\r\n2 ${fixture.inbox.uidValidity}.${uids[2]}\r\n.\r\n`,
      );
      await again.send("QUIT");
    });

    test("DELE hides a message until RSET; a deleted message cannot be used", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      assert.equal(await driver.send("DELE 2"), "+OK message 2 deleted\r\n");
      assert.match(await driver.send("DELE 2"), /^-ERR message 2 is deleted; RSET undeletes it/);
      for (const command of ["RETR 2", "TOP 2 1", "LIST 2", "UIDL 2"]) {
        assert.match(await driver.send(command), /^-ERR message 2 is deleted/, command);
      }
      const list = await driver.send("LIST");
      assert.match(list, /^\+OK 2 messages/);
      assert.ok(!list.includes("\r\n2 "));
      assert.match(await driver.send("STAT"), /^\+OK 2 /);
      assert.match(await driver.send("RSET"), /^\+OK maildrop has 3 messages/);
      assert.match(await driver.send("RETR 2"), /^\+OK /);
      await driver.send("QUIT");
      assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 3);
    });

    test("DELE then QUIT removes exactly the marked messages", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      await driver.send("DELE 1");
      await driver.send("DELE 3");
      assert.match(await driver.send("QUIT"), /^\+OK .*\(2 messages deleted\)\r\n$/);
      assert.equal(driver.lastAction, "close");
      const left = await fixture.store.messages.listMessages(fixture.inbox.id);
      assert.deepEqual(
        left.map((message) => message.uid),
        [uids[1]],
      );
    });

    test("DELE then a dropped connection deletes nothing and frees the maildrop", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      await driver.send("DELE 1");
      await driver.session.close();
      assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 3);
      const next = new SessionDriver(fixture);
      assert.match(await next.login(), /^\+OK /);
      await next.send("QUIT");
    });

    test("a second session for the same user gets [IN-USE] until the first ends", async () => {
      const first = new SessionDriver(fixture);
      await first.login();
      const second = new SessionDriver(fixture);
      assert.match(await second.login(), /^-ERR \[IN-USE\] /);
      assert.equal(second.session.state, "authorization");
      await first.send("QUIT");
      assert.match(await second.login(), /^\+OK /);
      await second.send("QUIT");
    });

    test("the snapshot is fixed at login: new mail waits for the next session", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      await fixture.deliver("Subject: late\r\n\r\nx\r\n");
      assert.match(await driver.send("STAT"), /^\+OK 3 /);
      await driver.send("QUIT");
    });

    test("authorization commands, unknown commands and overlong lines are refused and change nothing", async () => {
      const driver = new SessionDriver(fixture);
      await driver.login();
      for (const command of ["USER x", "PASS y", "AUTH PLAIN", "STLS", "APOP a b"]) {
        const keyword = command.split(" ")[0];
        assert.equal(await driver.send(command), `-ERR "${keyword}" is only valid before login\r\n`, command);
      }
      assert.match(await driver.send("FROB 1"), /^-ERR unknown command/);
      assert.match(await driver.overlong(), /^-ERR line too long/);
      assert.equal(await driver.send("NOOP"), "+OK\r\n");
      assert.match(await driver.send("STAT"), /^\+OK 3 /);
      const capa = await driver.send("CAPA");
      assert.ok(capa.includes("\r\nTOP\r\n") && !capa.includes("STLS") && !capa.includes("USER"));
      await driver.send("QUIT");
    });

    test("a RETR of a message whose body is missing though it is listed answers a fixed -ERR, no path", async () => {
      const missing = new StoreError("not-found", "/var/lib/mailroom/messages/x5/abc does not exist");
      const store = spyStore(fixture.store, {
        blobs: () => ({ readBlobBytes: async () => Promise.reject(missing) }),
      });
      const driver = new SessionDriver(fixture, { store });
      await driver.login();
      assert.equal(
        await driver.send("RETR 1"),
        "-ERR [SYS/TEMP] message 1 could not be read; try again later\r\n",
      );
      await driver.send("QUIT");
    });
  });

  describe("fast-check", () => {
    const reply = (text: string) => {
      assert.ok(text.endsWith("\r\n"), JSON.stringify(text));
      if (/^\+ [A-Za-z0-9+/=]*\r\n$/.test(text)) return;
      assert.match(text, STATUS);
      const firstEnd = text.indexOf("\r\n") + 2;
      if (firstEnd < text.length) {
        assert.ok(text.startsWith("+OK"), JSON.stringify(text));
        assert.ok(text.endsWith("\r\n.\r\n"), JSON.stringify(text));
      }
    };
    const verbs = [
      "USER",
      "PASS",
      "AUTH",
      "APOP",
      "STLS",
      "CAPA",
      "STAT",
      "LIST",
      "RETR",
      "DELE",
      "NOOP",
      "RSET",
    ];
    const line = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 10))),
      fc
        .tuple(
          fc.constantFrom(...verbs, "TOP", "UIDL"),
          fc.array(fc.oneof(fc.nat(12).map(String), fc.string({ maxLength: 6 })), { maxLength: 3 }),
        )
        .map(([verb, args]) => Buffer.from([verb, ...args].join(" "))),
    );
    const notQuit = (bytes: Buffer) => !/^quit( |$)/i.test(bytes.toString("latin1"));

    test("arbitrary lines before login: never throw, always one well-formed reply", async () => {
      const driver = new SessionDriver(fixture, {
        maxErrors: Number.MAX_SAFE_INTEGER,
        remoteAddress: "203.0.113.1",
      });
      await fc.assert(
        fc.asyncProperty(line.filter(notQuit), async (bytes) => {
          reply(await driver.send(bytes));
          if (driver.lastAction === "starttls") driver.session.tlsStarted();
        }),
        { numRuns: 200 },
      );
    });

    test("arbitrary lines after login: never throw, always one well-formed reply", async () => {
      const driver = new SessionDriver(fixture, { maxErrors: Number.MAX_SAFE_INTEGER });
      await driver.login();
      await fc.assert(
        fc.asyncProperty(line.filter(notQuit), async (bytes) => {
          reply(await driver.send(bytes));
          assert.equal(driver.session.state, "transaction");
        }),
        { numRuns: 200 },
      );
      await driver.send("RSET");
      await driver.send("QUIT");
    });
  });
});
