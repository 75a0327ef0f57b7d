// JSON Pointer with JMAP's "*" (RFC 6901, RFC 8620 §3.7), checked against a direct walk of generated
// documents, and on the cases the RFCs spell out.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { evaluatePointer, PointerError, parsePointer } from "../../src/jmap/pointer.js";
import type { Json } from "../../src/jmap/types.js";

const encode = (tokens: readonly string[]) =>
  tokens.map((token) => `/${token.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");

/** Every path into `value` with its target, found by walking it directly. */
function paths(value: Json, prefix: string[] = []): Array<[string[], Json]> {
  const here: Array<[string[], Json]> = [[prefix, value]];
  if (Array.isArray(value)) {
    return here.concat(value.flatMap((item, index) => paths(item, [...prefix, String(index)])));
  }
  if (value !== null && typeof value === "object") {
    return here.concat(Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key])));
  }
  return here;
}

const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;

describe("JSON Pointer", () => {
  test("every path of a generated document resolves to what a direct walk finds", () => {
    fc.assert(
      fc.property(json, (document) => {
        for (const [tokens, target] of paths(document)) {
          assert.deepEqual(evaluatePointer(document, encode(tokens)), target);
        }
      }),
    );
  });

  test("parsePointer undoes the escaping of any key, slashes and tildes included", () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (tokens) => {
        assert.deepEqual(parsePointer(encode(tokens)), tokens);
      }),
    );
  });

  test("RFC 6901 §5 examples", () => {
    const document: Json = { foo: ["bar", "baz"], "": 0, "a/b": 1, "m~n": 8, " ": 7 };
    assert.deepEqual(evaluatePointer(document, ""), document);
    assert.deepEqual(evaluatePointer(document, "/foo"), ["bar", "baz"]);
    assert.equal(evaluatePointer(document, "/foo/0"), "bar");
    assert.equal(evaluatePointer(document, "/"), 0);
    assert.equal(evaluatePointer(document, "/a~1b"), 1);
    assert.equal(evaluatePointer(document, "/m~0n"), 8);
    assert.equal(evaluatePointer(document, "/ "), 7);
    assert.deepEqual(parsePointer("/~01"), ["~1"]);
  });

  test('"*" maps over an array and flattens array results (RFC 8620 §3.7)', () => {
    const document: Json = {
      list: [{ ids: ["a", "b"] }, { ids: ["c"] }, { ids: [] }],
      names: [{ n: 1 }, { n: 2 }],
    };
    assert.deepEqual(evaluatePointer(document, "/list/*/ids"), ["a", "b", "c"]);
    assert.deepEqual(evaluatePointer(document, "/names/*/n"), [1, 2]);
    assert.deepEqual(evaluatePointer(document, "/list/*"), [
      { ids: ["a", "b"] },
      { ids: ["c"] },
      { ids: [] },
    ]);
  });

  test("paths that name nothing are PointerErrors, never a crash", () => {
    const document: Json = { a: [1, 2], s: "text", z: null };
    for (const pointer of ["a", "/b", "/a/2", "/a/01", "/a/-", "/s/0", "/z/x", "/a/x", "/~2", "/*"]) {
      assert.throws(() => evaluatePointer(document, pointer), PointerError, pointer);
    }
  });
});
