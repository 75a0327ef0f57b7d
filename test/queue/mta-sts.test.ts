// The pure MTA-STS and TLS-RPT pieces: the TXT records, the policy file, MX matching, the report JSON.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import {
  mxAllowed,
  parseStsPolicy,
  parseStsRecord,
  parseTlsRptRecord,
  policyLines,
  STS_MAX_AGE_LIMIT,
} from "../../src/queue/mta-sts.js";
import { tlsReportJson, tlsReportMessage } from "../../src/queue/tls-report.js";

describe("_mta-sts TXT record", () => {
  test("the id of the one v=STSv1 record; other records ignored", () => {
    assert.deepEqual(parseStsRecord([["v=STSv1; id=20160831085700Z;"], ["other=1"]]), {
      ok: true,
      value: "20160831085700Z",
    });
    assert.deepEqual(parseStsRecord([["v=STSv1;", " id=abc"]]), { ok: true, value: "abc" });
    assert.equal(parseStsRecord([["v=spf1 -all"]]), null);
    assert.equal(parseStsRecord([]), null);
  });

  test("two STS records, a missing or malformed id: invalid, with the reason", () => {
    const two = parseStsRecord([["v=STSv1; id=a"], ["v=STSv1; id=b"]]);
    assert.equal(two?.ok, false);
    assert.match(!two?.ok ? (two?.reason ?? "") : "", /2 "v=STSv1" TXT records/);
    assert.equal(parseStsRecord([["v=STSv1"]])?.ok, false);
    assert.equal(parseStsRecord([["v=STSv1; id=has-dash"]])?.ok, false);
    assert.equal(parseStsRecord([[`v=STSv1; id=${"a".repeat(33)}`]])?.ok, false);
  });
});

describe("policy file", () => {
  test("a complete policy, CRLF or LF, unknown keys ignored, mx lower-cased", () => {
    const text =
      "version: STSv1\r\nmode: enforce\r\nmx: MX1.Example.com\r\nmx: *.example.net\r\nfuture: x\r\nmax_age: 86400\r\n";
    assert.deepEqual(parseStsPolicy(text), {
      ok: true,
      value: { mode: "enforce", mx: ["mx1.example.com", "*.example.net"], maxAge: 86400 },
    });
    assert.deepEqual(parseStsPolicy(text.replace(/\r\n/g, "\n")), parseStsPolicy(text));
    assert.deepEqual(parseStsPolicy("version: STSv1\nmode: none\nmax_age: 0\n"), {
      ok: true,
      value: { mode: "none", mx: [], maxAge: 0 },
    });
  });

  test("what is refused, each with its reason", () => {
    const cases: Array<[string, RegExp]> = [
      ["mode: enforce\nmx: a.example\nmax_age: 1", /version/],
      ["version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1", /version/],
      ["version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1", /mode "strict"/],
      ["version: STSv1\nmode: enforce\nmx: a.example", /max_age/],
      ["version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1", /max_age/],
      [`version: STSv1\nmode: enforce\nmx: a.example\nmax_age: ${STS_MAX_AGE_LIMIT + 1}`, /above/],
      ["version: STSv1\nmode: testing\nmax_age: 60", /no mx/],
      ["version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 60", /mx pattern/],
      ["version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 60", /mx pattern/],
      ["<html>not a policy</html>", /not "key: value"/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseStsPolicy(text);
      assert.equal(parsed.ok, false, text);
      assert.match(parsed.ok ? "" : parsed.reason, reason, text);
    }
  });

  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
  const host = fc.array(label, { minLength: 2, maxLength: 4 }).map((labels) => labels.join("."));
  const pattern = fc.tuple(fc.boolean(), host).map(([wild, name]) => (wild ? `*.${name}` : name));
  const policy = fc.record({
    mode: fc.constantFrom("enforce" as const, "testing" as const),
    mx: fc.uniqueArray(pattern, { minLength: 1, maxLength: 5 }),
    maxAge: fc.integer({ min: 0, max: STS_MAX_AGE_LIMIT }),
  });

  test("property: a policy written out as its lines parses back to itself", () => {
    fc.assert(
      fc.property(policy, fc.constantFrom("\r\n", "\n"), (value, eol) => {
        assert.deepEqual(parseStsPolicy(policyLines(value).join(eol) + eol), {
          ok: true,
          value: { ...value },
        });
      }),
    );
  });

  test("property: any text gives a policy within the limits or a reason, never a throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const parsed = parseStsPolicy(`version: STSv1\nmode: enforce\nmax_age: 5\n${text}`);
        if (parsed.ok) {
          assert.ok(parsed.value.maxAge >= 0 && parsed.value.maxAge <= STS_MAX_AGE_LIMIT);
          assert.ok(parsed.value.mx.length > 0);
        } else assert.ok(parsed.reason.length > 0);
      }),
    );
  });

  test("property: a wildcard matches exactly one more label", () => {
    fc.assert(
      fc.property(host, label, label, (base, one, two) => {
        assert.equal(mxAllowed([`*.${base}`], `${one}.${base}`), true);
        assert.equal(mxAllowed([`*.${base}`], `${one.toUpperCase()}.${base}.`), true);
        assert.equal(mxAllowed([`*.${base}`], base), false);
        assert.equal(mxAllowed([`*.${base}`], `${two}.${one}.${base}`), false);
        assert.equal(mxAllowed([base], `${one}.${base}`), false);
        assert.equal(mxAllowed([base], base), true);
      }),
    );
  });
});

