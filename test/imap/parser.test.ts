import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type Command,
  CommandError,
  parseAppendPrefix,
  parseCommand,
  parseSectionText,
} from "../../src/imap/protocol/command.js";
import { Cursor, ParseError } from "../../src/imap/protocol/cursor.js";
import { CommandFramer, type FrameItem, OVERLONG_LINE_SLACK } from "../../src/imap/protocol/framer.js";
import { formatSequence, inSequenceSet, parseSequenceSet } from "../../src/imap/protocol/sequence.js";
import { badUrlText, parseImapUrl, parseMessageUrl } from "../../src/imap/protocol/url.js";
import { decodeMailboxUtf7, encodeMailboxUtf7 } from "../../src/imap/protocol/utf7.js";
import { encodeValue, type ImapValue } from "../../src/imap/protocol/value.js";

function frames(input: string | Buffer, framer = new CommandFramer()): FrameItem[] {
  return framer.push(typeof input === "string" ? Buffer.from(input, "utf8") : input);
}

function parse(line: string): Command {
  const items = frames(line.endsWith("\r\n") ? line : `${line}\r\n`).filter((i) => i.kind === "command");
  const item = items[0];
  assert.ok(item !== undefined && item.kind === "command", `no command framed from ${line}`);
  return parseCommand(item.frame).command;
}

function parseError(line: string): CommandError {
  try {
    parse(line);
  } catch (error) {
    assert.ok(error instanceof CommandError);
    return error;
  }
  assert.fail(`expected ${line} to be rejected`);
}

