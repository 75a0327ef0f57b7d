import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { STREAM_THRESHOLD } from "../../src/imap/commands/fetch.js";
import { ADDRESS, createFixture, type ImapFixture, message, PASSWORD, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

async function selected(mailbox = "INBOX"): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  const reply = await driver.command(`S1 SELECT ${mailbox}`);
  assert.match(reply, /S1 OK \[READ-WRITE\]/);
  return driver;
}

describe("not authenticated", () => {
  test("greeting and CAPABILITY offer STARTTLS and AUTH, and no mailbox commands", async () => {
    const driver = new SessionDriver(fixture);
    assert.match(driver.greeting(), /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 .*STARTTLS.*AUTH=PLAIN/);
    assert.match(await driver.command("a SELECT INBOX"), /^a BAD SELECT needs a logged-in session/);
    assert.match(await driver.command("b STARTTLS"), /^b OK/);
    assert.equal(driver.action, "starttls");
  });

  test("LOGIN: wrong password is NO, right one is OK with capabilities", async () => {
    const driver = new SessionDriver(fixture);
    assert.match(await driver.command(`a LOGIN ${ADDRESS} wrong`), /^a NO \[AUTHENTICATIONFAILED\]/);
    assert.match(
      await driver.command(`b LOGIN ${ADDRESS} "${PASSWORD}"`),
      /^b OK \[CAPABILITY .*UIDPLUS.*\] logged in/,
    );
    assert.match(
      await driver.command(`c LOGIN ${ADDRESS} "${PASSWORD}"`),
      /^c BAD LOGIN is only valid before/,
    );
  });

  test("a user name that is not an address is an ordinary failed login", async () => {
    const driver = new SessionDriver(fixture);
    for (const name of ['"../../tmp/x"', '"*"', "~root"]) {
      assert.equal(
        await driver.command(`a LOGIN ${name} secret`),
        "a NO [AUTHENTICATIONFAILED] invalid user name or password\r\n",
        name,
      );
    }
    const plain = Buffer.from("\0../../tmp/x\0secret").toString("base64");
    assert.match(await driver.command(`b AUTHENTICATE PLAIN ${plain}`), /^b NO \[AUTHENTICATIONFAILED\]/);
  });

  test("LOGIN over plaintext from a remote address is refused with PRIVACYREQUIRED, and no AUTH= at all", async () => {
    const driver = new SessionDriver(fixture, { remoteAddress: "192.0.2.7" });
    const greeting = driver.greeting();
    assert.match(greeting, /LOGINDISABLED/);
    assert.doesNotMatch(greeting, /AUTH=/, "not even SCRAM is offered where logins are refused");
    assert.match(await driver.command(`a LOGIN ${ADDRESS} "${PASSWORD}"`), /^a NO \[PRIVACYREQUIRED\]/);
    assert.match(
      await driver.command("b AUTHENTICATE SCRAM-SHA-256"),
      /^b NO \[PRIVACYREQUIRED\] .*STARTTLS/,
    );
  });

  test('per-listener policy: "tls" disables LOGIN from loopback before TLS, "any" allows it from afar', async () => {
    const tls = new SessionDriver(fixture, { authPolicy: "tls" });
    assert.match(tls.greeting(), /LOGINDISABLED/);
    assert.match(await tls.command(`a LOGIN ${ADDRESS} "${PASSWORD}"`), /^a NO \[PRIVACYREQUIRED\]/);
    const secure = new SessionDriver(fixture, { authPolicy: "tls", secure: true, tlsAvailable: false });
    const caps = secure.greeting();
    assert.doesNotMatch(caps, /LOGINDISABLED/);
    assert.match(caps, /AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN/);
    const off = new SessionDriver(fixture, { authPolicy: "off", secure: true, tlsAvailable: false });
    assert.match(
      await off.command(`a LOGIN ${ADDRESS} "${PASSWORD}"`),
      /^a NO \[CANNOT\] logins are turned off/,
    );
    const any = new SessionDriver(fixture, { authPolicy: "any", remoteAddress: "192.0.2.7" });
    assert.doesNotMatch(any.greeting(), /LOGINDISABLED/);
    assert.match(await any.command(`a LOGIN ${ADDRESS} "${PASSWORD}"`), /^a OK/);
  });

  test("AUTHENTICATE PLAIN with SASL-IR, with a continuation, and cancelled", async () => {
    const token = Buffer.from(`\0${ADDRESS}\0${PASSWORD}`).toString("base64");
    const first = new SessionDriver(fixture);
    assert.match(await first.command(`a AUTHENTICATE PLAIN ${token}`), /^a OK/);
    const second = new SessionDriver(fixture);
    assert.equal(await second.command("a AUTHENTICATE PLAIN"), "+ \r\n");
    assert.match(await second.command(token), /^a OK/);
    const third = new SessionDriver(fixture);
    await third.command("a AUTHENTICATE PLAIN");
    assert.match(await third.command("*"), /^a BAD authentication cancelled/);
    assert.match(await third.command("b NOOP"), /^b OK/);
  });

  test("syntax errors are BAD, tagged when the tag is readable; too many end the session", async () => {
    const driver = new SessionDriver(fixture, { maxErrors: 2 });
    assert.match(await driver.command("a FETCH"), /^a BAD/);
    assert.match(await driver.command("("), /^\* BAD/);
    assert.match(await driver.command("b BOGUS"), /^\* BYE/);
    assert.equal(driver.action, "close");
  });
});

