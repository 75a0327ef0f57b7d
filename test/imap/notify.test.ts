// IMAP NOTIFY (RFC 5465) in the sans-IO session: what is pushed between commands for the selected
// mailbox (EXISTS with MessageNew's fetch attributes, FETCH FLAGS, EXPUNGE or not for selected-delayed)
// and for the others (STATUS, LIST with OLDNAME, METADATA), STATUS at NOTIFY SET, BADEVENT, and the
// NOTIFICATIONOVERFLOW bound.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

/** A driver that tells its session, after each command, that the command has been written out. */
class NotifyDriver extends SessionDriver {
  override async command(line: string): Promise<string> {
    const reply = await super.command(line);
    this.session.betweenCommands();
    return reply;
  }

  /** What was pushed since the last call, once the session has made it. */
  async pushedText(): Promise<string> {
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.session.pushSettled;
    }
    const text = Buffer.concat(this.pushed).toString("latin1");
    this.pushed.length = 0;
    return text;
  }
}

async function loggedIn(options: ConstructorParameters<typeof SessionDriver>[1] = {}): Promise<NotifyDriver> {
  const driver = new NotifyDriver(fixture, options);
  await driver.login();
  return driver;
}

async function mailboxId(name: string): Promise<number> {
  const mailbox = await fixture.store.mailboxes.getMailbox(fixture.userId, name);
  assert.ok(mailbox !== null, name);
  return mailbox.id;
}

