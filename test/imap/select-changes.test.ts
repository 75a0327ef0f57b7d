// Changes made while SELECT reads the mailbox: no view is installed yet, and none may be lost or told
// twice. A store wrapper makes the change from inside listMessages, exactly in that window.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { MailboxMessage, Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface Hooks {
  /** Runs inside the next listing of the mailbox, before the store reads it. */
  before?: () => Promise<void>;
  /** Runs inside the next listing of the mailbox, after the store has read it. */
  after?: () => Promise<void>;
}

/** The fixture's store; the next full listing of `mailboxId` runs the hooks once. */
function storeChangingDuringListing(mailboxId: number, hooks: Hooks): Store {
  const store = fixture.store;
  let armed = true;
  return spyStore(store, {
    messages: (messages) => ({
      listMessages: async (id, options) => {
        if (!armed || id !== mailboxId || options !== undefined) return messages.listMessages(id, options);
        armed = false;
        await hooks.before?.();
        const listed: MailboxMessage[] = await messages.listMessages(id);
        await hooks.after?.();
        return listed;
      },
    }),
  });
}

async function loggedIn(store: Store): Promise<SessionDriver> {
  const driver = new SessionDriver({ ...fixture, store });
  await driver.login();
  return driver;
}

function existsCounts(reply: string): number[] {
  return [...reply.matchAll(/^\* (\d+) EXISTS\r$/gm)].map((match) => Number(match[1]));
}

describe("changes made while SELECT reads the mailbox", () => {
  test("a message delivered after the listing is announced by the next command", async () => {
    await fixture.deliver(message("first"));
    let late = 0;
    const store = storeChangingDuringListing(fixture.inbox.id, {
      after: async () => {
        late = await fixture.deliver(message("during select"));
      },
    });
    const driver = await loggedIn(store);
    const selected = await driver.command("S SELECT INBOX");
    assert.match(selected, /S OK \[READ-WRITE\]/);
    assert.deepEqual(existsCounts(selected), [1]);
    const noop = await driver.command("N NOOP");
    assert.deepEqual(existsCounts(noop), [2]);
    assert.match(noop, /N OK/);
    const fetched = await driver.command("F FETCH 2 (UID)");
    assert.match(fetched, new RegExp(`^\\* 2 FETCH \\(UID ${late}\\)\\r$`, "m"));
    assert.deepEqual(existsCounts(await driver.command("N2 NOOP")), [], "told once only");
  });

  test("a message the listing already shows is not counted twice", async () => {
    await fixture.deliver(message("first"));
    const store = storeChangingDuringListing(fixture.inbox.id, {
      before: async () => {
        await fixture.deliver(message("just before the listing"));
      },
    });
    const driver = await loggedIn(store);
    assert.deepEqual(existsCounts(await driver.command("S SELECT INBOX")), [2]);
    const noop = await driver.command("N NOOP");
    assert.deepEqual(existsCounts(noop), []);
    assert.doesNotMatch(noop, /FETCH|EXPUNGE/);
  });

  test("flag changes and expunges after the listing are reported, earlier ones are not repeated", async () => {
    const [one, two, three] = [
      await fixture.deliver(message("one")),
      await fixture.deliver(message("two")),
      await fixture.deliver(message("three")),
    ];
    const inbox = fixture.inbox.id;
    const store = storeChangingDuringListing(inbox, {
      before: async () => {
        await fixture.store.messages.updateFlags(inbox, [one], "add", ["\\Answered"]);
      },
      after: async () => {
        await fixture.store.messages.updateFlags(inbox, [two], "add", ["\\Flagged"]);
        await fixture.store.messages.expunge(inbox, [three]);
      },
    });
    const driver = await loggedIn(store);
    assert.deepEqual(existsCounts(await driver.command("S SELECT INBOX")), [3]);
    const noop = await driver.command("N NOOP");
    assert.match(noop, /^\* 3 EXPUNGE\r$/m);
    assert.match(noop, /^\* 2 FETCH \(FLAGS \(\\Flagged \\Recent\)\)\r$/m);
    assert.doesNotMatch(noop, /^\* 1 FETCH/m, "the listing already had message 1's flags");
    assert.deepEqual(existsCounts(noop), []);
  });

  test("IDLE right after SELECT reports the message delivered during it", async () => {
    await fixture.deliver(message("first"));
    const store = storeChangingDuringListing(fixture.inbox.id, {
      after: async () => {
        await fixture.deliver(message("during select"));
      },
    });
    const driver = await loggedIn(store);
    await driver.command("S SELECT INBOX");
    const idle = await driver.command("I IDLE");
    assert.match(idle, /^\+ idling\r\n\* 2 EXISTS\r\n\* 2 RECENT\r\n$/);
    const done = await driver.send("DONE\r\n");
    assert.match(done, /I OK IDLE terminated/);
    assert.deepEqual(existsCounts(done), []);
    assert.deepEqual(driver.pushed, [], "nothing told twice through push");
  });

  test("a delivery to another mailbox during SELECT is not reported", async () => {
    const other = await fixture.store.mailboxes.createMailbox(fixture.userId, "Other");
    const store = storeChangingDuringListing(fixture.inbox.id, {
      after: async () => {
        await fixture.deliver(message("elsewhere"), other.id);
      },
    });
    const driver = await loggedIn(store);
    assert.deepEqual(existsCounts(await driver.command("S SELECT INBOX")), [0]);
    assert.deepEqual(existsCounts(await driver.command("N NOOP")), []);
  });

  test("EXAMINE keeps the change as SELECT does", async () => {
    const store = storeChangingDuringListing(fixture.inbox.id, {
      after: async () => {
        await fixture.deliver(message("during examine"));
      },
    });
    const driver = await loggedIn(store);
    assert.match(await driver.command("E EXAMINE INBOX"), /E OK \[READ-ONLY\]/);
    assert.deepEqual(existsCounts(await driver.command("N NOOP")), [1]);
  });
});
