import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  authenticationResultsField,
  authservId,
  withoutOwnResults,
} from "../../src/trust/authentication-results.js";

describe("Authentication-Results", () => {
  test("one field: the authserv-id, then each resinfo on its own folded lines", () => {
    const field = authenticationResultsField("mx.example", ["spf=pass smtp.mailfrom=a@b.test", "dmarc=fail"]);
    assert.equal(
      field,
      "Authentication-Results: mx.example;\r\n  spf=pass smtp.mailfrom=a@b.test;\r\n  dmarc=fail\r\n",
    );
  });

  test("no result at all is 'none' (RFC 8601 §2.2)", () => {
    assert.equal(
      authenticationResultsField("mx.example", []),
      "Authentication-Results: mx.example; none\r\n",
    );
  });

  test("long resinfos fold at spaces; unfolding gives the words back", () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`);
    const field = authenticationResultsField("mx.example", [words.join(" ")]);
    for (const line of field.split("\r\n")) assert.ok(line.length <= 80, line);
    assert.equal(
      field.replace(/\r\n\s+/g, " ").trim(),
      `Authentication-Results: mx.example; ${words.join(" ")}`,
    );
  });

  test("authserv-id after comments, quoted, case-folded", () => {
    assert.equal(authservId(" (c (nested)) MX.Example; spf=pass"), "mx.example");
    assert.equal(authservId(' "mx.example"; none'), "mx.example");
    assert.equal(authservId(" mx.example 1; none"), "mx.example");
    assert.equal(authservId("  ; none"), null);
  });

  test("fields claiming our id are removed, folded ones whole; others stay byte for byte", () => {
    const header =
      "Received: x\r\nAuthentication-Results: MX.example;\r\n dkim=pass\r\nAuthentication-Results: other.example; spf=none\r\n" +
      "authentication-results: (forged) mx.example; dmarc=pass\r\nFrom: a@b\r\n\r\n";
    assert.equal(
      withoutOwnResults(header, "mx.example"),
      "Received: x\r\nAuthentication-Results: other.example; spf=none\r\nFrom: a@b\r\n\r\n",
    );
  });

  test("property: a header without our fields is left unchanged", () => {
    const field = fc
      .tuple(fc.constantFrom("Subject", "From", "Authentication-Results"), fc.stringMatching(/^[ -~]{0,30}$/))
      .filter(([name, value]) => name !== "Authentication-Results" || authservId(value) !== "mx.example")
      .map(([name, value]) => `${name}:${value}\r\n`);
    fc.assert(
      fc.property(fc.array(field), (fields) => {
        const header = `${fields.join("")}\r\n`;
        assert.equal(withoutOwnResults(header, "mx.example"), header);
      }),
    );
  });
});
