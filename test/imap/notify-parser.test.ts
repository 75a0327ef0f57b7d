// The parser's side of IMAP NOTIFY (RFC 5465 §8): NOTIFY NONE, NOTIFY SET [STATUS] with event groups,
// the rules the prose adds to the grammar (§5, §5.2, §6) as BAD, and properties over generated groups:
// any well-formed NOTIFY SET parses back to what was generated, and arbitrary input after NOTIFY never
// throws anything but CommandError.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type Command,
  CommandError,
  type NotifyGroup,
  parseCommand,
} from "../../src/imap/protocol/command.js";
import { CommandFramer } from "../../src/imap/protocol/framer.js";

function parse(line: string): Command {
  const item = new CommandFramer().push(Buffer.from(`${line}\r\n`)).find((i) => i.kind === "command");
  assert.ok(item?.kind === "command", `no command framed from ${line}`);
  return parseCommand(item.frame).command;
}

function groupsOf(line: string): NotifyGroup[] {
  const command = parse(line);
  assert.ok(command.name === "NOTIFY" && command.groups !== null, line);
  return command.groups;
}

describe("IMAP NOTIFY parsing", () => {
  test("NOTIFY NONE, and NOTIFY SET with and without STATUS", () => {
    assert.deepEqual(parse("a NOTIFY NONE"), { name: "NOTIFY", status: false, groups: null });
    assert.deepEqual(parse("a notify set status (personal (MessageNew MessageExpunge))"), {
      name: "NOTIFY",
      status: true,
      groups: [{ filter: { kind: "personal" }, events: ["MessageNew", "MessageExpunge"], fetch: null }],
    });
    const groups = groupsOf(
      'a NOTIFY SET (selected-delayed (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange)) (subtree ("Lists" "Work") (MailboxName SubscriptionChange)) (mailboxes INBOX NONE) (inboxes (MessageNew MessageExpunge)) (subscribed (MailboxMetadataChange ServerMetadataChange))',
    );
    assert.deepEqual(
      groups.map((g) => g.filter),
      [
        { kind: "selected-delayed" },
        { kind: "subtree", mailboxes: ["Lists", "Work"] },
        { kind: "mailboxes", mailboxes: ["INBOX"] },
        { kind: "inboxes" },
        { kind: "subscribed" },
      ],
    );
    assert.deepEqual(groups[0]?.events, ["MessageNew", "MessageExpunge", "FlagChange"]);
    assert.deepEqual(
      groups[0]?.fetch?.map((item) => item.kind),
      ["UID", "section"],
    );
    assert.deepEqual(groups[2]?.events, []);
  });

  test("event names are case-insensitive and come back canonical; unknown ones are kept for BADEVENT", () => {
    const [group] = groupsOf("a NOTIFY SET (personal (messagenew MESSAGEEXPUNGE annotationchange XFoo))");
    assert.deepEqual(group?.events, ["MessageNew", "MessageExpunge", "AnnotationChange", "XFOO"]);
  });

  test("what RFC 5465 forbids is BAD", () => {
    for (const bad of [
      "a NOTIFY",
      "a NOTIFY SET",
      "a NOTIFY SET STATUS",
      "a NOTIFY MAYBE",
      "a NOTIFY SET (personal)",
      "a NOTIFY SET (personal ())",
      "a NOTIFY SET (nowhere (MessageNew MessageExpunge))",
      "a NOTIFY SET (subtree (MessageNew MessageExpunge))",
      // §5: MessageNew and MessageExpunge together; FlagChange only with both.
      "a NOTIFY SET (personal (MessageNew))",
      "a NOTIFY SET (personal (MessageExpunge))",
      "a NOTIFY SET (personal (FlagChange))",
      "a NOTIFY SET (personal (MessageNew MessageNew MessageExpunge))",
      // §5.2: fetch attributes only for the selected mailbox.
      "a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
      // §6: the selected mailbox takes message events only, and one selected group at most.
      "a NOTIFY SET (selected (MailboxName))",
      "a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
      "a NOTIFY SET STATUS STATUS (personal NONE)",
      "a NOTIFY SET (personal NONE) STATUS",
    ]) {
      assert.throws(() => parse(bad), CommandError, bad);
    }
  });

  const mailboxName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 /._-]{0,15}$/);
  const quote = (name: string) => `"${name.replace(/[\\"]/g, "\\$&")}"`;
  const messageEvents = fc.constantFrom<string[]>(
    [],
    ["MessageNew", "MessageExpunge"],
    ["MessageNew", "MessageExpunge", "FlagChange"],
    ["FlagChange", "MessageExpunge", "MessageNew"],
  );
  const mailboxEvents = fc.subarray([
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
  ]);
  const otherGroup = fc.record({
    filter: fc.oneof(
      fc.record({ kind: fc.constantFrom("inboxes", "personal", "subscribed") }),
      fc.record({
        kind: fc.constantFrom("subtree", "mailboxes"),
        mailboxes: fc.array(mailboxName, { minLength: 1, maxLength: 3 }),
      }),
    ),
    events: fc.tuple(messageEvents, mailboxEvents).map(([m, b]) => [...m, ...b]),
  });
  const selectedGroup = fc.record({
    filter: fc.record({ kind: fc.constantFrom("selected", "selected-delayed") }),
    events: messageEvents,
  });

  function render(group: { filter: { kind: string; mailboxes?: string[] }; events: string[] }): string {
    const names = group.filter.mailboxes;
    const filter =
      names === undefined
        ? group.filter.kind
        : `${group.filter.kind} ${names.length === 1 ? quote(names[0] ?? "") : `(${names.map(quote).join(" ")})`}`;
    return `(${filter} ${group.events.length === 0 ? "NONE" : `(${group.events.join(" ")})`})`;
  }

  test("property: a generated NOTIFY SET parses back to its groups, in order", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(selectedGroup, { nil: undefined }),
        fc.array(otherGroup, { minLength: 0, maxLength: 4 }),
        fc.nat(4),
        (status, selected, others, at) => {
          const groups =
            selected === undefined ? others : [...others.slice(0, at), selected, ...others.slice(at)];
          fc.pre(groups.length > 0);
          const line = `t NOTIFY SET${status ? " STATUS" : ""} ${groups.map(render).join(" ")}`;
          const command = parse(line);
          assert.ok(command.name === "NOTIFY" && command.groups !== null);
          assert.equal(command.status, status);
          assert.deepEqual(
            command.groups.map((g) => ({ filter: g.filter, events: g.events, fetch: g.fetch })),
            // fast-check's records have no prototype; the parser's objects do.
            groups.map((g) => ({ filter: { ...g.filter }, events: g.events, fetch: null })),
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  test("property: whatever follows NOTIFY, the parser answers or throws CommandError, nothing else", () => {
    const piece = fc.constantFrom(
      "SET",
      "NONE",
      "STATUS",
      " ",
      "(",
      ")",
      "selected",
      "personal",
      "subtree",
      "mailboxes",
      "INBOX",
      '"a b"',
      "MessageNew",
      "MessageExpunge",
      "FlagChange",
      "MailboxName",
      "(UID FLAGS)",
      "NONE",
      "\\",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        try {
          parse(`t NOTIFY ${pieces.join("")}`);
        } catch (error) {
          assert.ok(error instanceof CommandError, String(error));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