describe("framer", () => {
  test("asks for continuation on a synchronizing literal and assembles the command", () => {
    const framer = new CommandFramer();
    const first = frames("a LOGIN {5}\r\n", framer);
    assert.deepEqual(first, [{ kind: "continue" }]);
    const second = frames('alice "pw"\r\n', framer);
    assert.equal(second.length, 1);
    const item = second[0];
    assert.ok(item?.kind === "command");
    assert.deepEqual(parseCommand(item.frame).command, { name: "LOGIN", user: "alice", password: "pw" });
  });

  test("LITERAL+ needs no continuation", () => {
    const items = frames("a LOGIN {5+}\r\nalice {2+}\r\npw\r\n");
    assert.equal(items.length, 1);
    const item = items[0];
    assert.ok(item?.kind === "command");
    assert.deepEqual(parseCommand(item.frame).command, { name: "LOGIN", user: "alice", password: "pw" });
  });

  test("a literal may contain CRLF and braces and arrive in pieces", () => {
    const framer = new CommandFramer();
    const data = "x\r\n{3}\r\ny";
    const input = `a LOGIN {${Buffer.byteLength(data)}+}\r\n${data} pw\r\n`;
    const items: FrameItem[] = [];
    for (const ch of input) items.push(...framer.push(Buffer.from(ch)));
    assert.equal(items.length, 1);
    const item = items[0];
    assert.ok(item?.kind === "command");
    const command = parseCommand(item.frame).command;
    assert.ok(command.name === "LOGIN");
    assert.equal(command.user, data);
  });

  test("refuses an oversized synchronizing literal without waiting for it", () => {
    const framer = new CommandFramer({ maxLine: 1000, maxLiteral: 10, maxLiterals: 5 });
    const items = frames("t1 LOGIN {11}\r\nt2 NOOP\r\n", framer);
    assert.deepEqual(items[0], { kind: "error", tag: "t1", reason: "literal-too-large", limit: 10 });
    assert.ok(items[1]?.kind === "command");
  });

  test("an overlong line is refused once and skipped up to its line feed", () => {
    const framer = new CommandFramer({ maxLine: 100, maxLiteral: 10, maxLiterals: 5 });
    const items: FrameItem[] = [];
    items.push(...frames(`t1 NOOP ${"x".repeat(100)}`, framer));
    for (let i = 0; i < 40; i++) items.push(...frames("x".repeat(100), framer));
    items.push(...frames("\r\nt2 NOOP\r\n", framer));
    assert.deepEqual(items[0], { kind: "error", tag: "t1", reason: "line-too-long" });
    assert.equal(items.length, 2);
    assert.ok(items[1]?.kind === "command");
    assert.equal(framer.stopped, false);
  });

  test("a line with no line feed past the limit and the slack is a runaway; nothing after it is framed", () => {
    const framer = new CommandFramer({ maxLine: 100, maxLiteral: 10, maxLiterals: 5 });
    const items: FrameItem[] = [];
    let read = 0;
    while (!items.some((item) => item.kind === "error" && item.reason === "runaway") && read < 1024 * 1024) {
      items.push(...frames("x".repeat(100), framer));
      read += 100;
    }
    const bound = 100 + OVERLONG_LINE_SLACK;
    assert.ok(read > bound && read <= bound + 100, `reported after ${read} octets`);
    assert.deepEqual(
      items.map((item) => (item.kind === "error" ? item.reason : item.kind)),
      ["line-too-long", "runaway"],
    );
    assert.equal(framer.stopped, true);
    assert.deepEqual(frames("\r\nt2 NOOP\r\n", framer), []);
    const whole = new CommandFramer({ maxLine: 100, maxLiteral: 10, maxLiterals: 5 });
    assert.deepEqual(
      frames("x".repeat(1024 * 1024), whole).map((item) => (item.kind === "error" ? item.reason : item.kind)),
      ["line-too-long", "runaway"],
      "one chunk past the slack is reported at once",
    );
  });

  test("throws away an oversized non-synchronizing literal, then reads on", () => {
    const framer = new CommandFramer({ maxLine: 1000, maxLiteral: 10, maxLiterals: 5 });
    const items = frames("t1 LOGIN {13+}\r\nt2 NOOP\r\nxx\r\nt3 NOOP\r\n", framer);
    assert.equal(items.length, 2);
    assert.deepEqual(items[0], { kind: "error", tag: "t1", reason: "literal-too-large", limit: 10 });
    const next = items[1];
    assert.ok(next?.kind === "command");
    assert.equal(parseCommand(next.frame).tag, "t3");
  });

  test("APPEND's synchronizing message literal waits for the verdict, then streams past the memory limit", () => {
    const framer = new CommandFramer({ maxLine: 1000, maxLiteral: 10, maxLiterals: 5 });
    const start = frames("t1 APPEND INBOX (\\Seen) {20}\r\n0123456789", framer);
    assert.equal(start.length, 1);
    const announced = start[0];
    assert.ok(announced?.kind === "literal-start");
    assert.equal(announced.size, 20);
    assert.equal(announced.sync, true);
    assert.equal(announced.tag, "t1");
    assert.ok(framer.awaitingVerdict);
    // Bytes sent before the "+" are held, not framed.
    assert.deepEqual(frames("abcdefghij\r\n", framer), []);
    const rest = framer.resolveLiteral(true);
    const data = rest.flatMap((i) => (i.kind === "literal-data" ? [i.data] : []));
    assert.equal(Buffer.concat(data).toString(), "0123456789abcdefghij");
    const last = rest[rest.length - 1];
    assert.ok(last?.kind === "command");
    assert.deepEqual(last.frame.streamed, [0]);
    const parsed = parseCommand(last.frame).command;
    assert.ok(parsed.name === "APPEND");
    assert.deepEqual(parsed.parts[0]?.flags, ["\\Seen"]);
    assert.equal(parsed.parts[0]?.message.length, 0);
  });

  test("MULTIAPPEND: every message literal streams, each announced with its part number", () => {
    const framer = new CommandFramer({ maxLine: 1000, maxLiteral: 4, maxLiterals: 5 });
    const items = frames(
      't1 APPEND INBOX (\\Seen) {10+}\r\n0123456789 "17-Jul-1996 02:44:25 -0700" {6+}\r\nabcdef\r\n',
      framer,
    );
    const starts = items.flatMap((i) => (i.kind === "literal-start" ? [i] : []));
    assert.deepEqual(
      starts.map((s) => [s.part, s.size]),
      [
        [0, 10],
        [1, 6],
      ],
    );
    const last = items[items.length - 1];
    assert.ok(last?.kind === "command");
    assert.deepEqual(last.frame.streamed, [0, 1]);
    const parsed = parseCommand(last.frame).command;
    assert.ok(parsed.name === "APPEND");
    assert.deepEqual(
      parsed.parts.map((p) => [p.flags, p.date?.toISOString() ?? null]),
      [
        [["\\Seen"], null],
        [[], "1996-07-17T09:44:25.000Z"],
      ],
    );
  });

  test("MULTIAPPEND past the literal count limit is refused", () => {
    const framer = new CommandFramer({ maxLine: 1000, maxLiteral: 4, maxLiterals: 2 });
    const items = frames("t1 APPEND INBOX {1+}\r\na {1+}\r\nb {1+}\r\nc\r\nt2 NOOP\r\n", framer);
    assert.ok(items.some((i) => i.kind === "error" && i.reason === "too-many-literals"));
    const last = items[items.length - 1];
    assert.ok(last?.kind === "command");
    assert.equal(parseCommand(last.frame).tag, "t2");
  });

  test("a refused synchronizing APPEND literal is forgotten; the next command is read", () => {
    const framer = new CommandFramer();
    assert.equal(frames("t1 APPEND Nowhere {20}\r\n", framer)[0]?.kind, "literal-start");
    assert.deepEqual(frames("t2 NOOP\r\n", framer), []);
    const next = framer.resolveLiteral(false);
    assert.equal(next.length, 1);
    assert.ok(next[0]?.kind === "command");
    assert.equal(parseCommand(next[0].frame).tag, "t2");
  });

  test("a mailbox literal in APPEND is held; the message literal after it streams", () => {
    const items = frames("t1 APPEND {5+}\r\nINBOX {3+}\r\nabc\r\n");
    assert.deepEqual(
      items.map((i) => i.kind),
      ["literal-start", "literal-data", "command"],
    );
    const last = items[2];
    assert.ok(last?.kind === "command");
    const parsed = parseCommand(last.frame).command;
    assert.ok(parsed.name === "APPEND");
    assert.equal(parsed.mailbox, "INBOX");
  });

  test("fast-check: any split of the input frames the same commands and literal bytes", () => {
    const input = Buffer.from(
      'a LOGIN {5}\r\nalice "pw"\r\nb APPEND INBOX {3+}\r\nabc\r\nc NOOP\r\nd APPEND INBOX {6}\r\nxy\r\nz!\r\n',
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 6 }), (cuts) => {
        const framer = new CommandFramer();
        const points = [...new Set(cuts)].sort((x, y) => x - y);
        const items: FrameItem[] = [];
        let start = 0;
        for (const p of [...points, input.length]) {
          const pending = framer.push(input.subarray(start, p));
          for (let item = pending.shift(); item !== undefined; item = pending.shift()) {
            items.push(item);
            if (item.kind === "literal-start" && item.sync) pending.unshift(...framer.resolveLiteral(true));
          }
          start = p;
        }
        const tags = items.flatMap((i) => (i.kind === "command" ? [parseCommand(i.frame).tag] : []));
        assert.deepEqual(tags, ["a", "b", "c", "d"]);
        assert.equal(items.filter((i) => i.kind === "continue").length, 1);
        const streamed = items.flatMap((i) => (i.kind === "literal-data" ? [i.data] : []));
        assert.equal(Buffer.concat(streamed).toString(), "abcxy\r\nz!");
        assert.deepEqual(
          items.flatMap((i) => (i.kind === "literal-start" ? [[i.tag, i.size, i.sync]] : [])),
          [
            ["b", 3, false],
            ["d", 6, true],
          ],
        );
      }),
      { numRuns: 150 },
    );
  });
});