describe("overlong lines", () => {
  test("one is BAD [TOOBIG] and skipped; one with no line feed past the slack ends the session", async () => {
    const driver = new SessionDriver(fixture);
    driver.greeting();
    const skipped = await driver.send(`a NOOP ${"x".repeat(70 * 1024)}\r\nb NOOP\r\n`);
    assert.match(skipped, /^a BAD \[TOOBIG\] the command line is too long\r\nb OK/);
    assert.equal(driver.action, "continue");
    const runaway = await driver.send(`c NOOP ${"x".repeat(1024 * 1024)}`);
    assert.equal(
      runaway,
      "c BAD [TOOBIG] the command line is too long\r\n* BYE [TOOBIG] the command line is too long and no line end followed; closing the connection\r\n",
    );
    assert.equal(driver.action, "close");
  });
});

describe("authenticated", () => {
  test("LIST shows the special-use mailboxes; CREATE, RENAME, DELETE, SUBSCRIBE work", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    const list = await driver.command('a LIST "" "*"');
    assert.match(list, /\* LIST \(\\HasNoChildren\) "\/" "INBOX"/);
    assert.match(list, /\* LIST \(\\HasNoChildren \\Sent\) "\/" "Sent"/);
    assert.match(await driver.command("b CREATE Work/Projects/"), /^b OK/);
    assert.match(
      await driver.command('c LIST "" Work/%'),
      /\* LIST \(\\HasNoChildren\) "\/" "Work\/Projects"/,
    );
    assert.match(await driver.command('c2 LIST "" %'), /\* LIST \(\\HasChildren\) "\/" "Work"/);
    assert.match(await driver.command("d CREATE Work"), /^d NO \[ALREADYEXISTS\]/);
    assert.match(await driver.command("e RENAME Work Play"), /^e OK/);
    assert.match(await driver.command('f LIST "" "Play/*"'), /"Play\/Projects"/);
    assert.match(await driver.command("g DELETE INBOX"), /^g NO/);
    assert.match(await driver.command("h SUBSCRIBE Play"), /^h OK/);
    assert.match(await driver.command('i LSUB "" *'), /\* LSUB \(\\HasChildren\) "\/" "Play"/);
    assert.match(
      await driver.command('j LIST (SUBSCRIBED) "" * RETURN (SPECIAL-USE)'),
      /\\Subscribed\) "\/" "Play"\r\n/,
    );
    assert.match(await driver.command("k DELETE Nothing"), /^k NO \[NONEXISTENT\]/);
    assert.match(await driver.command('l LIST "" ""'), /\* LIST \(\\Noselect\) "\/" ""/);
  });

  test("OBJECTID (RFC 8474): CREATE and STATUS name the mailbox id, SELECT says it, FETCH gives email and thread ids", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("c CAPABILITY"), / OBJECTID /);
    const created = /MAILBOXID \((M\d+)\)/.exec(await driver.command("a CREATE Objects"))?.[1];
    assert.ok(created);
    assert.equal(
      await driver.command("b STATUS Objects (MAILBOXID MESSAGES)"),
      `* STATUS "Objects" (MAILBOXID (${created}) MESSAGES 0)\r\nb OK STATUS completed\r\n`,
    );
    const message = "Subject: one\r\n\r\nbody\r\n";
    for (const tag of ["p", "q"]) {
      assert.match(
        await driver.command(`${tag} APPEND INBOX {${message.length}+}\r\n${message}`),
        /OK \[APPENDUID/,
      );
    }
    const selected = await driver.command("d SELECT INBOX");
    const inbox = /\* OK \[MAILBOXID \((M\d+)\)\]/.exec(selected)?.[1];
    assert.ok(inbox && inbox !== created, selected);
    const fetched = await driver.command("e FETCH 1:* (EMAILID THREADID)");
    const ids = [...fetched.matchAll(/EMAILID \((E\d+)\) THREADID \((T\d+)\)/g)];
    assert.ok(ids.length >= 2, fetched);
    assert.equal(new Set(ids.map((match) => match[1])).size, ids.length, "each email its own id");
  });

  test('"~" starts no literal in a mailbox name; LIST patterns of atom-specials are answered', async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("a CREATE ~foo"), /^a OK \[MAILBOXID \(M\d+\)\] CREATE completed\r\n$/);
    assert.equal(
      await driver.command('b LIST "" ~foo'),
      '* LIST (\\HasNoChildren) "/" "~foo"\r\nb OK LIST completed\r\n',
    );
    // RFC 9051 §9 atom-specials: "(" ")" "{" SP CTL "%" "*" DQUOTE "\\" "]", quoted or as list-chars.
    const specials = '(){ \x01\t%*\\"\\\\]';
    for (const pattern of [
      `"${specials}"`,
      "%*]",
      "]",
      ...[..."(){ %*]"].map((c) => `"x${c}"`),
      '"\\""',
      '"\\\\"',
    ]) {
      assert.match(await driver.command(`c LIST "" ${pattern}`), /c OK LIST completed\r\n$/, pattern);
      assert.match(
        await driver.command(`d LIST "${specials}" ${pattern}`),
        /d OK LIST completed\r\n$/,
        pattern,
      );
    }
    const literal = '(){ \x01%*"\\]';
    assert.match(await driver.command(`e LIST "" {${literal.length}+}\r\n${literal}`), /e OK LIST completed/);
    // RFC 3516 §4.4: APPEND's message is where a literal8 may come.
    assert.match(await driver.command("f APPEND ~foo ~{3+}\r\na\0b"), /^f OK \[APPENDUID \d+ 1\]/);
  });

  test("mailbox names are modified UTF-7 for rev1 clients and UTF-8 once enabled", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("a CREATE &ZeVnLIqe-"), /^a OK/);
    assert.ok((await fixture.store.mailboxes.getMailbox(fixture.userId, "日本語")) !== null);
    assert.match(await driver.command('b LIST "" *'), /"&ZeVnLIqe-"/);
    assert.match(await driver.command("c CREATE &Jjo"), /^c NO/);
    assert.match(await driver.command("d ENABLE UTF8=ACCEPT"), /\* ENABLED UTF8=ACCEPT/);
    assert.ok((await driver.command('e LIST "" *')).includes(Buffer.from('"日本語"').toString("latin1")));
  });

  test("STATUS with SIZE, NAMESPACE, ID, APPEND with APPENDUID and TRYCREATE", async () => {
    await fixture.deliver(message("one"));
    const driver = new SessionDriver(fixture);
    await driver.login();
    const body = message("appended");
    const reply = await driver.send(`a APPEND Sent (\\Seen) {${Buffer.byteLength(body)}}\r\n`);
    assert.equal(reply, "+ Ready for literal data\r\n");
    const sent = await fixture.store.mailboxes.getMailbox(fixture.userId, "Sent");
    assert.ok(sent !== null);
    assert.match(await driver.send(`${body}\r\n`), new RegExp(`^a OK \\[APPENDUID ${sent.uidValidity} 1\\]`));
    assert.match(
      await driver.command("b STATUS Sent (MESSAGES UNSEEN SIZE UIDNEXT)"),
      new RegExp(`\\* STATUS "Sent" \\(MESSAGES 1 UNSEEN 0 SIZE ${Buffer.byteLength(body)} UIDNEXT 2\\)`),
    );
    assert.match(await driver.command("c APPEND Nowhere {1+}\r\nx"), /^c NO \[TRYCREATE\]/);
    assert.match(await driver.command("d NAMESPACE"), /\* NAMESPACE \(\("" "\/"\)\) NIL NIL/);
    assert.match(await driver.command('e ID ("name" "test")'), /\* ID \("name" "mailroom"\)/);
  });
});

