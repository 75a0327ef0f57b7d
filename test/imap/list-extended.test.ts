// LIST-EXTENDED (RFC 5258): RECURSIVEMATCH with its CHILDINFO extended data item, and hierarchy levels
// that exist only as the prefix of deeper mailboxes. The hierarchies are those of RFC 5258 §5. Also the
// METADATA return option (RFC 9590), whose responses follow the LIST lines of these hierarchies.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
let driver: SessionDriver;

/**
 * Leaves exactly `mailboxes` (plus INBOX) and exactly `subscriptions`. Mailboxes are created through the
 * store so missing parents stay missing, as after a DELETE of the parent (RFC 9051 §6.3.4).
 */
async function hierarchy(mailboxes: string[], subscriptions: string[]): Promise<void> {
  const { store, userId } = fixture;
  for (const mailbox of await store.mailboxes.listMailboxes(userId)) {
    if (mailbox.name !== "INBOX") await store.mailboxes.deleteMailbox(userId, mailbox.name);
  }
  for (const name of mailboxes) await store.mailboxes.createMailbox(userId, name);
  for (const name of await store.mailboxes.listSubscriptions(userId))
    await store.mailboxes.setSubscribed(userId, name, false);
  for (const name of subscriptions) await store.mailboxes.setSubscribed(userId, name, true);
}

/** The untagged LIST (or LSUB) lines of a reply, in order, after checking it ended OK. */
async function listing(line: string, verb = "LIST"): Promise<string[]> {
  const reply = await driver.command(line);
  const tag = line.split(" ")[0];
  assert.match(reply, new RegExp(`${tag} OK`), reply);
  return reply.split("\r\n").filter((l) => l.startsWith(`* ${verb} `));
}

beforeEach(async () => {
  fixture = await createFixture();
  driver = new SessionDriver(fixture);
  await driver.login();
});
afterEach(async () => {
  await fixture.cleanup();
});