describe("command parser", () => {
  test("FETCH with sections, partials, BINARY and macros", () => {
    const command = parse(
      "a UID FETCH 1:*,5 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[2] BINARY.SIZE[2] BODY[])",
    );
    assert.ok(command.name === "FETCH");
    assert.equal(command.uid, true);
    assert.deepEqual(command.set, {
      kind: "ranges",
      ranges: [
        { start: 1, end: "*" },
        { start: 5, end: 5 },
      ],
    });
    const kinds = command.items.map((i) =>
      i.kind === "section" || i.kind === "binary" || i.kind === "binary.size" ? i.label : i.kind,
    );
    assert.deepEqual(kinds, [
      "FLAGS",
      "BODY[1.2.HEADER.FIELDS (FROM TO)]<0>",
      "BINARY[2]",
      "BINARY.SIZE[2]",
      "BODY[]",
      "UID",
    ]);
    const section = command.items[1];
    assert.ok(section?.kind === "section");
    assert.deepEqual(section.section, { part: [1, 2], text: "HEADER.FIELDS", fields: ["From", "To"] });
    assert.deepEqual(section.partial, { offset: 0, length: 100 });
    assert.equal(section.peek, true);
    const fast = parse("a FETCH 1 FAST");
    assert.ok(fast.name === "FETCH");
    assert.deepEqual(
      fast.items.map((i) => i.kind),
      ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    );
  });

  test("STORE, COPY, MOVE, UID EXPUNGE and CONDSTORE modifiers", () => {
    assert.deepEqual(parse("a STORE 2:4 (UNCHANGEDSINCE 7) -FLAGS.SILENT (\\Seen $Junk)"), {
      name: "STORE",
      uid: false,
      set: { kind: "ranges", ranges: [{ start: 2, end: 4 }] },
      operation: "remove",
      silent: true,
      flags: ["\\Seen", "$Junk"],
      unchangedSince: 7,
    });
    assert.deepEqual(parse('a UID MOVE $ "Old mail"'), {
      name: "MOVE",
      uid: true,
      set: { kind: "saved" },
      mailbox: "Old mail",
    });
    assert.deepEqual(parse("a UID EXPUNGE 3:5"), {
      name: "UID EXPUNGE",
      set: { kind: "ranges", ranges: [{ start: 3, end: 5 }] },
    });
    const fetch = parse("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12 VANISHED)");
    assert.ok(fetch.name === "FETCH" && fetch.vanished && fetch.changedSince === 12);
  });

  test("SEARCH keys become the shared AST", () => {
    const command = parse(
      'a SEARCH CHARSET UTF-8 OR FROM "bob" NOT SEEN SINCE 1-Feb-2024 2:* UID 5 LARGER 10 (DELETED FLAGGED)',
    );
    assert.ok(command.name === "SEARCH");
    assert.deepEqual(command.key, {
      type: "and",
      keys: [
        {
          type: "or",
          left: { type: "address", field: "from", value: "bob" },
          right: { type: "not", key: { type: "flag", flag: "\\Seen", set: true } },
        },
        { type: "internalDate", op: "since", date: { year: 2024, month: 2, day: 1 } },
        { type: "sequence", set: { kind: "ranges", ranges: [{ start: 2, end: "*" }] } },
        { type: "uid", set: { kind: "ranges", ranges: [{ start: 5, end: 5 }] } },
        { type: "size", op: "larger", octets: 10 },
        {
          type: "and",
          keys: [
            { type: "flag", flag: "\\Deleted", set: true },
            { type: "flag", flag: "\\Flagged", set: true },
          ],
        },
      ],
    });
    const esearch = parse("a UID SEARCH RETURN (MIN COUNT SAVE) MODSEQ 5");
    assert.ok(esearch.name === "SEARCH");
    assert.deepEqual(esearch.returns, ["MIN", "COUNT", "SAVE"]);
    assert.deepEqual(esearch.key, { type: "modseq", modseq: 5n });
    const saved = parse(
      "a SEARCH SAVEDATESUPPORTED SAVEDON 3-Apr-2025 SAVEDBEFORE 4-Apr-2025 SAVEDSINCE 1-Jan-2025",
    );
    assert.ok(saved.name === "SEARCH");
    assert.deepEqual(saved.key, {
      type: "and",
      keys: [
        { type: "all" },
        { type: "savedDate", op: "on", date: { year: 2025, month: 4, day: 3 } },
        { type: "savedDate", op: "before", date: { year: 2025, month: 4, day: 4 } },
        { type: "savedDate", op: "since", date: { year: 2025, month: 1, day: 1 } },
      ],
    });
    const fetch = parse("a UID FETCH 1:* (SAVEDATE)");
    assert.ok(fetch.name === "FETCH");
    assert.deepEqual(fetch.items, [{ kind: "SAVEDATE" }, { kind: "UID" }]);
    const preview = parse("a FETCH 1 (PREVIEW (LAZY) PREVIEW FLAGS)");
    assert.ok(preview.name === "FETCH");
    assert.deepEqual(preview.items, [{ kind: "PREVIEW" }, { kind: "PREVIEW" }, { kind: "FLAGS" }]);
    assert.match(parseError("a FETCH 1 (PREVIEW (LAZY FAST))").message, /PREVIEW modifier FAST/);
  });

  test("LIST-EXTENDED, STATUS, SELECT with QRESYNC, APPEND with date", () => {
    const list = parse('a LIST (SUBSCRIBED) "" ("INBOX" "Work/%") RETURN (CHILDREN STATUS (MESSAGES SIZE))');
    assert.ok(list.name === "LIST");
    assert.deepEqual(list.patterns, ["INBOX", "Work/%"]);
    assert.equal(list.selection.subscribed, true);
    assert.deepEqual(list.returns.status, ["MESSAGES", "SIZE"]);
    assert.deepEqual(parse("a STATUS INBOX (MESSAGES UIDNEXT)"), {
      name: "STATUS",
      mailbox: "INBOX",
      items: ["MESSAGES", "UIDNEXT"],
    });
    const select = parse("a SELECT INBOX (QRESYNC (67890007 715194045000 41:211,214:541))");
    assert.ok(select.name === "SELECT");
    assert.equal(select.condstore, true);
    assert.equal(select.qresync?.uidValidity, 67890007);
    const append = parse('a APPEND Drafts (\\Draft) "17-Jul-1996 02:44:25 -0700" {1+}\r\nx');
    assert.ok(append.name === "APPEND");
    assert.equal(append.parts[0]?.date?.toISOString(), "1996-07-17T09:44:25.000Z");
    assert.deepEqual(append.parts[0]?.flags, ["\\Draft"]);
  });

  test("syntax errors name what was expected and keep the tag", () => {
    assert.equal(parseError("t1 FETCH").tag, "t1");
    assert.match(parseError("t1 FETCH 1 (FLAGS").message, /expected/);
    assert.match(parseError("t1 BOGUS").message, /unknown command BOGUS/);
    assert.match(parseError("t1 FETCH 0 FLAGS").message, /must not be 0/);
    assert.match(parseError('t1 LOGIN "unterminated').message, /unterminated/);
    assert.equal(parseError("t1  NOOP").tag, "t1");
    assert.equal(parseError("t1 SEARCH CHARSET KOI8-R ALL").badCharset, true);
    assert.match(parseError(`t1 SEARCH ${"NOT ".repeat(100)}ALL`).message, /nested too deeply/);
  });

  test("CREATE takes RFC 6154's USE parameter and refuses others", () => {
    assert.deepEqual(parse("t1 CREATE Receipts (USE (\\Archive))"), {
      name: "CREATE",
      mailbox: "Receipts",
      use: ["\\Archive"],
    });
    assert.match(parseError("t1 CREATE Receipts (COLOR red)").message, /unknown CREATE parameter COLOR/);
    assert.match(parseError("t1 CREATE Receipts ()").message, /must not be empty/);
  });

  test('"~" is an atom character everywhere but before a literal8', () => {
    assert.deepEqual(parse("t1 LOGIN ~root pw"), { name: "LOGIN", user: "~root", password: "pw" });
    assert.deepEqual(parse("t1 CREATE ~foo"), { name: "CREATE", mailbox: "~foo", use: [] });
    const list = parse('t1 LIST "" ~foo/%');
    assert.ok(list.name === "LIST");
    assert.deepEqual(list.patterns, ["~foo/%"]);
    const lsub = parse("t1 LSUB ~ ~*");
    assert.ok(lsub.name === "LSUB");
    assert.deepEqual([lsub.reference, lsub.pattern], ["~", "~*"]);
    // RFC 9051 §9: a mailbox is an astring, which has no literal8.
    assert.match(parseError("t1 CREATE ~{3}\r\nabc").message, /unexpected text/);
  });
});