describe("selected", () => {
  test("SELECT reports the mailbox; FETCH BODY[] is byte-identical and sets \\Seen, BODY.PEEK does not", async () => {
    const raw = message("hello", "caf\u00e9 line\r\n");
    await fixture.deliver(raw);
    await fixture.deliver(message("second"));
    const driver = new SessionDriver(fixture);
    await driver.login();
    const select = await driver.command("a SELECT INBOX");
    assert.match(select, /\* 2 EXISTS/);
    assert.match(select, new RegExp(`\\* OK \\[UIDVALIDITY ${fixture.inbox.uidValidity}\\]`));
    assert.match(select, /\* OK \[UIDNEXT 3\]/);
    assert.match(select, /\* OK \[HIGHESTMODSEQ \d+\]/);
    assert.match(select, /\* OK \[PERMANENTFLAGS \(.*\\\*\)\]/);
    const peek = await driver.command("b FETCH 1 (BODY.PEEK[] FLAGS)");
    const bytes = Buffer.from(raw, "utf8");
    assert.equal(
      peek,
      `* 1 FETCH (BODY[] {${bytes.length}}\r\n${bytes.toString("latin1")} FLAGS (\\Recent))\r\nb OK FETCH completed\r\n`,
    );
    assert.match(
      await driver.command("c FETCH 1 BODY[]<0.4>"),
      /BODY\[\]<0> \{4\}\r\nFrom FLAGS \(\\Seen \\Recent\)\)/,
    );
    assert.match(
      await driver.command("d FETCH 1 (BODY[HEADER.FIELDS (Subject)])"),
      /BODY\[HEADER.FIELDS \(SUBJECT\)\] \{18\}\r\nSubject: hello\r\n\r\n\)/,
    );
    assert.match(
      await driver.command("e UID FETCH 2 (INTERNALDATE RFC822.SIZE)"),
      /\* 2 FETCH \(INTERNALDATE "01-Feb-2024 10:00:00 \+0000" RFC822.SIZE \d+ UID 2\)/,
    );
    assert.match(await driver.command("f FETCH 3 FLAGS"), /^f BAD message number 3 does not exist/);
    assert.match(await driver.command("g UID FETCH 99 FLAGS"), /^g OK/);
  });

  test("STORE, SEARCH, ESEARCH, EXPUNGE and read-only EXAMINE", async () => {
    for (const s of ["a", "b", "c"]) await fixture.deliver(message(s));
    const driver = await selected();
    assert.equal(
      await driver.command("a STORE 1:2 +FLAGS (\\Deleted $Work)"),
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n" +
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] flags may be set\r\n" +
        "* 1 FETCH (FLAGS (\\Deleted $Work \\Recent))\r\n* 2 FETCH (FLAGS (\\Deleted $Work \\Recent))\r\na OK STORE completed\r\n",
    );
    assert.equal(await driver.command("b STORE 2 -FLAGS.SILENT (\\Deleted)"), "b OK STORE completed\r\n");
    assert.match(await driver.command("c SEARCH DELETED"), /^\* SEARCH 1\r\n/);
    assert.match(await driver.command('c2 SEARCH SUBJECT "b"'), /^\* SEARCH 2\r\n/);
    // RFC 9051 §6.4.4 FROM: the address, not the header's raw text.
    assert.match(await driver.command('c3 SEARCH FROM "bob <bob@example.org>"'), /^\* SEARCH 1 2 3\r\n/);
    assert.match(await driver.command('c5 SEARCH HEADER FROM "Bob <bob"'), /^\* SEARCH 1 2 3\r\n/);
    assert.match(
      await driver.command("d UID SEARCH RETURN (MIN MAX COUNT ALL) KEYWORD $Work"),
      /^\* ESEARCH \(TAG "d"\) UID MIN 1 MAX 2 COUNT 2 ALL 1:2\r\n/,
    );
    assert.match(await driver.command("e SEARCH CHARSET KOI8-R ALL"), /^e NO \[BADCHARSET/);
    assert.equal(await driver.command("f EXPUNGE"), "* 1 EXPUNGE\r\nf OK EXPUNGE completed\r\n");
    assert.match(await driver.command("g STORE 1 FLAGS (\\Recent)"), /^g BAD/);
    assert.match(await driver.command("h EXAMINE INBOX"), /h OK \[READ-ONLY\]/);
    assert.match(await driver.command("i STORE 1 +FLAGS (\\Seen)"), /^i BAD the mailbox is read-only/);
    assert.match(await driver.command("j FETCH 1 BODY[]"), /FETCH \(BODY\[\] \{\d+\}[\s\S]*\)\r\nj OK/);
    assert.doesNotMatch(await driver.command("k FETCH 1 FLAGS"), /\\Seen/);
  });

  test("COPY and MOVE answer with COPYUID; MOVE expunges; CLOSE expunges silently", async () => {
    for (const s of ["a", "b", "c"]) await fixture.deliver(message(s));
    const trash = await fixture.store.mailboxes.getMailbox(fixture.userId, "Trash");
    assert.ok(trash !== null);
    const driver = await selected();
    assert.equal(
      await driver.command("a COPY 1:2 Trash"),
      `a OK [COPYUID ${trash.uidValidity} 1:2 1:2] COPY completed\r\n`,
    );
    assert.equal(
      await driver.command("b UID MOVE 2 Trash"),
      `* OK [COPYUID ${trash.uidValidity} 2 3] moved\r\n* 2 EXPUNGE\r\nb OK UID MOVE completed\r\n`,
    );
    assert.match(await driver.command("c COPY 1 Nowhere"), /^c NO \[TRYCREATE\]/);
    await driver.command("d STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert.equal(await driver.command("e CLOSE"), "e OK CLOSE completed\r\n");
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 1);
    assert.match(await driver.command("f FETCH 1 FLAGS"), /^f BAD FETCH needs a selected mailbox/);
  });

  test("COPY and MOVE into the selected mailbox itself give the messages new UIDs there (RFC 6851)", async () => {
    for (const s of ["a", "b", "c"]) await fixture.deliver(message(s), fixture.inbox.id, ["$Keep"]);
    const driver = await selected();
    const other = await selected();
    const validity = fixture.inbox.uidValidity;
    assert.equal(
      await driver.command("a COPY 1 INBOX"),
      `* 4 EXISTS\r\n* 4 RECENT\r\na OK [COPYUID ${validity} 1 4] COPY completed\r\n`,
    );
    assert.equal(
      await driver.command("b UID MOVE 2:3 INBOX"),
      `* OK [COPYUID ${validity} 2:3 5:6] moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n* 4 EXISTS\r\n* 4 RECENT\r\nb OK UID MOVE completed\r\n`,
    );
    assert.match(
      await driver.command("c FETCH 1:* (UID FLAGS)"),
      /^\* 1 FETCH \(UID 1 FLAGS \(\$Keep \\Recent\)\)\r\n\* 2 FETCH \(UID 4 FLAGS \(\$Keep \\Recent\)\)\r\n\* 3 FETCH \(UID 5 FLAGS \(\$Keep \\Recent\)\)\r\n\* 4 FETCH \(UID 6 FLAGS \(\$Keep \\Recent\)\)\r\nc OK/,
    );
    assert.equal(
      await other.command("d NOOP"),
      // The acting session saw the copies first: they are recent to it alone.
      "* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n* 4 EXISTS\r\n* 0 RECENT\r\nd OK NOOP completed\r\n",
    );
  });

  test("a new keyword is announced with FLAGS and PERMANENTFLAGS to every session before a FETCH shows it", async () => {
    for (const s of ["a", "b"]) await fixture.deliver(message(s), fixture.inbox.id, ["$Old"]);
    const one = await selected();
    const two = await selected();
    const examining = new SessionDriver(fixture);
    await examining.login();
    await examining.command("e EXAMINE INBOX");
    const flags = (...keywords: string[]) =>
      `* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old${keywords.map((k) => ` ${k}`).join("")})\r\n`;
    const permanent = (...keywords: string[]) =>
      `* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old${keywords.map((k) => ` ${k}`).join("")} \\*)] flags may be set\r\n`;
    assert.equal(
      await one.command("a STORE 1 +FLAGS ($New)"),
      `${flags("$New")}${permanent("$New")}* 1 FETCH (FLAGS ($Old $New \\Recent))\r\na OK STORE completed\r\n`,
    );
    assert.equal(
      await two.command("b NOOP"),
      `${flags("$New")}${permanent("$New")}* 1 FETCH (FLAGS ($Old $New))\r\nb OK NOOP completed\r\n`,
    );
    // A read-only session can set no flag, so its PERMANENTFLAGS stays () and only FLAGS is repeated.
    assert.equal(
      await examining.command("c NOOP"),
      `${flags("$New")}* 1 FETCH (FLAGS ($Old $New))\r\nc OK NOOP completed\r\n`,
    );
    assert.equal(await one.command("d STORE 2 +FLAGS.SILENT ($New)"), "d OK STORE completed\r\n");
    assert.equal(
      await one.command("e STORE 2 +FLAGS.SILENT ($Silent)"),
      `${flags("$New", "$Silent")}${permanent("$New", "$Silent")}e OK STORE completed\r\n`,
    );
    // FETCH reads the flags as they are now: the keyword is announced before the FETCH that shows it.
    const fetched = await two.command("f FETCH 2 FLAGS");
    assert.ok(
      fetched.startsWith(
        `${flags("$New", "$Silent")}${permanent("$New", "$Silent")}* 2 FETCH (FLAGS ($Old $New $Silent))\r\n`,
      ),
      fetched,
    );
    assert.match(
      await one.command("g APPEND INBOX ($Appended) {3+}\r\nx\r\n"),
      /^\* FLAGS \([^)]* \$Appended\)\r\n\* OK \[PERMANENTFLAGS \([^)]* \$Appended \\\*\)\] .*\r\n\* 3 EXISTS\r\n\* 3 RECENT\r\ng OK \[APPENDUID/,
    );
    const archive = await fixture.store.mailboxes.getMailbox(fixture.userId, "Archive");
    assert.ok(archive !== null);
    await fixture.deliver(message("c"), archive.id, ["$Copied"]);
    const other = await selected("Archive");
    assert.match(await other.command("h COPY 1 INBOX"), /^h OK \[COPYUID/);
    const noop = await two.command("i NOOP");
    assert.match(
      noop,
      /\* FLAGS \([^)]*\$Appended \$Copied\)\r\n\* OK \[PERMANENTFLAGS \([^)]*\$Copied \\\*\)\] .*\r\n\* 4 EXISTS\r\n/,
    );
  });

  test("\\Recent: one session sees each new message as recent, EXAMINE takes none, IMAP4rev2 sees none", async () => {
    await fixture.deliver(message("a"));
    await fixture.deliver(message("b"));
    const rev2 = new SessionDriver(fixture);
    await rev2.login();
    await rev2.command("r ENABLE IMAP4rev2");
    assert.doesNotMatch(await rev2.command("r2 SELECT INBOX"), /RECENT/);
    assert.match(await rev2.command("r3 FETCH 1 FLAGS"), /^\* 1 FETCH \(FLAGS \(\)\)\r\n/);
    const status = new SessionDriver(fixture);
    await status.login();
    assert.match(await status.command("s STATUS INBOX (RECENT)"), /\* STATUS "INBOX" \(RECENT 2\)/);
    const examining = new SessionDriver(fixture);
    await examining.login();
    assert.match(await examining.command("e EXAMINE INBOX"), /\* 2 RECENT\r\n/);
    assert.match(
      await examining.command("e2 FETCH 1:* FLAGS"),
      /^\* 1 FETCH \(FLAGS \(\\Recent\)\)\r\n\* 2 FETCH \(FLAGS \(\\Recent\)\)\r\n/,
    );
    const first = new SessionDriver(fixture);
    await first.login();
    assert.match(await first.command("a SELECT INBOX"), /\* 2 EXISTS\r\n\* 2 RECENT\r\n/);
    assert.match(await first.command("a2 SEARCH RECENT"), /^\* SEARCH 1 2\r\n/);
    await first.command("a3 STORE 1 +FLAGS.SILENT (\\Seen)");
    assert.match(await first.command("a4 SEARCH NEW"), /^\* SEARCH 2\r\n/);
    assert.match(await first.command("a5 SEARCH OLD"), /^\* SEARCH\r\n/);
    assert.match(await status.command("s2 STATUS INBOX (RECENT)"), /\(RECENT 0\)/);
    const second = await selected();
    assert.match(await second.command("b SEARCH RECENT"), /^\* SEARCH\r\n/);
    assert.match(await second.command("b2 SEARCH OLD"), /^\* SEARCH 1 2\r\n/);
    assert.match(await second.command("b3 FETCH 1 FLAGS"), /^\* 1 FETCH \(FLAGS \(\\Seen\)\)\r\n/);
    // A message arriving while both have the mailbox selected is recent to the one told first.
    await fixture.deliver(message("c"));
    assert.equal(await second.command("b4 NOOP"), "* 3 EXISTS\r\n* 1 RECENT\r\nb4 OK NOOP completed\r\n");
    assert.equal(await first.command("a6 NOOP"), "* 3 EXISTS\r\n* 2 RECENT\r\na6 OK NOOP completed\r\n");
    assert.match(await second.command("b5 FETCH 3 FLAGS"), /^\* 3 FETCH \(FLAGS \(\\Recent\)\)\r\n/);
    assert.match(await first.command("a7 FETCH 3 FLAGS"), /^\* 3 FETCH \(FLAGS \(\)\)\r\n/);
  });

  test("two sessions: flags and new messages are reported, expunges never during FETCH", async () => {
    await fixture.deliver(message("a"));
    await fixture.deliver(message("b"));
    const one = await selected();
    const two = await selected();
    await one.command("a STORE 1 +FLAGS (\\Flagged)");
    assert.equal(await two.command("b NOOP"), "* 1 FETCH (FLAGS (\\Flagged))\r\nb OK NOOP completed\r\n");
    await one.command("c STORE 2 +FLAGS.SILENT (\\Deleted)");
    await one.command("d EXPUNGE");
    await fixture.deliver(message("c"));
    const during = await two.command("e FETCH 1 FLAGS");
    assert.doesNotMatch(during, /EXPUNGE/);
    assert.match(during, /\* 3 EXISTS/, "EXISTS counts the message the client still knows");
    assert.equal(await two.command("f NOOP"), "* 2 EXPUNGE\r\nf OK NOOP completed\r\n");
    assert.match(await two.command("g FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"), /Subject: c/);
  });

  test("BINARY decodes a base64 part; UID EXPUNGE removes only the named \\Deleted messages", async () => {
    const mime =
      "From: a@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
      "--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
      `--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from("a\0b").toString("base64")}\r\n--XX--\r\n`;
    await fixture.deliver(mime);
    await fixture.deliver(message("other"), fixture.inbox.id, ["\\Deleted"]);
    await fixture.deliver(message("third"), fixture.inbox.id, ["\\Deleted"]);
    const driver = await selected();
    assert.equal(
      await driver.command("a FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])"),
      "* 1 FETCH (BINARY[2] ~{3}\r\na\0b BINARY.SIZE[2] 3)\r\na OK FETCH completed\r\n",
    );
    assert.match(
      await driver.command("b FETCH 1 BODYSTRUCTURE"),
      /\("text" "plain" .*\("application" "octet-stream" .*"base64" 4 .*"mixed"/,
    );
    assert.equal(await driver.command("c UID EXPUNGE 3"), "* 3 EXPUNGE\r\nc OK UID EXPUNGE completed\r\n");
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 2);
  });

  test("NUL octets go only in BINARY's literal8; other literals carry 0x80 in their place", async () => {
    const raw = Buffer.from("Subject: nul\0here\r\n\r\na\0b\r\n", "latin1");
    const large = Buffer.concat([raw, Buffer.alloc(STREAM_THRESHOLD, "x"), Buffer.from("\0\r\n")]);
    await fixture.deliver(raw);
    await fixture.deliver(large);
    const driver = await selected();
    const body = (bytes: Buffer) => Buffer.from(bytes.toString("latin1").replaceAll("\0", "\x80"), "latin1");
    assert.equal(
      await driver.command("a FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT]<1.3> RFC822.SIZE)"),
      `* 1 FETCH (BODY[] {${raw.length}}\r\n${body(raw).toString("latin1")} BODY[TEXT]<1> {3}\r\n\x80b\r RFC822.SIZE ${raw.length})\r\na OK FETCH completed\r\n`,
    );
    assert.equal(
      await driver.command("b FETCH 1 BINARY.PEEK[1]"),
      "* 1 FETCH (BINARY[1] ~{5}\r\na\0b\r\n)\r\nb OK FETCH completed\r\n",
    );
    assert.match(await driver.command("c FETCH 1 ENVELOPE"), /\(NIL \{8\}\r\nnul\x80here NIL/);
    const streamed = await driver.command("d FETCH 2 BODY.PEEK[]");
    assert.ok(streamed.includes(`BODY[] {${large.length}}\r\n${body(large).toString("latin1")})`));
    assert.doesNotMatch(streamed, /\0/);
  });

  test("ENVELOPE keeps a source route in the adl field (RFC 9051 §7.5.2)", async () => {
    await fixture.deliver(
      "From: Joe <@relay.example,@r2.example:joe@example.org>\r\nSubject: r\r\n\r\nx\r\n",
    );
    const driver = await selected();
    assert.match(
      await driver.command("a FETCH 1 ENVELOPE"),
      /ENVELOPE \(NIL "r" \(\("Joe" "@relay\.example,@r2\.example" "joe" "example\.org"\)\) /,
    );
  });

  test("IDLE hears a delivery at once and ends with DONE", async () => {
    const driver = await selected();
    assert.equal(await driver.command("a IDLE"), "+ idling\r\n");
    const raw = message("pushed", "exact bytes\r\n");
    await fixture.deliver(raw);
    for (let i = 0; i < 50 && driver.pushed.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(Buffer.concat(driver.pushed).toString(), "* 1 EXISTS\r\n* 1 RECENT\r\n");
    assert.equal(await driver.command("DONE"), "a OK IDLE terminated\r\n");
    const fetched = await driver.command("b FETCH 1 BODY.PEEK[]");
    assert.ok(fetched.includes(`{${raw.length}}\r\n${raw})`));
  });

  test("a command that enables CONDSTORE while a mailbox is selected sends HIGHESTMODSEQ first (RFC 7162 §3.1)", async () => {
    for (const s of ["a", "b"]) await fixture.deliver(message(s));
    const highest = async () => (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    const ok = async () => `* OK [HIGHESTMODSEQ ${await highest()}] CONDSTORE enabled\r\n`;
    const commands = [
      "FETCH 1 (FLAGS MODSEQ)",
      "UID FETCH 1:* FLAGS (CHANGEDSINCE 1)",
      "STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)",
      "SEARCH MODSEQ 1",
      "STATUS INBOX (HIGHESTMODSEQ)",
      'LIST "" INBOX RETURN (STATUS (HIGHESTMODSEQ))',
      "ENABLE CONDSTORE",
    ];
    for (const command of commands) {
      const driver = await selected();
      const expected = await ok();
      const reply = await driver.command(`a ${command}`);
      assert.ok(reply.startsWith(expected), `${command}: ${reply}`);
      assert.match(reply, /a OK/);
      assert.doesNotMatch(await driver.command(`c ${command}`), /\* OK \[HIGHESTMODSEQ/, command);
    }
    // Without a mailbox selected there is nothing to report; CONDSTORE is on all the same.
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.doesNotMatch(await driver.command("a STATUS INBOX (HIGHESTMODSEQ)"), /\* OK/);
    await driver.command("b SELECT INBOX");
    assert.doesNotMatch(await driver.command("c FETCH 1 (MODSEQ)"), /\* OK/);
    assert.match(await driver.command("d STORE 1 +FLAGS (\\Seen)"), /FLAGS \(\\Seen\) MODSEQ/);
  });

  test("CONDSTORE: UNCHANGEDSINCE refuses stale changes, CHANGEDSINCE filters; QRESYNC reports VANISHED", async () => {
    for (const s of ["a", "b", "c"]) await fixture.deliver(message(s));
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("a ENABLE QRESYNC"), /ENABLED QRESYNC/);
    await driver.command("b SELECT INBOX");
    const before = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    const stored = await driver.command("c STORE 1 +FLAGS (\\Seen)");
    assert.match(stored, /\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \((\d+)\)\)/);
    assert.match(
      await driver.command(`d STORE 1,2 (UNCHANGEDSINCE ${before}) +FLAGS (\\Answered)`),
      /d OK \[MODIFIED 1\]/,
    );
    const changed = await driver.command(`e FETCH 1:* (FLAGS) (CHANGEDSINCE ${before})`);
    assert.match(changed, /\* 1 FETCH/);
    assert.match(changed, /\* 2 FETCH/);
    assert.doesNotMatch(changed, /\* 3 FETCH/);
    await driver.command("f STORE 3 +FLAGS.SILENT (\\Deleted)");
    assert.match(await driver.command("g EXPUNGE"), /^\* VANISHED 3\r\n/);
    const modseq = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    const other = new SessionDriver(fixture);
    await other.login();
    await other.command("a ENABLE QRESYNC");
    const resync = await other.command(`b SELECT INBOX (QRESYNC (${fixture.inbox.uidValidity} ${before}))`);
    assert.match(resync, /\* VANISHED \(EARLIER\) 3\r\n/);
    assert.match(resync, /\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)/);
    assert.ok(modseq > before);
  });

  test("STORE answers: FLAGS, UID and MODSEQ as asked; .SILENT with UNCHANGEDSINCE keeps the MODSEQ", async () => {
    for (const s of ["a", "b", "c"]) await fixture.deliver(message(s));
    const driver = new SessionDriver(fixture);
    await driver.login();
    await driver.command("a SELECT INBOX");
    assert.equal(
      await driver.command("b UID STORE 1:2 +FLAGS (\\Seen $Later)"),
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later)\r\n" +
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Later \\*)] flags may be set\r\n" +
        "* 1 FETCH (FLAGS (\\Seen $Later \\Recent) UID 1)\r\n* 2 FETCH (FLAGS (\\Seen $Later \\Recent) UID 2)\r\n" +
        "b OK UID STORE completed\r\n",
    );
    assert.equal(await driver.command("c STORE 3 +FLAGS.SILENT (\\Seen)"), "c OK STORE completed\r\n");
    await driver.command("d ENABLE CONDSTORE");
    const modseq = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    const silent = await driver.command(`e UID STORE 1:3 (UNCHANGEDSINCE ${modseq}) -FLAGS.SILENT (\\Seen)`);
    const next = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    assert.ok(next > modseq);
    assert.equal(
      silent,
      `* 1 FETCH (UID 1 MODSEQ (${next}))\r\n* 2 FETCH (UID 2 MODSEQ (${next}))\r\n* 3 FETCH (UID 3 MODSEQ (${next}))\r\ne OK UID STORE completed\r\n`,
    );
  });
});
