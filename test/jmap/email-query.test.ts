// Email/query's filters, sorts and thread collapsing (RFC 8621 §4.4) over rows and a fake fact source.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  baseSubject,
  type EmailFacts,
  type QueryEmail,
  type QuerySource,
  readsThreadMates,
  runEmailQuery,
} from "../../src/jmap/email-query.js";
import { MethodError } from "../../src/jmap/errors.js";
import type { Json } from "../../src/jmap/types.js";

const day = (n: number) => Date.UTC(2026, 0, n);

interface Fixture extends QueryEmail {
  facts: Omit<EmailFacts, "header"> & { headers: Record<string, string[]>; hasAttachment: boolean };
  body: string;
}

function email(
  id: string,
  threadId: string,
  mailboxId: string,
  receivedAt: number,
  size: number,
  keywords: string[],
  facts: Partial<Fixture["facts"]>,
  body = "",
): Fixture {
  return {
    id,
    threadId,
    mailboxId,
    receivedAt,
    size,
    keywords: new Set(keywords),
    facts: {
      from: [],
      to: [],
      cc: [],
      bcc: [],
      subject: "",
      sentAt: null,
      hasAttachment: false,
      headers: {},
      ...facts,
    },
    body,
  };
}

const EMAILS: Fixture[] = [
  email(
    "e1",
    "t1",
    "inbox",
    day(1),
    1000,
    ["$seen"],
    {
      from: [{ name: "Alice Ärger", email: "alice@example.org" }],
      subject: "Lunch?",
      sentAt: day(1),
      headers: { "list-id": ["<team.example.org>"] },
    },
    "shall we meet at noon",
  ),
  email(
    "e2",
    "t1",
    "inbox",
    day(3),
    3000,
    [],
    {
      from: [{ name: null, email: "bob@example.net" }],
      to: [{ name: "Alice", email: "alice@example.org" }],
      subject: "Re: Lunch?",
      sentAt: day(3),
    },
    "yes, noon works",
  ),
  email(
    "e3",
    "t2",
    "archive",
    day(2),
    2000,
    ["$seen", "$flagged"],
    {
      from: [{ name: "Carol", email: "carol@example.com" }],
      subject: "[team] Fwd: report",
      hasAttachment: true,
      sentAt: day(2),
    },
    "the quarterly report is attached",
  ),
  email("e4", "t3", "inbox", day(4), 500, ["$seen"], { subject: "zebra", sentAt: null }, ""),
];

const source: QuerySource & { factReads: number } = {
  factReads: 0,
  async facts(row) {
    this.factReads += 1;
    const fixture = row as Fixture;
    return {
      ...fixture.facts,
      header: (name: string) => fixture.facts.headers[name.toLowerCase()] ?? [],
    };
  },
  async hasAttachment(row) {
    return (row as Fixture).facts.hasAttachment;
  },
  async bodyText(row) {
    return (row as Fixture).body;
  },
};

const ids = (query: Parameters<typeof runEmailQuery>[1]) => runEmailQuery(EMAILS, query, source);

