// The parser's side of RFC 5267 §4: UPDATE and CONTEXT among SEARCH and SORT return options, and
// CANCELUPDATE with one or more quoted tags; a property test that any tag quoted comes back as sent.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Command, CommandError, parseCommand } from "../../src/imap/protocol/command.js";
import { CommandFramer } from "../../src/imap/protocol/framer.js";

function parse(line: string): Command {
  const item = new CommandFramer().push(Buffer.from(`${line}\r\n`)).find((i) => i.kind === "command");
  assert.ok(item?.kind === "command", `no command framed from ${line}`);
  return parseCommand(item.frame).command;
}

describe("IMAP CONTEXT parsing", () => {
  test("UPDATE and CONTEXT are SEARCH and SORT return options", () => {
    const search = parse("a UID SEARCH RETURN (UPDATE CONTEXT COUNT) FLAGGED");
    assert.ok(search.name === "SEARCH");
    assert.deepEqual(search.returns, ["UPDATE", "CONTEXT", "COUNT"]);
    const sort = parse("b SORT RETURN (UPDATE PARTIAL 1:10) (DATE) UTF-8 ALL");
    assert.ok(sort.name === "SORT");
    assert.deepEqual(sort.returns, ["UPDATE", "PARTIAL"]);
    assert.deepEqual(sort.partial, { first: 1, last: 10, fromEnd: false });
  });

  test("CANCELUPDATE takes one or more tags as strings; none, or a trailing space, is BAD", () => {
    assert.deepEqual(parse('c CANCELUPDATE "A1" "B 2"'), { name: "CANCELUPDATE", tags: ["A1", "B 2"] });
    for (const bad of ["c CANCELUPDATE", 'c CANCELUPDATE "A1" ', "c CANCELUPDATE ()"]) {
      assert.throws(() => parse(bad), CommandError, bad);
    }
  });

  test("property: any printable tag, quoted, comes back from CANCELUPDATE unchanged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[\x20-\x7e]{1,20}$/), { minLength: 1, maxLength: 5 }),
        (tags) => {
          const quoted = tags.map((t) => `"${t.replace(/[\\"]/g, "\\$&")}"`).join(" ");
          assert.deepEqual(parse(`x CANCELUPDATE ${quoted}`), { name: "CANCELUPDATE", tags });
        },
      ),
      { numRuns: 300 },
    );
  });
});
