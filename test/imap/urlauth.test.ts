// URLAUTH (RFC 4467) through the sans-IO session on a real store: GENURLAUTH signs URLs of the user's
// own messages, URLFETCH reads them as the access identifier allows (another user included), RESETKEY
// makes every earlier URL stop working, CATENATE takes absolute and authorized URLs, and every refusal
// names only the URL.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { hashPassword } from "../../src/auth/password.js";
import { ADDRESS, createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const BOB = "bob@example.test";
const BOB_PASSWORD = "bob's long password";
const HOST = "localhost";
const multipart = message(
  "draft",
  "--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n",
  'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
);

async function setup(): Promise<{ alice: SessionDriver; base: string; validity: number }> {
  await fixture.deliver(multipart);
  const alice = new SessionDriver(fixture);
  await alice.login();
  const validity = fixture.inbox.uidValidity;
  return {
    alice,
    base: `imap://alice%40example.test@${HOST}/INBOX;UIDVALIDITY=${validity}/;UID=1`,
    validity,
  };
}

async function bob(): Promise<SessionDriver> {
  await fixture.store.directory.addUser(BOB, await hashPassword(BOB_PASSWORD));
  const driver = new SessionDriver(fixture);
  const reply = await driver.command(`B1 LOGIN ${BOB} "${BOB_PASSWORD}"`);
  assert.match(reply, /B1 OK/);
  return driver;
}

/** The authorized URL of a GENURLAUTH answer. */
async function authorize(driver: SessionDriver, rump: string): Promise<string> {
  const reply = await driver.command(`g GENURLAUTH "${rump}" INTERNAL`);
  const match = /^\* GENURLAUTH "([^"]+)"\r\ng OK/.exec(reply);
  assert.ok(match, reply);
  return match[1] as string;
}

function fetched(reply: string, url: string): string | null {
  const at = reply.indexOf(`* URLFETCH "${url}" `);
  assert.ok(at >= 0, `no URLFETCH response for ${url} in ${reply}`);
  const rest = reply.slice(at + url.length + 14);
  if (rest.startsWith("NIL")) return null;
  const literal = /^\{(\d+)\}\r\n/.exec(rest);
  assert.ok(literal, rest);
  return rest.slice(literal[0].length, literal[0].length + Number(literal[1]));
}

