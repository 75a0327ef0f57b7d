import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  addressOf,
  formatMailbox,
  type Group,
  type Mailbox,
  mailboxAddress,
  parseAddresses,
  parseAddressList,
} from "../../src/mail/address-list.js";
import { decodeEncodedWords } from "../../src/mail/mime/encoded-words.js";

const ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-";
const atom = fc.string({ unit: fc.constantFrom(...ATEXT), minLength: 1, maxLength: 8 });
const dotAtom = fc.array(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join("."));
const quotedString = fc
  .string({ unit: fc.constantFrom(...' @.,;:<>()[]ab\\"'), maxLength: 10 })
  .map((text) => `"${text.replace(/["\\]/g, "\\$&")}"`);
const local = fc.oneof(dotAtom, quotedString);
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const domain = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join(".")),
  fc.ipV4().map((ip) => `[${ip}]`),
);
// Names the way formatMailbox is given them: no line breaks, no surrounding space. An ASCII name that
// looks like an encoded word would be decoded by a reader, so it is not a name this round trip can keep.
const name = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  )
  .filter((text) => text === text.replace(/[\r\n]/g, " ").trim() && text !== "")
  .filter((text) => /[^\x20-\x7e]/.test(text) || !text.includes("=?"));

const mailbox: fc.Arbitrary<Mailbox> = fc.record(
  { name: fc.option(name), local, domain },
  { noNullPrototype: true },
);
const group: fc.Arbitrary<Group> = fc.record(
  {
    group: fc.array(atom, { minLength: 1, maxLength: 3 }).map((atoms) => atoms.join(" ")),
    mailboxes: fc.array(mailbox, { maxLength: 3 }),
  },
  { noNullPrototype: true },
);
const list = fc.array(fc.oneof(mailbox, group), { maxLength: 4 });

/** A mailbox as a header would carry it: "Name <addr>", "<addr>", or a bare addr-spec. */
function formatEntry(entry: Mailbox, bare: boolean): string {
  const address = mailboxAddress(entry);
  return entry.name === null && bare ? address : formatMailbox(entry.name, address);
}

function formatList(entries: ReadonlyArray<Mailbox | Group>, bare: boolean): string {
  return entries
    .map((entry) =>
      "group" in entry
        ? `${entry.group}: ${entry.mailboxes.map((m) => formatEntry(m, bare)).join(", ")};`
        : formatEntry(entry, bare),
    )
    .join(", ");
}

/** Names decoded, as a reader displaying them sees them. */
function decoded(entries: ReadonlyArray<Mailbox | Group>): Array<Mailbox | Group> {
  const one = (m: Mailbox): Mailbox => ({ ...m, name: m.name === null ? null : decodeEncodedWords(m.name) });
  return entries.map((entry) =>
    "group" in entry ? { group: entry.group, mailboxes: entry.mailboxes.map(one) } : one(entry),
  );
}

describe("address lists: properties", () => {
  test("parse(format(list)) gives the list back: names, local parts as written, domains, groups", () => {
    fc.assert(
      fc.property(list, fc.boolean(), (entries, bare) => {
        assert.deepEqual(decoded(parseAddressList(formatList(entries, bare))), entries);
      }),
      { numRuns: 300 },
    );
  });

  test("parseAddresses gives every address of the list, groups flattened, in order", () => {
    fc.assert(
      fc.property(list, fc.boolean(), (entries, bare) => {
        const flat = entries.flatMap((entry) => ("group" in entry ? entry.mailboxes : [entry]));
        assert.deepEqual(parseAddresses(formatList(entries, bare)), flat.map(mailboxAddress));
      }),
      { numRuns: 200 },
    );
  });

  test("any text parses without throwing, into addresses that all have an @", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...' \t"()<>@,;:.[]\\ab=?'), maxLength: 40 }), (text) => {
        for (const address of parseAddresses(text)) assert.ok(address.includes("@"), address);
        for (const entry of parseAddressList(text)) {
          const mailboxes = "group" in entry ? entry.mailboxes : [entry];
          for (const m of mailboxes) assert.ok(m.domain !== null || m.local !== "" || m.name !== null);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("address lists: examples", () => {
  test("a dot in an unquoted name joins the word before it; quoted names are kept as they are", () => {
    assert.deepEqual(parseAddressList("Smith Jr. <js@example.org>"), [
      { name: "Smith Jr.", local: "js", domain: "example.org" },
    ]);
    assert.deepEqual(parseAddressList('"a . b" <ab@example.org>'), [
      { name: "a . b", local: "ab", domain: "example.org" },
    ]);
  });

  test("text without an @ is a mailbox without a domain, which parseAddresses leaves out", () => {
    assert.deepEqual(parseAddressList("root, Name <>"), [
      { name: null, local: "root", domain: null },
      { name: "Name", local: "", domain: null },
    ]);
    assert.deepEqual(parseAddresses("root, Name <>, not an address"), []);
    assert.equal(addressOf("root"), "root");
    assert.equal(addressOf(" Bob <bob@example.org> "), "bob@example.org");
  });

  test("a source route is kept apart from the address, which parseAddresses gives bare", () => {
    assert.deepEqual(parseAddressList("Joe <@a.example,@b.example:joe@example.org>"), [
      { name: "Joe", local: "joe", domain: "example.org", route: "@a.example,@b.example" },
    ]);
    assert.deepEqual(parseAddresses("<@a.example:joe@example.org>"), ["joe@example.org"]);
  });

  test("an empty group is kept as a group, and flattens to nothing", () => {
    assert.deepEqual(parseAddressList("undisclosed-recipients:;"), [
      { group: "undisclosed-recipients", mailboxes: [] },
    ]);
    assert.deepEqual(parseAddresses("undisclosed-recipients:;, a@b"), ["a@b"]);
  });

  test("formatMailbox quotes ASCII names and encodes others", () => {
    assert.equal(formatMailbox(null, "a@b"), "<a@b>");
    assert.equal(formatMailbox('Say "hi"\r\n', "a@b"), '"Say \\"hi\\"" <a@b>');
    assert.equal(formatMailbox("Jörg", "j@b"), "=?UTF-8?B?SsO2cmc=?= <j@b>");
  });
});