describe("LIST-METADATA (RFC 9590): the METADATA return option", () => {
  function metadataOf(line: string) {
    const list = parse(line);
    assert.ok(list.name === "LIST");
    return list.returns.metadata;
  }

  test("the RFC's plain form, entries lower-cased, GETMETADATA's defaults", () => {
    assert.deepEqual(metadataOf('a LIST "" "*" RETURN (METADATA ("/shared/comment" "/Private/Comment"))'), {
      entries: ["/shared/comment", "/private/comment"],
      maxSize: null,
      depth: 0,
    });
    assert.equal(metadataOf('a LIST "" "*" RETURN (CHILDREN)'), null);
    assert.equal(metadataOf('a LIST "" "*"'), null);
  });

  test("atoms, literals, an entry list, and MAXSIZE and DEPTH bare or in their own list", () => {
    assert.deepEqual(
      metadataOf(
        'a LIST "" * RETURN (METADATA (/private/a {14+}\r\n/shared/vendor (/private/b "/private/c")))',
      ),
      { entries: ["/private/a", "/shared/vendor", "/private/b", "/private/c"], maxSize: null, depth: 0 },
    );
    assert.deepEqual(metadataOf('a LIST "" * RETURN (METADATA (MAXSIZE 100 DEPTH infinity /private/a))'), {
      entries: ["/private/a"],
      maxSize: 100,
      depth: "infinity",
    });
    assert.deepEqual(
      metadataOf('a LIST "" * RETURN (METADATA ((maxsize 5 depth 1) (/private/a /shared/b)))'),
      {
        entries: ["/private/a", "/shared/b"],
        maxSize: 5,
        depth: 1,
      },
    );
  });

  test("combines with selection options and the other return options, in any order", () => {
    const list = parse(
      'a LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (SPECIAL-USE METADATA (/private/a) STATUS (MESSAGES) CHILDREN)',
    );
    assert.ok(list.name === "LIST");
    assert.equal(list.selection.subscribed, true);
    assert.deepEqual(list.returns, {
      subscribed: false,
      children: true,
      specialUse: true,
      status: ["MESSAGES"],
      metadata: { entries: ["/private/a"], maxSize: null, depth: 0 },
    });
  });

  test("bad entry names, options and shapes are BAD", () => {
    const bad = (metadata: string) => parseError(`t1 LIST "" * RETURN (METADATA ${metadata})`).message;
    assert.match(bad("(/other/comment)"), /not under \/private or \/shared/);
    assert.match(bad('("/private/*")'), /not a valid entry name/);
    assert.match(bad("(/private/a/)"), /not a valid entry name/);
    assert.match(bad("(DEPTH 2 /private/a)"), /DEPTH must be 0, 1 or infinity/);
    assert.match(bad("(MAXSIZE big /private/a)"), /expected a size/);
    assert.match(bad("((MAXSIZE 10))"), /names no entries/);
    assert.match(bad("()"), /must not be empty/);
    assert.match(bad("/private/a"), /expected a parenthesised list/);
    // One level of parentheses inside METADATA's own, no deeper.
    assert.match(bad("(((/private/a)))"), /expected an entry name/);
    assert.match(parseError('t1 LIST "" * RETURN (METADATA)').message, /expected a single space/);
  });

  test("fast-check: entries in any spelling and grouping, with options anywhere, parse to the same query", () => {
    const component = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,8}$/);
    const entry = fc
      .tuple(
        fc.constantFrom("/private", "/shared", "/PRIVATE", "/Shared"),
        fc.array(component, { minLength: 1, maxLength: 3 }),
      )
      .map(([root, parts]) => `${root}/${parts.join("/")}`);
    // How one entry is written: an atom, a quoted string or a literal (all astrings, RFC 5464 §5).
    const spelled = fc
      .tuple(entry, fc.constantFrom("atom", "quoted", "literal"))
      .map(([name, form]) =>
        form === "atom" ? name : form === "quoted" ? `"${name}"` : `{${name.length}+}\r\n${name}`,
      );
    const option = fc.oneof(
      fc.nat({ max: 100_000 }).map((n) => ({ text: `MAXSIZE ${n}`, maxSize: n })),
      fc.constantFrom<0 | 1 | "infinity">(0, 1, "infinity").map((d) => ({ text: `DEPTH ${d}`, depth: d })),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Bare entries and options, or (grouped) a parenthesised list of them.
            parts: fc.array(
              fc.oneof(
                spelled.map((text) => ({ kind: "entry" as const, text })),
                option.map((o) => ({ kind: "option" as const, ...o })),
              ),
              { minLength: 1, maxLength: 3 },
            ),
            grouped: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.shuffledSubarray(["CHILDREN", "SPECIAL-USE", "SUBSCRIBED", "STATUS (MESSAGES)"]),
        fc.nat(),
        (items, others, at) => {
          const body = items
            .map(({ parts, grouped }) => {
              const text = parts.map((part) => part.text).join(" ");
              return grouped ? `(${text})` : text;
            })
            .join(" ");
          const returns = [...others];
          returns.splice(at % (others.length + 1), 0, `METADATA (${body})`);
          const expected = {
            entries: [] as string[],
            maxSize: null as number | null,
            depth: 0 as 0 | 1 | "infinity",
          };
          for (const part of items.flatMap(({ parts }) => parts)) {
            if (part.kind === "entry")
              expected.entries.push(part.text.replace(/^\{\d+\+\}\r\n|"/g, "").toLowerCase());
            else if ("maxSize" in part) expected.maxSize = part.maxSize;
            else expected.depth = part.depth;
          }
          const line = `a LIST "" * RETURN (${returns.join(" ")})`;
          if (expected.entries.length === 0) {
            assert.match(parseError(line).message, /names no entries/);
            return;
          }
          const list = parse(line);
          assert.ok(list.name === "LIST");
          assert.deepEqual(list.returns.metadata, expected);
          assert.equal(list.returns.children, others.includes("CHILDREN"));
          assert.deepEqual(list.returns.status, others.includes("STATUS (MESSAGES)") ? ["MESSAGES"] : null);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("CATENATE (RFC 4469) and IMAP URLs (RFC 5092)", () => {
  test("TEXT literals stream like messages; a URL literal is held; the prefix parses up to each TEXT", () => {
    const items = frames(
      "a APPEND INBOX (\\Seen) CATENATE (TEXT {3+}\r\nabc URL {5+}\r\n/x;UI TEXT {2+}\r\nde) {1+}\r\nz\r\n",
    );
    assert.deepEqual(
      items.map((i) => i.kind),
      [
        "literal-start",
        "literal-data",
        "literal-start",
        "literal-data",
        "literal-start",
        "literal-data",
        "command",
      ],
    );
    const starts = items.flatMap((i) => (i.kind === "literal-start" ? [i] : []));
    assert.deepEqual(
      starts.map((i) => [i.part, i.size]),
      [
        [0, 3],
        [1, 2],
        [2, 1],
      ],
    );
    const prefixes = starts.map((start) => {
      const parsed = parseAppendPrefix({
        lines: [...start.frame.lines, Buffer.alloc(0)],
        literals: [...start.frame.literals, Buffer.alloc(0)],
      }).command;
      assert.ok(parsed.name === "APPEND");
      return parsed.parts.map((part) => part.catenate?.map((piece) => piece.kind) ?? "message");
    });
    assert.deepEqual(prefixes, [[["text"]], [["text", "url", "text"]], [["text", "url", "text"], "message"]]);
    const last = items[items.length - 1];
    assert.ok(last?.kind === "command");
    const command = parseCommand(last.frame).command;
    assert.ok(command.name === "APPEND");
    assert.deepEqual(command.parts[0]?.flags, ["\\Seen"]);
    assert.deepEqual(command.parts[0]?.catenate?.[1], { kind: "url", url: "/x;UI" });
    assert.equal(command.parts.length, 2);
  });

  test("URL-only CATENATE parses inside the command; bad cat-parts are BAD", () => {
    const append = parse('a APPEND Drafts CATENATE (URL "/INBOX/;UID=3" URL /a;UIDVALIDITY=1/;UID=2)');
    assert.ok(append.name === "APPEND");
    assert.deepEqual(append.parts[0]?.catenate, [
      { kind: "url", url: "/INBOX/;UID=3" },
      { kind: "url", url: "/a;UIDVALIDITY=1/;UID=2" },
    ]);
    assert.match(parseError("t1 APPEND INBOX CATENATE ()").message, /TEXT or URL/);
    assert.match(parseError('t1 APPEND INBOX CATENATE (TEXT "quoted")').message, /TEXT takes a literal/);
    assert.match(parseError("t1 APPEND INBOX CATENATE (FILE x)").message, /unknown CATENATE part FILE/);
    assert.match(parseError('t1 APPEND INBOX CATENATE (URL "/a/;UID=1"').message, /expected/);
  });

  test("message URLs: mailbox, UIDVALIDITY, UID, section, partial; everything else is null", () => {
    assert.deepEqual(parseMessageUrl("/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2"), {
      mailbox: "INBOX",
      uidValidity: 385759045,
      uid: 20,
      section: { part: [1, 2] },
      partial: null,
    });
    assert.deepEqual(
      parseMessageUrl("/Lists/Caf%C3%A9/;uid=7/;section=HEADER.FIELDS%20(SUBJECT%20FROM)/;partial=10.20"),
      {
        mailbox: "Lists/Café",
        uidValidity: null,
        uid: 7,
        section: { part: [], text: "HEADER.FIELDS", fields: ["SUBJECT", "FROM"] },
        partial: { offset: 10, length: 20 },
      },
    );
    assert.deepEqual(parseMessageUrl("/a;UIDVALIDITY=1/;UID=2/;SECTION=1.MIME")?.section, {
      part: [1],
      text: "MIME",
    });
    for (const url of [
      "imap://bob@example.org/INBOX/;UID=1",
      "//example.org/INBOX/;UID=1",
      "/INBOX",
      "/INBOX;UIDVALIDITY=5",
      "/INBOX;UID=1",
      "/INBOX;UIDVALIDITY=1;UID=1",
      "/INBOX/;UID=0",
      "/INBOX/;UID=99999999999",
      "/INBOX/;UID=1/;SECTION=BOGUS",
      "/INBOX/;UID=1/;SECTION=",
      "/INBOX/;UID=1/;PARTIAL=3.0",
      "/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous:internal:00",
      "/IN%ZZBOX/;UID=1",
      "/IN%00BOX/;UID=1",
      "/%FF/;UID=1",
      "/;UID=1",
      "/INBOX?SUBJECT%20x",
    ]) {
      assert.equal(parseMessageUrl(url), null, url);
    }
    assert.equal(badUrlText("/a]b\r\n/;UID=1"), "/ab/;UID=1");
  });

  test("fast-check: arbitrary URLs never throw; a built one parses back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (url) => {
        const parsed = parseMessageUrl(url);
        assert.ok(parsed === null || parsed.uid > 0);
        assert.doesNotMatch(badUrlText(url), /[\]\r\n\0]/);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
          .filter((name) => !/[\x00-\x1f\x7f]/.test(name)),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        fc.option(fc.integer({ min: 1, max: 2 ** 32 - 1 }), { nil: null }),
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 4 }),
        (mailbox, uid, uidValidity, part) => {
          const validity = uidValidity === null ? "/" : `;UIDVALIDITY=${uidValidity}/`;
          const section = part.length === 0 ? "" : `/;SECTION=${part.join(".")}`;
          const url = `/${encodeURIComponent(mailbox)}${validity};UID=${uid}${section}`;
          assert.deepEqual(parseMessageUrl(url), {
            mailbox,
            uidValidity,
            uid,
            section: part.length === 0 ? null : { part },
            partial: null,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test("absolute IMAP URLs with URLAUTH (RFC 4467 §3, RFC 5092): server, access, expiry, rump and token", () => {
    const rump =
      "imap://joe%40example.com@Mail.Example.com:143/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=1.2;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=submit+joe%40example.com";
    const token = `01${"ab".repeat(32)}`;
    const full = parseImapUrl(`${rump}:internal:${token}`);
    assert.deepEqual(full?.server, { user: "joe@example.com", host: "mail.example.com", port: 143 });
    assert.deepEqual(full?.urlauth, {
      rump,
      access: { kind: "submit", user: "joe@example.com" },
      expire: Date.parse("2030-01-01T00:00:00Z"),
      mechanism: "INTERNAL",
      token: Buffer.from(token, "hex"),
    });
    assert.equal(full?.uid, 20);
    assert.deepEqual(full?.section, { part: [1, 2] });
    const bare = parseImapUrl(rump);
    assert.equal(bare?.urlauth?.mechanism, null);
    assert.equal(bare?.urlauth?.rump, rump);
    assert.deepEqual(parseImapUrl("imap://h.example/INBOX/;UID=3;URLAUTH=AuthUser")?.urlauth?.access, {
      kind: "authuser",
    });
    assert.deepEqual(parseImapUrl("imap://h.example/INBOX/;UID=3")?.server, {
      user: null,
      host: "h.example",
      port: null,
    });
    assert.equal(parseImapUrl("/INBOX/;UID=3")?.server, null);
    for (const url of [
      "/INBOX/;UID=1;URLAUTH=authuser",
      "imap://h.example",
      "imap://u;AUTH=*@h.example/INBOX/;UID=1",
      "imap://@h.example/INBOX/;UID=1",
      "imap://h.example:0/INBOX/;UID=1",
      "imap://h_x/INBOX/;UID=1",
      "imap://h.example/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z",
      "imap://h.example/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=authuser",
      "imap://h.example/INBOX/;UID=1;URLAUTH=somebody",
      "imap://h.example/INBOX/;UID=1;URLAUTH=user+",
      "imap://h.example/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:abcd",
      `imap://h.example/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:${"a".repeat(33)}`,
      "imap://h.example/INBOX/;UID=1;URLAUTH=authuser:INTERNAL",
    ]) {
      assert.equal(parseImapUrl(url), null, url);
    }
  });

  test("fast-check: a built authorized URL parses back to its parts, and its rump is its prefix", () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
          .filter((s) => !/[\x00-\x1f\x7f]/.test(s)),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        fc.constantFrom("authuser", "anonymous", "user+", "submit+"),
        fc.option(fc.uint8Array({ minLength: 16, maxLength: 40 }), { nil: null }),
        (user, uid, access, tokenBytes) => {
          const id = access.endsWith("+") ? `${access}${encodeURIComponent(user)}` : access;
          const rump = `imap://${encodeURIComponent(user)}@host.example/INBOX/;UID=${uid};URLAUTH=${id}`;
          const token = tokenBytes === null ? null : Buffer.from(tokenBytes);
          const url = token === null ? rump : `${rump}:INTERNAL:${token.toString("hex")}`;
          const parsed = parseImapUrl(url);
          assert.equal(parsed?.server?.user, user);
          assert.equal(parsed?.uid, uid);
          assert.equal(parsed?.urlauth?.rump, rump);
          assert.ok(url.startsWith(parsed.urlauth.rump));
          assert.deepEqual(parsed?.urlauth?.token, token);
          const expected = access.endsWith("+") ? { kind: access.slice(0, -1), user } : { kind: access };
          assert.deepEqual(parsed?.urlauth?.access, expected);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 100 }), (tail) => {
        const parsed = parseImapUrl(`imap://${tail}`);
        assert.ok(parsed === null || parsed.server !== null);
      }),
      { numRuns: 500 },
    );
  });

  test("GENURLAUTH, URLFETCH and RESETKEY (RFC 4467 §9)", () => {
    assert.deepEqual(
      parse('a GENURLAUTH "imap://u@h/INBOX/;UID=1;URLAUTH=authuser" internal x INTERNAL "y" internal'),
      {
        name: "GENURLAUTH",
        urls: [
          { rump: "imap://u@h/INBOX/;UID=1;URLAUTH=authuser", mechanism: "INTERNAL" },
          { rump: "x", mechanism: "INTERNAL" },
          { rump: "y", mechanism: "INTERNAL" },
        ],
      },
    );
    assert.deepEqual(parse('a URLFETCH "u1" u2'), { name: "URLFETCH", urls: ["u1", "u2"] });
    assert.deepEqual(parse("a RESETKEY"), { name: "RESETKEY", mailbox: null, mechanisms: [] });
    assert.deepEqual(parse("a RESETKEY INBOX internal XSAMPLE"), {
      name: "RESETKEY",
      mailbox: "INBOX",
      mechanisms: ["INTERNAL", "XSAMPLE"],
    });
    for (const line of [
      "a GENURLAUTH",
      'a GENURLAUTH "u"',
      'a GENURLAUTH "u" "INTERNAL"',
      "a URLFETCH",
      "a RESETKEY INBOX (x)",
    ]) {
      assert.throws(() => parse(line), CommandError, line);
    }
  });

  test("fast-check: arbitrary input never throws anything but ParseError (CommandError from commands)", () => {
    const pieces = fc.constantFrom(
      "TEXT ",
      "URL ",
      "{3}",
      "~{2}",
      "(",
      ")",
      " ",
      '"/INBOX/;UID=1"',
      "CATENATE ",
      "\\Seen",
      "abc",
      "\r\n",
      "\0",
    );
    const tails = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.array(pieces, { maxLength: 12 }).map((parts) => parts.join("")),
    );
    const onlyCommandErrors = (run: () => unknown): void => {
      try {
        run();
      } catch (error) {
        assert.ok(error instanceof CommandError, String(error));
      }
    };
    fc.assert(
      fc.property(tails, fc.uint8Array({ maxLength: 8 }), (tail, literal) => {
        const lines = `a APPEND INBOX CATENATE (${tail}`
          .split("\r\n")
          .map((line) => Buffer.from(line, "latin1"));
        const literals = lines.slice(0, -1).map(() => Buffer.from(literal));
        onlyCommandErrors(() => parseCommand({ lines, literals }));
        onlyCommandErrors(() => parseAppendPrefix({ lines, literals }));
        for (const item of frames(Buffer.from(`a APPEND INBOX CATENATE (${tail}\r\n`, "latin1"))) {
          if (item.kind === "command") onlyCommandErrors(() => parseCommand(item.frame));
          if (item.kind === "literal-start") {
            onlyCommandErrors(() =>
              parseAppendPrefix({
                lines: [...item.frame.lines, Buffer.alloc(0)],
                literals: [...item.frame.literals, Buffer.alloc(0)],
              }),
            );
          }
        }
        try {
          parseSectionText(tail);
        } catch (error) {
          assert.ok(error instanceof ParseError, String(error));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("sequence sets", () => {
  test("membership treats ranges as unordered and * as the highest number", () => {
    const set = parseSequenceSet(new Cursor({ lines: [Buffer.from("4:2,9:*")], literals: [] }));
    assert.deepEqual(
      [1, 2, 3, 4, 5, 9, 12].map((n) => inSequenceSet(set, n, 12)),
      [false, true, true, true, false, true, true],
    );
  });

  test("fast-check: formatSequence round-trips through the parser", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 40 }),
        (numbers) => {
          const text = formatSequence(numbers);
          const set = parseSequenceSet(new Cursor({ lines: [Buffer.from(text)], literals: [] }));
          for (let n = 1; n <= 500; n++) assert.equal(inSequenceSet(set, n, 500), numbers.includes(n));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("values", () => {
  test("quotes safe strings, uses literals otherwise, NIL for null, atoms raw", () => {
    const value: ImapValue = [
      null,
      42,
      'say "hi"',
      "two\r\nlines",
      Buffer.from("ab"),
      { atom: "\\Seen" },
      [],
    ];
    assert.equal(
      encodeValue(value).toString(),
      '(NIL 42 "say \\"hi\\"" {10}\r\ntwo\r\nlines {2}\r\nab \\Seen ())',
    );
  });

  test("fast-check: an encoded string without NUL parses back to the same bytes", () => {
    const noNul = fc.string({ unit: "binary", maxLength: 60 }).filter((text) => !text.includes("\0"));
    fc.assert(
      fc.property(noNul, (text) => {
        const encoded = encodeValue(text);
        const items = new CommandFramer().push(
          Buffer.concat([Buffer.from("a LOGIN "), encoded, Buffer.from(" x\r\n")]),
        );
        const last = items.at(-1);
        assert.ok(last?.kind === "command");
        const command = parseCommand(last.frame).command;
        assert.ok(command.name === "LOGIN");
        assert.equal(command.user, text);
      }),
      { numRuns: 200 },
    );
  });

  test("a NUL in a string goes out as 0x80, since a literal may not carry it (RFC 9051 §4.3)", () => {
    assert.deepEqual(encodeValue("a\0b"), Buffer.from("{3}\r\na\x80b", "latin1"));
    assert.deepEqual(encodeValue(Buffer.from("\0")), Buffer.from("{1}\r\n\x80", "latin1"));
  });
});

describe("modified UTF-7", () => {
  test("matches RFC 3501's example and escapes &", () => {
    assert.equal(encodeMailboxUtf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    assert.equal(encodeMailboxUtf7("A&B"), "A&-B");
    assert.equal(decodeMailboxUtf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
    assert.equal(decodeMailboxUtf7("&Jjo"), null);
    assert.equal(decodeMailboxUtf7("&AGE-"), null, "printable ASCII must not be encoded");
  });

  test("fast-check: decode(encode(name)) is the name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (name) => {
        assert.equal(decodeMailboxUtf7(encodeMailboxUtf7(name)), name);
      }),
      { numRuns: 200 },
    );
  });
});