describe("Email/query engine", () => {
  test("no filter and no sort: newest first; a mailbox sorted by receivedAt reads no facts", async () => {
    assert.deepEqual(await ids({}), ["e4", "e2", "e3", "e1"]);
    source.factReads = 0;
    assert.deepEqual(
      await ids({ filter: { inMailbox: "inbox" }, sort: [{ property: "receivedAt", isAscending: true }] }),
      ["e1", "e2", "e4"],
    );
    assert.equal(source.factReads, 0);
  });

  test("every condition of §4.4.1 on its own", async () => {
    const cases: Array<[Json, string[]]> = [
      [{ inMailboxOtherThan: ["inbox"] }, ["e3"]],
      [{ before: "2026-01-03T00:00:00Z" }, ["e3", "e1"]],
      [{ after: "2026-01-03T00:00:00Z" }, ["e4", "e2"]],
      [{ minSize: 2000 }, ["e2", "e3"]],
      [{ maxSize: 1000 }, ["e4"]],
      [{ hasKeyword: "$SEEN" }, ["e4", "e3", "e1"]],
      [{ notKeyword: "$seen" }, ["e2"]],
      [{ allInThreadHaveKeyword: "$seen" }, ["e4", "e3"]],
      [{ someInThreadHaveKeyword: "$seen" }, ["e4", "e2", "e3", "e1"]],
      [{ noneInThreadHaveKeyword: "$flagged" }, ["e4", "e2", "e1"]],
      [{ hasAttachment: true }, ["e3"]],
      [{ from: "ärger" }, ["e1"]],
      [{ from: "example.net" }, ["e2"]],
      [{ to: "alice" }, ["e2"]],
      [{ subject: "lunch" }, ["e2", "e1"]],
      [{ body: "NOON" }, ["e2", "e1"]],
      [{ text: "quarterly" }, ["e3"]],
      [{ text: "carol" }, ["e3"]],
      [{ header: ["List-Id"] }, ["e1"]],
      [{ header: ["List-Id", "team.example"] }, ["e1"]],
      [{ header: ["List-Id", "other"] }, []],
    ];
    for (const [filter, expected] of cases)
      assert.deepEqual(await ids({ filter }), expected, JSON.stringify(filter));
  });

  test("AND, OR and NOT nest", async () => {
    assert.deepEqual(
      await ids({
        filter: {
          operator: "AND",
          conditions: [{ inMailbox: "inbox" }, { operator: "NOT", conditions: [{ hasKeyword: "$seen" }] }],
        },
      }),
      ["e2"],
    );
    assert.deepEqual(
      await ids({ filter: { operator: "OR", conditions: [{ minSize: 2500 }, { maxSize: 600 }] } }),
      ["e4", "e2"],
    );
  });

  test("sorts: from by name or address, subject by base subject, sentAt, size, keywords; ties stable", async () => {
    assert.deepEqual(await ids({ sort: [{ property: "from" }] }), ["e4", "e1", "e2", "e3"]);
    assert.deepEqual(await ids({ sort: [{ property: "subject" }] }), ["e2", "e1", "e3", "e4"]);
    assert.deepEqual(await ids({ sort: [{ property: "sentAt", isAscending: false }] }), [
      "e2",
      "e3",
      "e1",
      "e4",
    ]);
    assert.deepEqual(await ids({ sort: [{ property: "size" }] }), ["e4", "e1", "e3", "e2"]);
    assert.deepEqual(
      await ids({ sort: [{ property: "hasKeyword", keyword: "$flagged", isAscending: false }] }),
      ["e3", "e4", "e2", "e1"],
    );
    assert.deepEqual(
      await ids({ sort: [{ property: "someInThreadHaveKeyword", keyword: "$seen" }, { property: "size" }] }),
      ["e4", "e1", "e3", "e2"],
    );
  });

  test("collapseThreads keeps the first email of each thread in the sorted order", async () => {
    assert.deepEqual(await ids({ collapseThreads: true }), ["e4", "e2", "e3"]);
    assert.deepEqual(
      await ids({ collapseThreads: true, sort: [{ property: "receivedAt", isAscending: true }] }),
      ["e1", "e3", "e4"],
    );
  });

  test("unknown conditions, bad values and unknown sorts are the RFC's errors", async () => {
    const expectError = async (query: Parameters<typeof runEmailQuery>[1], type: string) => {
      await assert.rejects(
        ids(query),
        (error: unknown) => error instanceof MethodError && error.type === type,
      );
    };
    await expectError({ filter: { color: "red" } }, "unsupportedFilter");
    await expectError({ filter: { before: "yesterday" } }, "unsupportedFilter");
    await expectError({ filter: { hasKeyword: "a b" } }, "unsupportedFilter");
    await expectError({ filter: { operator: "XOR", conditions: [] } }, "unsupportedFilter");
    await expectError({ sort: [{ property: "color" }] }, "unsupportedSort");
    await expectError({ sort: [{ property: "subject", collation: "i;octet" }] }, "unsupportedSort");
    await expectError({ sort: [{ property: "hasKeyword" }] }, "invalidArguments");
    await expectError({ filter: [] as never }, "invalidArguments");
  });

  test("only thread-keyword conditions and sorts need the emails outside the queried ones", () => {
    assert.equal(readsThreadMates({ filter: { inMailbox: "M1" }, collapseThreads: true }), false);
    assert.equal(readsThreadMates({ sort: [{ property: "receivedAt" }] }), false);
    assert.equal(
      readsThreadMates({
        filter: { operator: "AND", conditions: [{ inMailbox: "M1" }, { noneInThreadHaveKeyword: "$seen" }] },
      }),
      true,
    );
    assert.equal(
      readsThreadMates({ sort: [{ property: "someInThreadHaveKeyword", keyword: "$flagged" }] }),
      true,
    );
  });

  test("base subject removes reply and forward markers and list tags (RFC 5256 §2.1)", () => {
    assert.equal(baseSubject("Re: Re: [list] Fwd: hello (fwd)"), "hello");
    assert.equal(baseSubject("RE[2]: status"), "status");
    assert.equal(baseSubject("[Fwd: a note]"), "a note");
    assert.equal(baseSubject("  plain   subject "), "plain subject");
  });

  test("text conditions ask a source's index, once per email, and read no facts or bodies", async () => {
    const asked: string[] = [];
    const indexed: QuerySource = {
      ...source,
      async facts() {
        throw new Error("facts read");
      },
      async bodyText() {
        throw new Error("body read");
      },
      async search(row, fields, text) {
        asked.push(`${row.id} ${fields.join("+")} ${text}`);
        return row.id === "e3" && fields.join("+") === "body" && text === "quarterly rep";
      },
    };
    const filter: Json = { operator: "OR", conditions: [{ body: "quarterly rep" }, { subject: "zzz" }] };
    assert.deepEqual(await runEmailQuery(EMAILS, { filter }, indexed), ["e3"]);
    assert.ok(asked.includes("e1 subject zzz") && asked.includes("e3 body quarterly rep"));
    assert.ok(!asked.includes("e3 subject zzz"), "OR stops at the first match");
    await runEmailQuery(EMAILS, { filter: { text: "noon" } }, indexed);
    assert.ok(
      asked.includes("e1 subject+from+to+cc+bcc+body noon"),
      "text: headers and body, not attached messages",
    );
    // A text without words is no index query: it is a substring of what the headers say.
    const wordless = { ...indexed, facts: source.facts };
    assert.deepEqual(await runEmailQuery(EMAILS, { filter: { subject: "?" } }, wordless), ["e2", "e1"]);
  });
});
