// SORT and THREAD through an IMAP session on a real store, against a straightforward evaluation of RFC
// 5256 written from its text here: random mailboxes whose subjects carry Re:/Fwd:/[tags]/(fwd), whose
// dates are readable, unreadable or missing and often equal, whose Message-IDs are missing or repeated
// and whose references loop. Each mailbox is asked three times: the first SORT/THREAD finds the sort
// inputs from the header blocks, the second takes them from the process's cache, the third (a session
// on a fresh cache) from what the store kept.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { SORT_KEYS, type SortCriterion, type SortKey } from "../../../src/imap/protocol/command.js";
import { foldCase } from "../../../src/mail/search-match.js";
import type { Store } from "../../../src/store/types.js";
import { spyStore } from "../../support/store-spy.js";
import { createFixture, type ImapFixture, SessionDriver } from "../fixtures.js";

interface Address {
  name: string | null;
  local: string;
  domain: string;
}

interface Generated {
  subject: string | null;
  /** Minutes after a fixed time and the zone offset in minutes; "garbage" for an unreadable Date. */
  date: { minutes: number; offset: number } | "garbage" | null;
  internalMinutes: number;
  messageId: string | null;
  references: string[] | null;
  inReplyTo: string[] | null;
  from: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
}

const BASE = Date.UTC(2024, 1, 6, 9, 0, 0);
const IDS = ["a@x", "b@x", "c@x", "d@x", "e@x", "f@x"];

const address = fc.record({
  name: fc.option(fc.constantFrom("Amy Pond", "bob", "Zed", "Émile", "amy pond"), { nil: null }),
  local: fc.constantFrom("amy", "Bob", "zed", "emile", "carl"),
  domain: fc.constantFrom("example.org", "Example.COM"),
});
const addresses = fc.option(fc.array(address, { minLength: 1, maxLength: 2 }), { nil: null });
const subjectPart = fc.constantFrom(
  "Re:",
  "RE: ",
  "re :",
  "Fwd:",
  "Fw: ",
  "fwd[x]:",
  "[list] ",
  "[fwd: ",
  "]",
  " (fwd)",
  "  ",
  "\t",
  "plans",
  "Plans",
  "ünïcode",
  "a",
);
const generated: fc.Arbitrary<Generated> = fc.record({
  subject: fc.option(
    fc.array(subjectPart, { maxLength: 6 }).map((parts) => parts.join("")),
    { nil: null },
  ),
  date: fc.oneof(
    fc.record({ minutes: fc.integer({ min: 0, max: 6 }), offset: fc.constantFrom(0, 60, -90) }),
    fc.constant("garbage" as const),
    fc.constant(null),
  ),
  internalMinutes: fc.integer({ min: 0, max: 6 }),
  messageId: fc.option(fc.constantFrom(...IDS), { nil: null }),
  references: fc.option(fc.uniqueArray(fc.constantFrom(...IDS), { maxLength: 4 }), { nil: null }),
  inReplyTo: fc.option(fc.array(fc.constantFrom(...IDS), { minLength: 1, maxLength: 2 }), { nil: null }),
  from: addresses,
  to: addresses,
  cc: addresses,
});

function formatAddresses(list: Address[]): string {
  return list
    .map((a) => (a.name === null ? `${a.local}@${a.domain}` : `"${a.name}" <${a.local}@${a.domain}>`))
    .join(", ");
}