describe("RECURSIVEMATCH and CHILDINFO (RFC 5258 §3.1, §3.5, example 8)", () => {
  const mailboxes = ["Foo", "Foo/Bar", "Foo/Baz", "Moo"];

  test("A: a parent that is not subscribed is listed for its subscribed child only with RECURSIVEMATCH", async () => {
    await hierarchy(mailboxes, ["Foo/Baz"]);
    assert.deepEqual(await listing('C02 LIST (SUBSCRIBED) "" "*"'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Baz"',
    ]);
    assert.deepEqual(await listing('C03 LIST (SUBSCRIBED) "" "%"'), []);
    assert.deepEqual(await listing('C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
      '* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
  });

  test("A1: a subscribed parent keeps \\Subscribed and gains CHILDINFO", async () => {
    await hierarchy(mailboxes, ["Foo", "Foo/Baz"]);
    assert.deepEqual(await listing('C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
  });

  test("A2: a parent that does not exist is \\NonExistent with CHILDINFO", async () => {
    await hierarchy(["Foo/Bar", "Foo/Baz", "Moo"], ["Foo/Baz"]);
    assert.deepEqual(await listing('C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
      '* LIST (\\NonExistent \\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
  });

  test("B: with nothing subscribed there is nothing to list, children or not", async () => {
    await hierarchy(mailboxes, []);
    assert.deepEqual(await listing('C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), []);
  });

  test("C: subscribed parents without subscribed children get no CHILDINFO", async () => {
    await hierarchy(mailboxes, ["Foo", "Moo"]);
    assert.deepEqual(await listing('C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "Foo"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"',
    ]);
  });
});

describe("CHILDINFO whether or not the children match the pattern (RFC 5258 examples 9 and 10)", () => {
  test("example 9: only non-redundant CHILDINFO for unselected parents; selected ones always carry it", async () => {
    await hierarchy(
      [
        "foo2",
        "foo2/bar1",
        "foo2/bar2",
        "baz2",
        "baz2/bar2",
        "baz2/bar22",
        "baz2/bar222",
        "eps2",
        "eps2/mamba",
        "qux2/bar2",
      ],
      ["foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2"],
    );
    // baz2 and qux2 are left out: every subscribed child of theirs is listed (RFC 5258 §3.5 SHOULD).
    assert.deepEqual(await listing('D03 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
      '* LIST (\\HasChildren \\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"',
    ]);
    // CHILDINFO MUST NOT appear without RECURSIVEMATCH (RFC 5258 §3.5).
    const plain = await listing('D04 LIST (SUBSCRIBED) "" "*"');
    assert.equal(plain.length, 8);
    assert.ok(
      plain.every((l) => !l.includes("CHILDINFO")),
      plain.join("\n"),
    );
  });

  test("example 10: CHILDINFO for a subscribed child that does not exist, with \\HasNoChildren", async () => {
    await hierarchy(["foo"], ["foo/bar"]);
    assert.deepEqual(await listing('a1 LIST "" ("foo" "foo/*")'), ['* LIST (\\HasNoChildren) "/" "foo"']);
    assert.deepEqual(await listing('a2 LIST (SUBSCRIBED) "" "foo/*"'), [
      '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "foo/bar"',
    ]);
    assert.deepEqual(await listing('a3 LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)'), [
      '* LIST (\\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
  });

  test("SPECIAL-USE RECURSIVEMATCH names SPECIAL-USE in CHILDINFO; STATUS only for matching mailboxes", async () => {
    await hierarchy(["Old"], []);
    await fixture.store.mailboxes.createMailbox(fixture.userId, "Old/Sent", "\\Sent");
    assert.deepEqual(
      await listing('s1 LIST (SPECIAL-USE RECURSIVEMATCH) "" "%" RETURN (STATUS (MESSAGES))'),
      ['* LIST (\\HasChildren) "/" "Old" ("CHILDINFO" ("SPECIAL-USE"))'],
    );
    assert.doesNotMatch(
      await driver.command('s2 LIST (SPECIAL-USE RECURSIVEMATCH) "" "%" RETURN (STATUS (MESSAGES))'),
      /\* STATUS/,
    );
  });
});

describe("RECURSIVEMATCH needs a base selection option (RFC 5258 §3.1, §6)", () => {
  test("alone or only with REMOTE it is BAD; with SUBSCRIBED and REMOTE it is fine", async () => {
    await hierarchy(["Foo/Baz"], ["Foo/Baz"]);
    assert.match(await driver.command('b1 LIST (RECURSIVEMATCH) "" "*"'), /^b1 BAD .*RECURSIVEMATCH/m);
    assert.match(await driver.command('b2 LIST (REMOTE RECURSIVEMATCH) "" "*"'), /^b2 BAD .*RECURSIVEMATCH/m);
    assert.deepEqual(await listing('b3 LIST (SUBSCRIBED REMOTE RECURSIVEMATCH) "" "%"'), [
      '* LIST (\\NonExistent \\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
  });
});

describe("hierarchy levels that are not mailboxes (RFC 5258 example 11, RFC 3501 §6.3.8-9)", () => {
  beforeEach(async () => {
    await hierarchy(["music/rock"], ["music/rock"]);
  });

  test("extended LIST with % returns the missing level as \\NonExistent \\HasChildren", async () => {
    assert.deepEqual(await listing('a2 LIST () "" %'), [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\NonExistent \\HasChildren) "/" "music"',
    ]);
  });

  test("a rev1 client's plain LIST gets \\Noselect; after ENABLE IMAP4rev2 it gets \\NonExistent", async () => {
    assert.deepEqual(await listing('r1 LIST "" "%"'), [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\Noselect \\HasChildren) "/" "music"',
    ]);
    assert.match(await driver.command("r2 ENABLE IMAP4rev2"), /r2 OK/);
    assert.deepEqual(await listing('r3 LIST "" "%"'), [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\NonExistent \\HasChildren) "/" "music"',
    ]);
  });

  test("a level is not listed when the patterns reach everything below it", async () => {
    assert.deepEqual(await listing('a1 LIST "" *'), [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren) "/" "music/rock"',
    ]);
    assert.deepEqual(await listing('a3 LIST "" (% music/rock)'), [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren) "/" "music/rock"',
    ]);
    assert.deepEqual(await listing('a4 LIST "" "music/%"'), ['* LIST (\\HasNoChildren) "/" "music/rock"']);
  });

  test("deeper levels: each missing level on the way is reported once", async () => {
    await hierarchy(["a/b/c"], []);
    assert.deepEqual(await listing('d1 LIST () "" "a/%"'), [
      '* LIST (\\NonExistent \\HasChildren) "/" "a/b"',
    ]);
    assert.deepEqual(await listing('d2 LIST () "" "%/%"'), [
      '* LIST (\\NonExistent \\HasChildren) "/" "a/b"',
    ]);
  });

  test("a level gets no STATUS, and LIST (SUBSCRIBED) without RECURSIVEMATCH does not report it", async () => {
    const reply = await driver.command('s1 LIST () "" "%" RETURN (STATUS (MESSAGES))');
    assert.match(reply, /\* LIST \(\\NonExistent \\HasChildren\) "\/" "music"\r\n/);
    assert.doesNotMatch(reply, /STATUS "music"/);
    assert.match(reply, /\* STATUS "INBOX" \(MESSAGES 0\)/);
    assert.deepEqual(await listing('s2 LIST (SUBSCRIBED) "" "%"'), []);
  });

  test("LSUB with % returns an unsubscribed parent of a subscribed name as \\Noselect", async () => {
    assert.deepEqual(await listing('l1 LSUB "" "%"', "LSUB"), [
      '* LSUB (\\Noselect \\HasChildren) "/" "music"',
    ]);
    assert.deepEqual(await listing('l2 LSUB "" "*"', "LSUB"), ['* LSUB (\\HasNoChildren) "/" "music/rock"']);
  });
});

describe("CREATE leaves subscriptions alone (RFC 9051 §6.3.4, §6.3.9)", () => {
  test("neither the mailbox nor its implied parents get subscribed; LSUB and LIST (SUBSCRIBED) show the levels", async () => {
    await hierarchy([], []);
    assert.match(await driver.command("a CREATE x/y/z"), /^a OK/);
    assert.deepEqual(await listing('b LSUB "" *', "LSUB"), []);
    assert.deepEqual(await listing('c LIST (SUBSCRIBED) "" *'), []);
    assert.match(await driver.command("d SUBSCRIBE x/y/z"), /^d OK/);
    // RFC 3501 §6.3.9: "%" lists the unsubscribed level that holds a subscription, flagged \Noselect.
    assert.deepEqual(await listing('e LSUB "" %', "LSUB"), ['* LSUB (\\Noselect \\HasChildren) "/" "x"']);
    assert.deepEqual(await listing('f LSUB "" *', "LSUB"), ['* LSUB (\\HasNoChildren) "/" "x/y/z"']);
    assert.deepEqual(await listing('g LIST (SUBSCRIBED) "" *'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "x/y/z"',
    ]);
    // RFC 5258 §3.5: without RECURSIVEMATCH an unsubscribed parent is not listed; with it, with CHILDINFO.
    assert.deepEqual(await listing('h LIST (SUBSCRIBED) "" %'), []);
    assert.deepEqual(await listing('i LIST (SUBSCRIBED RECURSIVEMATCH) "" %'), [
      '* LIST (\\HasChildren) "/" "x" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
    // A subscription outlives its mailbox (\NonExistent), and a CREATE of the name keeps it.
    assert.match(await driver.command("j DELETE x/y/z"), /^j OK/);
    assert.deepEqual(await listing('k LIST (SUBSCRIBED) "" *'), [
      '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "x/y/z"',
    ]);
    assert.deepEqual(await listing('l LSUB "" x/*', "LSUB"), [
      '* LSUB (\\Noselect \\HasNoChildren) "/" "x/y/z"',
    ]);
    assert.match(await driver.command("m CREATE x/y/z"), /^m OK/);
    assert.deepEqual(await listing('n LSUB "" *', "LSUB"), ['* LSUB (\\HasNoChildren) "/" "x/y/z"']);
  });
});

describe("the METADATA return option (RFC 9590)", () => {
  /** The untagged lines of a reply and its tagged line. */
  async function reply(line: string): Promise<{ untagged: string[]; tagged: string }> {
    const lines = (await driver.command(line)).split("\r\n").filter((l) => l !== "");
    return { untagged: lines.slice(0, -1), tagged: lines.at(-1) ?? "" };
  }

  beforeEach(async () => {
    await hierarchy(["Foo", "Foo/Bar"], ["Foo/Bar"]);
    for (const set of [
      'SETMETADATA INBOX (/shared/comment "Shared inbox" /private/comment "My inbox")',
      'SETMETADATA Foo/Bar (/private/comment "Bar" /private/comment/deeper "below")',
    ]) {
      assert.match(await driver.command(`s ${set}`), /^s OK/m);
    }
  });

  test("is offered with METADATA", async () => {
    assert.match(await driver.command("c CAPABILITY"), /^\* CAPABILITY .* METADATA LIST-METADATA /m);
  });

  test("a METADATA response follows each mailbox's LIST, NIL for entries without a value", async () => {
    assert.deepEqual(await reply('m1 LIST "" "*" RETURN (METADATA ("/shared/comment" "/private/comment"))'), {
      untagged: [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* METADATA "INBOX" (/private/comment "My inbox" /shared/comment "Shared inbox")',
        '* LIST (\\HasChildren) "/" "Foo"',
        '* METADATA "Foo" (/private/comment NIL /shared/comment NIL)',
        '* LIST (\\HasNoChildren) "/" "Foo/Bar"',
        '* METADATA "Foo/Bar" (/private/comment "Bar" /shared/comment NIL)',
      ],
      tagged: "m1 OK LIST completed",
    });
  });

  test("after STATUS, whatever the order of the return options, and with CHILDREN and SPECIAL-USE", async () => {
    await fixture.store.mailboxes.createMailbox(fixture.userId, "Sent", "\\Sent");
    const expected = [
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
      '* STATUS "Sent" (MESSAGES 0)',
      '* METADATA "Sent" (/private/comment NIL)',
    ];
    for (const returns of [
      "METADATA (/private/comment) STATUS (MESSAGES) CHILDREN SPECIAL-USE",
      "SPECIAL-USE STATUS (MESSAGES) CHILDREN METADATA (/private/comment)",
    ]) {
      assert.deepEqual((await reply(`m2 LIST "" Sent RETURN (${returns})`)).untagged, expected, returns);
    }
  });

  test("with SUBSCRIBED: none for \\NonExistent names, nor for a parent listed only for CHILDINFO", async () => {
    await driver.command("s SUBSCRIBE Foo/Bar");
    await fixture.store.mailboxes.setSubscribed(fixture.userId, "Gone", true);
    assert.deepEqual(
      (await reply('m3 LIST (SUBSCRIBED) "" "*" RETURN (METADATA (/private/comment))')).untagged,
      [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Bar"',
        '* METADATA "Foo/Bar" (/private/comment "Bar")',
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Gone"',
      ],
    );
    assert.deepEqual(
      (await reply('m4 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (METADATA (/private/comment))'))
        .untagged,
      [
        '* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Gone"',
      ],
    );
    // A hierarchy level that is not a mailbox is \NonExistent too.
    await hierarchy(["music/rock"], []);
    assert.deepEqual((await reply('m5 LIST () "" "%" RETURN (METADATA (/private/comment))')).untagged, [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* METADATA "INBOX" (/private/comment "My inbox")',
      '* LIST (\\NonExistent \\HasChildren) "/" "music"',
    ]);
  });

  test("DEPTH reaches entries below; MAXSIZE leaves long values out and the OK names the longest", async () => {
    assert.deepEqual(
      (await reply('m6 LIST "" Foo/Bar RETURN (METADATA (/private/comment DEPTH 1))')).untagged.slice(1),
      ['* METADATA "Foo/Bar" (/private/comment "Bar" /private/comment/deeper "below")'],
    );
    // As in GETMETADATA, a mailbox whose every value is too long gets no METADATA response at all.
    assert.deepEqual(await reply('m7 LIST "" "*" RETURN (METADATA ((MAXSIZE 5) /private/comment))'), {
      untagged: [
        '* LIST (\\HasNoChildren) "/" "INBOX"',
        '* LIST (\\HasChildren) "/" "Foo"',
        '* METADATA "Foo" (/private/comment NIL)',
        '* LIST (\\HasNoChildren) "/" "Foo/Bar"',
        '* METADATA "Foo/Bar" (/private/comment "Bar")',
      ],
      tagged: "m7 OK [METADATA LONGENTRIES 8] LIST completed",
    });
  });

  test("values go out as GETMETADATA sends them: a literal for 8-bit text, a literal8 for NUL", async () => {
    const set = await driver.send(
      `s1 SETMETADATA Foo (/private/a {7+}\r\nGrüße /private/b ~{3+}\r\na\0b)\r\n`,
    );
    assert.match(set, /^s1 OK/m);
    const listed = await driver.command('m8 LIST "" Foo RETURN (METADATA (/private/a /private/b))');
    const got = await driver.command("m9 GETMETADATA Foo (/private/a /private/b)");
    const metadata = listed.slice(listed.indexOf("* METADATA"), listed.indexOf("m8 OK"));
    assert.equal(metadata, got.slice(0, got.indexOf("m9 OK")));
    // The driver reads bytes as latin1: the 7 bytes of "Grüße" in UTF-8 are 7 characters here.
    assert.match(
      metadata,
      /^\* METADATA "Foo" \(\/private\/a \{7\}\r\n.{7} \/private\/b ~\{3\}\r\na\0b\)\r\n$/,
    );
  });

  test("bad entry names are BAD, and nothing is listed", async () => {
    const { untagged, tagged } = await reply('b1 LIST "" "*" RETURN (METADATA ("/private/*"))');
    assert.deepEqual(untagged, []);
    assert.match(tagged, /^b1 BAD entry \/private\/\* is not a valid entry name/);
    assert.match(
      (await reply('b2 LIST "" "*" RETURN (METADATA (/comment))')).tagged,
      /^b2 BAD .*\/private or \/shared/,
    );
  });
});