describe("IMAP NOTIFY", () => {
  test("NOTIFY is offered; AnnotationChange and unknown events are NO [BADEVENT] listing those offered", async () => {
    const driver = await loggedIn();
    assert.match(await driver.command("c CAPABILITY"), / NOTIFY /);
    for (const events of ["MessageNew MessageExpunge AnnotationChange", "MessageNew MessageExpunge XNope"]) {
      assert.equal(
        await driver.command(`n NOTIFY SET (personal (${events}))`),
        "n NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] not offered here\r\n",
      );
    }
    assert.match(await driver.command("n NOTIFY SET (personal (MessageNew))"), /^n BAD /);
  });

  test("NOTIFY SET STATUS answers STATUS for each matching mailbox but the selected one (RFC 5465 §3.1)", async () => {
    await fixture.deliver(message("one"), await mailboxId("Archive"));
    const driver = await loggedIn();
    await driver.command("s SELECT INBOX");
    const reply = await driver.command("n NOTIFY SET STATUS (personal (MessageNew MessageExpunge))");
    assert.match(reply, /\* STATUS "Archive" \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)\r\n/);
    assert.match(reply, /\* STATUS "Drafts" \(MESSAGES 0 UIDNEXT 1 UNSEEN 0\)\r\n/);
    assert.doesNotMatch(reply, /STATUS INBOX/);
    const only = await driver.command(
      "m NOTIFY SET STATUS (mailboxes (Archive) (MessageNew MessageExpunge))",
    );
    assert.equal(only, '* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\nm OK NOTIFY completed\r\n');
  });

  test("a delivery to another mailbox is pushed as STATUS between commands, with HIGHESTMODSEQ under CONDSTORE", async () => {
    const driver = await loggedIn();
    await driver.command("s SELECT INBOX");
    await driver.command(
      "n NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge FlagChange))",
    );
    await fixture.deliver(message("elsewhere"), await mailboxId("Archive"));
    assert.equal(await driver.pushedText(), '* STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n');
    await driver.command("e ENABLE CONDSTORE");
    const uid = await fixture.deliver(message("again"), await mailboxId("Archive"));
    const modseq = (await fixture.store.mailboxes.mailboxStatus(await mailboxId("Archive"))).highestModseq;
    assert.equal(
      await driver.pushedText(),
      `* STATUS "Archive" (MESSAGES 2 UIDNEXT ${uid + 1} UNSEEN 2 HIGHESTMODSEQ ${modseq})\r\n`,
    );
    // A mailbox outside every filter says nothing.
    await driver.command("m NOTIFY SET (mailboxes Drafts (MessageNew MessageExpunge))");
    await fixture.deliver(message("quiet"), await mailboxId("Archive"));
    assert.equal(await driver.pushedText(), "");
  });

  test("selected: another session's flag change and a delivery with fetch attributes are pushed at once", async () => {
    await fixture.deliver(message("first"));
    const driver = await loggedIn();
    await driver.command("e ENABLE IMAP4rev2");
    await driver.command("s SELECT INBOX");
    await driver.command(
      "n NOTIFY SET (selected (MessageNew (UID BODY[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))",
    );
    const other = await loggedIn();
    await other.command("s SELECT INBOX");
    await other.command("f STORE 1 +FLAGS (\\Flagged)");
    assert.equal(await driver.pushedText(), "* 1 FETCH (FLAGS (\\Flagged))\r\n");
    await fixture.deliver(message("second"));
    const pushed = await driver.pushedText();
    assert.match(
      pushed,
      /^\* 2 EXISTS\r\n\* 2 FETCH \(UID 2 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{19\}\r\nSubject: second\r\n\r\n\)\r\n$/,
    );
    // The fetch attributes never set \Seen (RFC 5465 §5.2).
    assert.match(await driver.command("g FETCH 2 FLAGS"), /\* 2 FETCH \(FLAGS \(\)\)/);
    await other.command("x STORE 1 +FLAGS (\\Deleted)");
    await other.command("y EXPUNGE");
    assert.match(await driver.pushedText(), /\* 1 EXPUNGE\r\n/);
  });

  test("selected-delayed holds expunges back until a command may report them (RFC 5465 §6)", async () => {
    for (const s of ["a", "b"]) await fixture.deliver(message(s));
    const driver = await loggedIn();
    await driver.command("s SELECT INBOX");
    await driver.command("n NOTIFY SET (selected-delayed (MessageNew MessageExpunge))");
    const other = await loggedIn();
    await other.command("s SELECT INBOX");
    await other.command("x STORE 1 +FLAGS (\\Deleted)");
    await other.command("y EXPUNGE");
    await fixture.deliver(message("c"));
    // The arrival is told; the expunged message keeps its number, and no FlagChange was asked for.
    assert.equal(await driver.pushedText(), "* 3 EXISTS\r\n* 3 RECENT\r\n");
    assert.equal(await driver.command("f FETCH 2 UID"), "* 2 FETCH (UID 2)\r\nf OK FETCH completed\r\n");
    assert.match(await driver.command("z NOOP"), /^\* 1 EXPUNGE\r\n/);
  });

  test("MailboxName and SubscriptionChange are LIST responses; a rename carries OLDNAME (RFC 5465 §5.4, §5.5)", async () => {
    const driver = await loggedIn();
    await driver.command("n NOTIFY SET (personal (MailboxName SubscriptionChange))");
    const other = await loggedIn();
    await other.command("c CREATE Projects");
    // The store subscribes what it creates and IMAP's CREATE undoes that (mailboxes.ts): whether the
    // client hears of the moment in between depends on when it looks; the last word is unsubscribed.
    assert.match(await driver.pushedText(), /^\* LIST \(\) "\/" "Projects"\r\n(.*\r\n)*$/);
    await other.command("s SUBSCRIBE Projects");
    assert.equal(await driver.pushedText(), '* LIST (\\Subscribed) "/" "Projects"\r\n');
    await other.command("r RENAME Projects Done");
    assert.equal(await driver.pushedText(), '* LIST () "/" "Done" ("OLDNAME" ("Projects"))\r\n');
    await other.command("u UNSUBSCRIBE Done");
    assert.equal(await driver.pushedText(), '* LIST () "/" "Done"\r\n');
    await other.command("d DELETE Done");
    assert.equal(await driver.pushedText(), '* LIST (\\NonExistent) "/" "Done"\r\n');
  });

  test("METADATA changes are told by entry name, for mailboxes and the server (RFC 5465 §5.6, §5.7)", async () => {
    const driver = await loggedIn();
    await driver.command("n NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))");
    const other = await loggedIn();
    await other.command('m SETMETADATA INBOX (/private/comment "hello")');
    assert.equal(await driver.pushedText(), '* METADATA "INBOX" "/private/comment"\r\n');
    await other.command('m SETMETADATA "" (/private/vendor/x "1" /private/vendor/y "2")');
    assert.equal(await driver.pushedText(), '* METADATA "" "/private/vendor/x" "/private/vendor/y"\r\n');
  });

  test("changes seen during a command are sent before its tagged completion", async () => {
    const driver = await loggedIn();
    // Sent without the adapter's word that it was written out: as if the next command were already in.
    await driver.send("n NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    await fixture.deliver(message("meanwhile"), await mailboxId("Junk"));
    assert.equal(await driver.pushedText(), "");
    assert.equal(
      await driver.send("a NOOP\r\n"),
      '* STATUS "Junk" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\na OK NOOP completed\r\n',
    );
  });

  test("NOTIFICATIONOVERFLOW past the bound, then NOTIFY NONE behaviour (RFC 5465 §5.8)", async () => {
    const driver = await loggedIn({ notifyMaxPending: 2 });
    await driver.command("n NOTIFY SET (personal (MessageNew MessageExpunge))");
    // A client that does not read: every push finds the connection's buffer full, so changes wait.
    const blocked = new SessionDriver(fixture, {
      notifyMaxPending: 2,
      push: () => false,
    });
    await blocked.login();
    await blocked.command("n NOTIFY SET (personal (MessageNew MessageExpunge))");
    blocked.session.betweenCommands();
    await fixture.deliver(message("fills"), await mailboxId("Drafts"));
    await blocked.session.pushSettled;
    for (const name of ["Sent", "Trash", "Junk"]) await fixture.deliver(message(name), await mailboxId(name));
    const reply = await blocked.command("z NOOP");
    assert.equal(
      reply,
      "* OK [NOTIFICATIONOVERFLOW] too many changes waited to be sent; notifications are off until the next NOTIFY SET\r\nz OK NOOP completed\r\n",
    );
    await fixture.deliver(message("after"), await mailboxId("Archive"));
    assert.equal(await blocked.command("y NOOP"), "y OK NOOP completed\r\n");
    // The other session, with room to write, kept up and never overflowed.
    assert.doesNotMatch(await driver.pushedText(), /NOTIFICATIONOVERFLOW/);
  });

  test("in IDLE, NOTIFY's events for other mailboxes are pushed too (RFC 5465 §4)", async () => {
    const driver = await loggedIn();
    await driver.command("s SELECT INBOX");
    await driver.command(
      "n NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))",
    );
    assert.equal(await driver.command("i IDLE"), "+ idling\r\n");
    await fixture.deliver(message("here"));
    await fixture.deliver(message("there"), await mailboxId("Sent"));
    assert.equal(
      await driver.pushedText(),
      '* 1 EXISTS\r\n* 1 RECENT\r\n* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n',
    );
    assert.equal(await driver.command("DONE"), "i OK IDLE terminated\r\n");
  });

  test("NOTIFY NONE, like no NOTIFY at all, pushes nothing between commands", async () => {
    const silent = await loggedIn();
    await silent.command("s SELECT INBOX");
    const none = await loggedIn();
    await none.command("s SELECT INBOX");
    await none.command("n NOTIFY NONE");
    await fixture.deliver(message("x"));
    await fixture.deliver(message("y"), await mailboxId("Archive"));
    assert.equal(await silent.pushedText(), "");
    assert.equal(await none.pushedText(), "");
    assert.match(await none.command("z NOOP"), /\* 1 EXISTS\r\n/);
  });
});