function formatDate(minutes: number, offset: number): string {
  const local = new Date(BASE + minutes * 60_000 + offset * 60_000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n: number) => String(n).padStart(2, "0");
  const sign = offset < 0 ? "-" : "+";
  const zone = `${sign}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return `${days[local.getUTCDay()]}, ${two(local.getUTCDate())} ${months[local.getUTCMonth()]} ${local.getUTCFullYear()} ${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())} ${zone}`;
}

function render(m: Generated): string {
  const lines: string[] = [];
  if (m.from !== null) lines.push(`From: ${formatAddresses(m.from)}`);
  if (m.to !== null) lines.push(`To: ${formatAddresses(m.to)}`);
  if (m.cc !== null) lines.push(`Cc: ${formatAddresses(m.cc)}`);
  if (m.subject !== null) lines.push(`Subject: ${m.subject}`);
  if (m.date === "garbage") lines.push("Date: not a date");
  else if (m.date !== null) lines.push(`Date: ${formatDate(m.date.minutes, m.date.offset)}`);
  if (m.messageId !== null) lines.push(`Message-ID: <${m.messageId}>`);
  if (m.inReplyTo !== null) lines.push(`In-Reply-To: ${m.inReplyTo.map((id) => `<${id}>`).join(" ")}`);
  if (m.references !== null) lines.push(`References: ${m.references.map((id) => `<${id}>`).join(" ")}`);
  return `${lines.map((line) => `${line}\r\n`).join("")}\r\nHi.\r\n`;
}

// ---- the reference: RFC 5256 read plainly ----

interface Ref {
  seq: number;
  uid: number;
  size: number;
  arrival: number;
  sent: number;
  base: string;
  isReply: boolean;
  from: string;
  to: string;
  cc: string;
  displayFrom: string;
  displayTo: string;
  id: string | null;
  refs: string[];
}

/** §2.1 over the generator's subjects (no encoded words), step by step. */
function referenceBaseSubject(raw: string): { base: string; isReply: boolean } {
  let s = raw.replace(/[\t ]+/g, " ");
  let isReply = false;
  for (;;) {
    // (2) subj-trailer = "(fwd)" / WSP, removed as long as any is left.
    for (;;) {
      if (s.endsWith(" ")) s = s.slice(0, -1);
      else if (s.toLowerCase().endsWith("(fwd)")) {
        s = s.slice(0, -5);
        isReply = true;
      } else break;
    }
    // (3)-(5) subj-leader = (*subj-blob subj-refwd) / WSP; a leading subj-blob when text is left.
    for (let changed = true; changed; ) {
      changed = false;
      const leader = /^(\[[^[\]]*\] *)*(re|fwd?) *(\[[^[\]]*\] *)?:/i.exec(s);
      if (leader) {
        s = s.slice(leader[0].length);
        isReply = true;
        changed = true;
      } else if (s.startsWith(" ")) {
        s = s.slice(1);
        changed = true;
      }
      const blob = /^\[[^[\]]*\] */.exec(s);
      if (blob && s.slice(blob[0].length).replace(/ /g, "") !== "") {
        s = s.slice(blob[0].length);
        changed = true;
      }
    }
    // (6) subj-fwd-hdr "[fwd:" and subj-fwd-trl "]" around the rest: taken off, and again from (2).
    if (s.toLowerCase().startsWith("[fwd:") && s.endsWith("]")) {
      s = s.slice(5, -1);
      isReply = true;
      continue;
    }
    return { base: foldCase(s), isReply };
  }
}

function referenceMessage(m: Generated, seq: number, uid: number, size: number): Ref {
  const arrival = BASE + m.internalMinutes * 60_000;
  const sent = m.date === null || m.date === "garbage" ? arrival : BASE + m.date.minutes * 60_000;
  const { base, isReply } = referenceBaseSubject(m.subject ?? "");
  const first = (list: Address[] | null) => list?.[0];
  const display = (a: Address | undefined) =>
    a === undefined ? "" : foldCase(a.name ?? `${a.local}@${a.domain}`);
  // §3 step 1: the References ids, else In-Reply-To's first.
  const refs =
    m.references !== null && m.references.length > 0 ? m.references : (m.inReplyTo ?? []).slice(0, 1);
  return {
    seq,
    uid,
    size,
    arrival,
    sent,
    base,
    isReply,
    from: foldCase(first(m.from)?.local ?? ""),
    to: foldCase(first(m.to)?.local ?? ""),
    cc: foldCase(first(m.cc)?.local ?? ""),
    displayFrom: display(first(m.from)),
    displayTo: display(first(m.to)),
    id: m.messageId,
    refs,
  };
}

function referenceSort(messages: readonly Ref[], criteria: readonly SortCriterion[]): Ref[] {
  const value = (m: Ref, key: SortKey): number | string =>
    ({
      ARRIVAL: m.arrival,
      CC: m.cc,
      DATE: m.sent,
      FROM: m.from,
      SIZE: m.size,
      SUBJECT: m.base,
      TO: m.to,
      DISPLAYFROM: m.displayFrom,
      DISPLAYTO: m.displayTo,
    })[key];
  return [...messages].sort((a, b) => {
    for (const { key, reverse } of criteria) {
      const x = value(a, key);
      const y = value(b, key);
      if (x !== y) return (x < y ? -1 : 1) * (reverse ? -1 : 1);
    }
    return a.seq - b.seq;
  });
}

interface Container {
  message: Ref | null;
  parent: Container | null;
  children: Container[];
}

const container = (message: Ref | null): Container => ({ message, parent: null, children: [] });

function setParent(child: Container, parent: Container | null): void {
  if (child.parent !== null) child.parent.children = child.parent.children.filter((c) => c !== child);
  child.parent = parent;
  if (parent !== null) parent.children.push(child);
}

function isUnder(a: Container, b: Container): boolean {
  for (let c: Container | null = a; c !== null; c = c.parent) if (c === b) return true;
  return false;
}

/** §2.2: a message's sent date, ties by sequence number; a dummy by its first child. */
function firstMessage(c: Container): Ref {
  return c.message ?? firstMessage(c.children[0] as Container);
}
function bySent(a: Container, b: Container): number {
  const x = firstMessage(a);
  const y = firstMessage(b);
  return x.sent - y.sent || x.seq - y.seq;
}

function referenceReferences(messages: readonly Ref[]): Container {
  const table = new Map<string, Container>();
  const all: Container[] = [];
  const lookup = (id: string) => {
    let c = table.get(id);
    if (c === undefined) {
      c = container(null);
      table.set(id, c);
      all.push(c);
    }
    return c;
  };
  // (1) in mailbox order.
  for (const m of messages) {
    let own: Container;
    const held = m.id === null ? undefined : table.get(m.id);
    if (m.id !== null && (held === undefined || held.message === null)) {
      own = lookup(m.id);
      own.message = m;
    } else {
      // A missing or repeated Message-ID: a unique one, which nothing refers to.
      own = container(m);
      all.push(own);
    }
    // (1A) each reference the parent of the next, unless it has a parent or a loop would come of it.
    for (let i = 0; i + 1 < m.refs.length; i++) {
      const parent = lookup(m.refs[i] as string);
      const child = lookup(m.refs[i + 1] as string);
      if (child.parent === null && !isUnder(parent, child)) setParent(child, parent);
    }
    // (1B) the last reference the message's parent, the old link broken, no loop.
    const last = m.refs.length === 0 ? null : lookup(m.refs[m.refs.length - 1] as string);
    setParent(own, null);
    if (last !== null && !isUnder(last, own)) setParent(own, last);
  }
  // (2) the parentless under a root.
  const root = container(null);
  for (const c of all) if (c.parent === null) setParent(c, root);
  // (4) dummies pruned, from the leaves up.
  const prune = (parent: Container): void => {
    for (const child of [...parent.children]) prune(child);
    const kept: Container[] = [];
    for (const child of parent.children) {
      if (child.message !== null) kept.push(child);
      else if (child.children.length === 0) continue;
      else if (parent !== root || child.children.length === 1) {
        for (const grandchild of child.children) {
          grandchild.parent = parent;
          kept.push(grandchild);
        }
      } else kept.push(child);
    }
    parent.children = kept;
  };
  prune(root);
  // (5) the top level by sent date, a dummy's children first.
  for (const top of root.children) if (top.message === null) top.children.sort(bySent);
  root.children.sort(bySent);
  // (6) threads of one subject gathered.
  const subjectOf = (c: Container) => firstMessage(c).base;
  const reply = (c: Container) => c.message?.isReply === true;
  const subjects = new Map<string, Container>();
  for (const top of root.children) {
    const subject = subjectOf(top);
    if (subject === "") continue;
    const held = subjects.get(subject);
    if (held === undefined) subjects.set(subject, top);
    else if (held.message !== null && (top.message === null || (reply(held) && !reply(top)))) {
      subjects.set(subject, top);
    }
  }
  for (const top of [...root.children]) {
    if (top.parent !== root) continue;
    const subject = subjectOf(top);
    if (subject === "") continue;
    const held = subjects.get(subject) as Container;
    if (held === top) continue;
    if (held.message === null && top.message === null) {
      for (const child of [...top.children]) setParent(child, held);
      setParent(top, null);
    } else if (held.message === null || (reply(top) && !reply(held))) {
      setParent(top, held);
    } else {
      const dummy = container(null);
      setParent(dummy, root);
      setParent(held, dummy);
      setParent(top, dummy);
      subjects.set(subject, dummy);
    }
  }
  // (7) every set of siblings by sent date, the deepest first.
  const sortAll = (c: Container): void => {
    for (const child of c.children) sortAll(child);
    c.children.sort(bySent);
  };
  sortAll(root);
  return root;
}

function referenceOrderedSubject(messages: readonly Ref[]): Container {
  const sorted = [...messages].sort((a, b) =>
    a.base !== b.base ? (a.base < b.base ? -1 : 1) : a.sent - b.sent || a.seq - b.seq,
  );
  const root = container(null);
  let first: Container | null = null;
  for (const m of sorted) {
    const c = container(m);
    if (first !== null && (first.message as Ref).base === m.base) setParent(c, first);
    else {
      setParent(c, root);
      first = c;
    }
  }
  root.children.sort(bySent);
  return root;
}

/** §4: "(a b (c)(d))": a parent and an only child in one list, several children each in their own. */
function referenceFormat(root: Container, number: (m: Ref) => number): string {
  const thread = (c: Container): string => {
    const chain: number[] = [];
    let n = c;
    if (n.message !== null) {
      chain.push(number(n.message));
      while (n.children.length === 1) {
        n = n.children[0] as Container;
        chain.push(number(n.message as Ref));
      }
    }
    const rest = n.children.map(thread).join("");
    return `(${chain.join(" ")}${chain.length > 0 && rest !== "" ? " " : ""}${rest})`;
  };
  return root.children.map(thread).join("");
}

// ---- the property ----

let fixture: ImapFixture;
before(async () => {
  fixture = await createFixture();
});
after(async () => {
  await fixture.cleanup();
});

let mailboxes = 0;

async function session(store: Store, mailbox: string): Promise<SessionDriver> {
  const driver = new SessionDriver({ ...fixture, store });
  await driver.login();
  assert.match(await driver.command(`S1 SELECT ${mailbox}`), /S1 OK/);
  return driver;
}

const criterion = fc.record({ key: fc.constantFrom(...SORT_KEYS), reverse: fc.boolean() });

describe("SORT and THREAD against a plain RFC 5256 evaluation", () => {
  test("random mailboxes: the same answers cold, from the cache and from the store", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(generated, { minLength: 1, maxLength: 14 }),
        fc.array(criterion, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (list, criteria, uid) => {
          const name = `M${++mailboxes}`;
          const mailbox = await fixture.store.mailboxes.createMailbox(fixture.userId, name);
          const refs: Ref[] = [];
          for (const m of list) {
            const bytes = Buffer.from(render(m), "utf8");
            const writer = await fixture.store.blobs.createBlobWriter();
            await writer.write(bytes);
            const blob = await writer.finish();
            const result = await fixture.store.messages.deliver({
              blob,
              sender: "",
              internalDate: new Date(BASE + m.internalMinutes * 60_000),
              mailboxes: [{ mailboxId: mailbox.id }],
              queue: [],
            });
            const placed = result.uids[0]?.uid as number;
            refs.push(referenceMessage(m, refs.length + 1, placed, bytes.length));
          }
          const number = (m: Ref) => (uid ? m.uid : m.seq);
          const prefix = uid ? "UID " : "";
          const sortLine = `${prefix}SORT (${criteria.map((c) => `${c.reverse ? "REVERSE " : ""}${c.key}`).join(" ")}) UTF-8 ALL`;
          const expected = {
            sort: `* SORT${referenceSort(refs, criteria)
              .map((m) => ` ${number(m)}`)
              .join("")}\r\n`,
            references: `* THREAD ${referenceFormat(referenceReferences(refs), number)}\r\n`,
            orderedSubject: `* THREAD ${referenceFormat(referenceOrderedSubject(refs), number)}\r\n`,
          };
          const ask = async (driver: SessionDriver) => {
            const answer = (line: string) =>
              driver.command(`T1 ${line}`).then((text) => text.slice(0, text.indexOf("T1 ")));
            return {
              sort: await answer(sortLine),
              references: await answer(`${prefix}THREAD REFERENCES UTF-8 ALL`),
              orderedSubject: await answer(`${prefix}THREAD ORDEREDSUBJECT UTF-8 ALL`),
            };
          };
          const first = await session(fixture.store, name);
          assert.deepEqual(await ask(first), expected, "found from the header blocks");
          assert.deepEqual(await ask(first), expected, "from the process's cache");
          // A store object of its own has caches of its own (they are kept per store): what it
          // answers comes from the sort inputs the first session had the store keep.
          await new Promise((resolve) => setTimeout(resolve, 20));
          const fresh = await session(spyStore(fixture.store, {}), name);
          assert.deepEqual(await ask(fresh), expected, "from the store's kept inputs");
        },
      ),
      { numRuns: 40 },
    );
  });
});
