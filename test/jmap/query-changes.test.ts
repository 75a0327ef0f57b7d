// /queryChanges (RFC 8620 §5.6) as a property: for any records, any sort key and any set of changes
// (created, destroyed, re-keyed, filtered in or out), the removed/added computed from the new result
// and the changed ids, applied to the old result, give the new result.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { applyQueryChanges, queryChangesOf } from "../../src/jmap/query-changes.js";

interface Row {
  key: number;
  matches: boolean;
}

function query(rows: ReadonlyMap<string, Row>): string[] {
  return [...rows]
    .filter(([, row]) => row.matches)
    .sort(([a, x], [b, y]) => x.key - y.key || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id]) => id);
}

const row = fc.record({ key: fc.integer({ min: 0, max: 5 }), matches: fc.boolean() });
const rows = fc.dictionary(fc.stringMatching(/^E[a-f]{1,2}$/), row);
const change = fc.tuple(fc.stringMatching(/^E[a-f]{1,2}$/), fc.option(row));

test("applying queryChanges' removed/added to the old result gives the new result", () => {
  fc.assert(
    fc.property(rows, fc.array(change, { maxLength: 12 }), (before, changes) => {
      const old = new Map(Object.entries(before));
      const now = new Map(old);
      const changed = new Set<string>();
      for (const [id, next] of changes) {
        changed.add(id);
        if (next === null) now.delete(id);
        else now.set(id, next);
      }
      const newIds = query(now);
      assert.deepEqual(applyQueryChanges(query(old), queryChangesOf(newIds, changed)), newIds);
    }),
  );
});

test("an unchanged result answers nothing removed and nothing added", () => {
  assert.deepEqual(queryChangesOf(["Ea", "Eb"], new Set()), { removed: [], added: [] });
});