describe("_smtp._tls TXT record", () => {
  test("mailto: addresses (percent-decoded) and https: URIs apart", () => {
    assert.deepEqual(
      parseTlsRptRecord([["v=TLSRPTv1; rua=mailto:tls%2Breports@example.com,https://r.example/x"]]),
      { ok: true, value: { mailto: ["tls+reports@example.com"], https: ["https://r.example/x"] } },
    );
    assert.equal(parseTlsRptRecord([["v=spf1"]]), null);
    assert.equal(parseTlsRptRecord([["v=TLSRPTv1; rua=mailto:a@b"], ["v=TLSRPTv1; rua=mailto:c@d"]]), null);
    assert.equal(parseTlsRptRecord([["v=TLSRPTv1;"]])?.ok, false);
    assert.equal(parseTlsRptRecord([["v=TLSRPTv1; rua=ftp://x"]])?.ok, false);
  });
});

describe("TLS-RPT report", () => {
  const input = {
    submitter: "mx.example.org",
    day: "2026-12-03",
    policyDomain: "example.com",
    rows: [
      {
        policyDomain: "example.com",
        policyType: "sts" as const,
        policyString: ["version: STSv1", "mode: testing", "mx: *.example.com", "max_age: 600"],
        mxHost: "mx1.example.com",
        resultType: "" as const,
        count: 3,
      },
      {
        policyDomain: "example.com",
        policyType: "sts" as const,
        policyString: ["version: STSv1", "mode: testing", "mx: *.example.com", "max_age: 600"],
        mxHost: "mx2.example.com",
        resultType: "certificate-host-mismatch" as const,
        count: 2,
      },
    ],
  };

  test("the JSON counts successes and failures per policy (RFC 8460 §4.4)", () => {
    const json = tlsReportJson(input, "r1") as {
      "date-range": Record<string, string>;
      policies: Array<Record<string, Record<string, unknown> | Array<Record<string, unknown>>>>;
    };
    assert.deepEqual(json["date-range"], {
      "start-datetime": "2026-12-03T00:00:00Z",
      "end-datetime": "2026-12-03T23:59:59Z",
    });
    assert.equal(json.policies.length, 1);
    const entry = json.policies[0] as Record<string, unknown>;
    assert.deepEqual(entry.summary, {
      "total-successful-session-count": 3,
      "total-failure-session-count": 2,
    });
    assert.deepEqual(entry["failure-details"], [
      {
        "result-type": "certificate-host-mismatch",
        "receiving-mx-hostname": "mx2.example.com",
        "failed-session-count": 2,
      },
    ]);
    assert.deepEqual((entry.policy as Record<string, unknown>)["mx-host"], ["*.example.com"]);
  });

  test("the message: §5.3 subject and headers, the gzip'd JSON attached", () => {
    const { message, reportId } = tlsReportMessage(input, { to: ["rua@example.com"], date: new Date() });
    const text = message.toString();
    assert.match(
      text,
      new RegExp(
        `^Subject: Report Domain: example.com Submitter: mx.example.org Report-ID: <${reportId.replace(/[.]/g, "\\.")}>\\r$`,
        "m",
      ),
    );
    assert.match(text, /^TLS-Report-Domain: example\.com\r$/m);
    assert.match(text, /^TLS-Report-Submitter: mx\.example\.org\r$/m);
    assert.match(text, /report-type="tlsrpt"/);
    assert.match(text, /filename="mx\.example\.org!example\.com!1796256000!1796342399!/);
    const body = /Content-Disposition: attachment[^\r]*\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(text)?.[1];
    assert.ok(body);
    const json = JSON.parse(gunzipSync(Buffer.from(body.replace(/\r\n/g, ""), "base64")).toString());
    assert.equal(json["report-id"], reportId);
  });
});
