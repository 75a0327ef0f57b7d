import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { bodyStructureOf } from "../../../src/imap/mime/bodystructure.js";
import { envelopeOf } from "../../../src/imap/mime/envelope.js";
import { encodeValue } from "../../../src/imap/protocol/value.js";
import { parseMessageStructure } from "../../../src/mail/mime/structure.js";
import { checkBody, checkEnvelope } from "./grammar.js";

const dir = join(import.meta.dirname, "corpus");
const expected: Record<string, { bodystructure: string; body?: string; envelope: string }> = JSON.parse(
  readFileSync(join(dir, "expected.json"), "utf8"),
);
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".eml"))
  .map((f) => f.slice(0, -4))
  .sort();

describe("MIME corpus", () => {
  test("every message has expectations and every expectation a message", () => {
    assert.deepEqual(names, Object.keys(expected).sort());
    assert.ok(names.length >= 15);
  });

  for (const name of names) {
    test(name, () => {
      const message = readFileSync(join(dir, `${name}.eml`));
      const want = expected[name];
      assert.ok(want, `no expectation for ${name}`);
      // The expectations themselves must be valid RFC 9051 grammar.
      checkBody(Buffer.from(want.bodystructure, "utf8"));
      checkEnvelope(Buffer.from(want.envelope, "utf8"));
      const root = parseMessageStructure(message);
      assert.equal(encodeValue(bodyStructureOf(root, message, true)).toString("utf8"), want.bodystructure);
      assert.equal(encodeValue(envelopeOf(root, message)).toString("utf8"), want.envelope);
      if (want.body !== undefined) {
        checkBody(Buffer.from(want.body, "utf8"));
        assert.equal(encodeValue(bodyStructureOf(root, message, false)).toString("utf8"), want.body);
      }
    });
  }
});