describe("IMAP URLAUTH (RFC 4467)", () => {
  test("advertised; SELECT names the mechanism; GENURLAUTH signs, URLFETCH reads the message and parts", async () => {
    const { alice, base } = await setup();
    assert.match(await alice.command("c CAPABILITY"), / URLAUTH /);
    assert.match(await alice.command("s SELECT INBOX"), /\* OK \[URLMECH INTERNAL\]/);
    const whole = await authorize(alice, `${base};URLAUTH=user+alice%40example.test`);
    assert.match(
      whole,
      new RegExp(
        `^${base.replace(/[.;/?]/g, "\\$&")};URLAUTH=user\\+alice%40example\\.test:INTERNAL:[0-9A-F]{66}$`,
      ),
    );
    const part = await authorize(alice, `${base}/;SECTION=2;URLAUTH=authuser`);
    const partial = await authorize(alice, `${base}/;SECTION=1/;PARTIAL=0.5;URLAUTH=anonymous`);
    const reply = await alice.command(`f URLFETCH "${whole}" "${part}" "${partial}"`);
    assert.match(reply, /f OK URLFETCH completed\r\n$/);
    assert.equal(fetched(reply, whole), multipart);
    assert.equal(fetched(reply, part), "second part");
    assert.equal(fetched(reply, partial), "first");
    // A plain URL, even of the user's own message, is not URLFETCH's to read: it takes authorized ones.
    assert.equal(fetched(await alice.command(`f URLFETCH "${base}"`), base), null);
  });

  test("another user reads what authuser admits, not user+alice or submit+alice, nor a forged token", async () => {
    const { alice, base } = await setup();
    const forAnyone = await authorize(alice, `${base};URLAUTH=authuser`);
    const forAlice = await authorize(alice, `${base};URLAUTH=user+alice%40example.test`);
    const forSubmit = await authorize(alice, `${base};URLAUTH=submit+alice%40example.test`);
    const forged = forAnyone.replace(/[0-9A-F]$/, (digit) => (digit === "0" ? "1" : "0"));
    const other = await bob();
    const reply = await other.command(`f URLFETCH "${forAnyone}" "${forAlice}" "${forSubmit}" "${forged}"`);
    assert.equal(fetched(reply, forAnyone), multipart);
    assert.equal(fetched(reply, forAlice), null);
    assert.equal(fetched(reply, forSubmit), null);
    assert.equal(fetched(reply, forged), null);
    // submit+ is for the submission server (BURL), not an IMAP session, even the owner's.
    assert.equal(fetched(await alice.command(`f URLFETCH "${forSubmit}"`), forSubmit), null);
  });

  test("RESETKEY of the mailbox, or of every mailbox, makes the URLs signed before stop working", async () => {
    const { alice, base } = await setup();
    const before = await authorize(alice, `${base};URLAUTH=authuser`);
    assert.match(
      await alice.command("r RESETKEY INBOX INTERNAL"),
      /^r OK \[URLMECH INTERNAL\] RESETKEY completed/,
    );
    assert.equal(fetched(await alice.command(`f URLFETCH "${before}"`), before), null);
    const after = await authorize(alice, `${base};URLAUTH=authuser`);
    assert.notEqual(after, before);
    assert.equal(fetched(await alice.command(`f URLFETCH "${after}"`), after), multipart);
    assert.match(await alice.command("r RESETKEY"), /^r OK RESETKEY completed/);
    assert.equal(fetched(await alice.command(`f URLFETCH "${after}"`), after), null);
    assert.match(await alice.command("r RESETKEY Nowhere"), /^r NO \[NONEXISTENT\]/);
    assert.match(await alice.command("r RESETKEY INBOX XSAMPLE"), /^r NO .*INTERNAL/);
  });

  test("GENURLAUTH refuses what is not the user's own existing message, or not a rump URL", async () => {
    const { alice, base, validity } = await setup();
    const refused = [
      `imap://bob%40example.test@${HOST}/INBOX;UIDVALIDITY=${validity}/;UID=1;URLAUTH=authuser`,
      `imap://alice%40example.test@elsewhere.example/INBOX/;UID=1;URLAUTH=authuser`,
      `${base.replace(";UID=1", ";UID=9")};URLAUTH=authuser`,
      `${base.replace(`UIDVALIDITY=${validity}`, `UIDVALIDITY=${validity + 1}`)};URLAUTH=authuser`,
      `${base};EXPIRE=2001-01-01T00:00:00Z;URLAUTH=authuser`,
      `/INBOX;UIDVALIDITY=${validity}/;UID=1;URLAUTH=authuser`,
      `${base};URLAUTH=authuser:INTERNAL:${"0".repeat(66)}`,
      `${base}`,
    ];
    for (const rump of refused) {
      const reply = await alice.command(`g GENURLAUTH "${rump}" INTERNAL`);
      assert.match(reply, /^g NO /, rump);
      assert.doesNotMatch(reply, /GENURLAUTH "/, rump);
    }
    assert.match(await alice.command(`g GENURLAUTH "${base};URLAUTH=authuser" XSAMPLE`), /^g NO .*INTERNAL/);
    assert.match(await alice.command("g GENURLAUTH"), /^g BAD /);
    // An ;EXPIRE in the future is signed with the URL and honoured until then.
    const later = await authorize(alice, `${base};EXPIRE=2999-01-01T00:00:00Z;URLAUTH=authuser`);
    assert.equal(fetched(await alice.command(`f URLFETCH "${later}"`), later), multipart);
  });

  test("an expunged message's URL gives NIL; unparsable URLs give NIL, never an error", async () => {
    const { alice, base } = await setup();
    const url = await authorize(alice, `${base};URLAUTH=authuser`);
    await alice.command("s SELECT INBOX");
    await alice.command("d STORE 1 +FLAGS (\\Deleted)");
    await alice.command("e EXPUNGE");
    const reply = await alice.command(`f URLFETCH "${url}" "not a url" "imap://x@${HOST}/INBOX"`);
    assert.equal(fetched(reply, url), null);
    assert.equal(fetched(reply, "not a url"), null);
    assert.match(reply, /f OK URLFETCH completed/);
  });

  test("CATENATE takes an absolute URL of the user's own mailbox and another user's authorized URL", async () => {
    const { alice, base } = await setup();
    const shared = await authorize(alice, `${base}/;SECTION=1;URLAUTH=authuser`);
    const other = await bob();
    const own = await other.command(
      `a APPEND INBOX CATENATE (TEXT {4+}\r\nhi:  URL "${shared}" URL "imap://alice%40example.test@${HOST}/INBOX/;UID=1")`,
    );
    assert.match(own, /^a NO \[BADURL imap:\/\/alice%40example\.test@localhost\/INBOX\/;UID=1\]/);
    const built = await other.command(`b APPEND INBOX CATENATE (TEXT {4+}\r\nhi:  URL "${shared}")`);
    assert.match(built, /^b OK \[APPENDUID \d+ 1\]/);
    const bobUser = await fixture.store.directory.getUser(BOB);
    const bobInbox = await fixture.store.mailboxes.getMailbox(bobUser?.id ?? 0, "INBOX");
    const entry = await fixture.store.messages.getMessage(bobInbox?.id ?? 0, 1);
    assert.equal(
      (await fixture.store.blobs.readBlobBytes(entry?.messageId ?? "")).toString(),
      "hi: first part",
    );
    const mine = await alice.command(
      `c APPEND INBOX CATENATE (URL "imap://${encodeURIComponent(ADDRESS)}@${HOST}/INBOX/;UID=1/;SECTION=2")`,
    );
    assert.match(mine, /^c OK \[APPENDUID \d+ 2\]/);
  });
});
