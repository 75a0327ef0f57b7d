import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { domainRecords, recordsText, reverseName } from "../../src/dns/records.js";
import { dkimTxtRecord, generateDkimKey } from "../../src/mail/dkim.js";

describe("the DNS records a domain needs", () => {
  test("reverse names for IPv4 and IPv6 (RFC 1035 §3.5, RFC 3596 §2.5)", () => {
    assert.equal(reverseName("203.0.113.5"), "5.113.0.203.in-addr.arpa");
    assert.equal(
      reverseName("2001:db8::1"),
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    );
    assert.equal(reverseName("::1").split(".").length, 34);
  });

  test("MX, SPF, DKIM, DMARC and a PTR per address, each with its zone line", async () => {
    const dkim = { selector: "mr202612", algorithm: "ed25519-sha256" as const };
    const key = { ...dkim, privateKeyPem: await generateDkimKey("ed25519-sha256") };
    const records = domainRecords({
      domain: "example.org",
      hostname: "mail.example.org",
      dkim: key,
      addresses: ["203.0.113.5"],
    });
    assert.deepEqual(
      records.map((record) => [record.kind, record.name, record.type, record.value]),
      [
        ["MX", "example.org", "MX", "10 mail.example.org"],
        ["SPF", "example.org", "TXT", "v=spf1 mx -all"],
        ["DKIM", "mr202612._domainkey.example.org", "TXT", dkimTxtRecord("example.org", key).value],
        ["DMARC", "_dmarc.example.org", "TXT", "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"],
        ["PTR", "5.113.0.203.in-addr.arpa", "PTR", "mail.example.org"],
      ],
    );
    assert.equal(records[0]?.zoneLine, "example.org. IN MX 10 mail.example.org.");
    assert.equal(records[1]?.zoneLine, 'example.org. IN TXT "v=spf1 mx -all"');
    assert.equal(records[4]?.zoneLine, "5.113.0.203.in-addr.arpa. IN PTR mail.example.org.");
    const text = recordsText(records, "mail.example.org");
    assert.match(text, /^; MX: /);
    assert.doesNotMatch(text, /--address/);
  });

  test("without a key there is no DKIM record; without an address the PTR is explained", () => {
    const records = domainRecords({
      domain: "example.org",
      hostname: "mx.example.org",
      dkim: null,
      addresses: [],
    });
    assert.deepEqual(
      records.map((record) => record.kind),
      ["MX", "SPF", "DMARC"],
    );
    assert.match(
      recordsText(records, "mx.example.org"),
      /reverse DNS .* to mx\.example\.org\n.*--address IP/,
    );
  });
});
