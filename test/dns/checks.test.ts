import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkDkim,
  checkDmarc,
  checkHost,
  checkMx,
  checkPort25,
  checkSpf,
  checkTls,
  type DomainFacts,
  type HostFacts,
  isPrivateAddress,
  type TlsFacts,
} from "../../src/dns/checks.js";
import { domainRecords } from "../../src/dns/records.js";
import { generateDkimKey } from "../../src/mail/dkim.js";

const hostname = "mail.example.org";
const key = {
  selector: "mr202612",
  algorithm: "ed25519-sha256" as const,
  privateKeyPem: await generateDkimKey("ed25519-sha256"),
};
const expected = domainRecords({ domain: "example.org", hostname, dkim: key, addresses: [] });
const dkimValue = expected.find((record) => record.kind === "DKIM")?.value ?? "";

function facts(overrides: Partial<DomainFacts> = {}): DomainFacts {
  return {
    domain: "example.org",
    expected,
    mx: { ok: true, value: [{ exchange: hostname, priority: 10 }] },
    txt: { ok: true, value: ["google-site-verification=abc", "v=spf1 mx -all"] },
    dkimTxt: { ok: true, value: [dkimValue] },
    dmarcTxt: { ok: true, value: ["v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"] },
    ...overrides,
  };
}

const nodata = { ok: false as const, code: "ENODATA" };

describe("doctor's verdicts on domain records", () => {
  test("the records domain add prints are all ok", () => {
    const f = facts();
    assert.deepEqual(
      [checkMx(f, hostname), checkSpf(f, hostname, []), checkDkim(f), checkDmarc(f)].map(
        (each) => each.status,
      ),
      ["ok", "ok", "ok", "ok"],
    );
  });

  test("MX: missing, elsewhere, or DNS failing", () => {
    const missing = checkMx(facts({ mx: nodata }), hostname);
    assert.equal(missing.status, "fail");
    assert.match(missing.message, /no MX record.*publish: example\.org\. IN MX 10 mail\.example\.org\./);
    const elsewhere = checkMx(
      facts({ mx: { ok: true, value: [{ exchange: "mx.other.net", priority: 5 }] } }),
      hostname,
    );
    assert.match(elsewhere.message, /MX points to mx\.other\.net, not to this server/);
    const servfail = checkMx(facts({ mx: { ok: false, code: "ESERVFAIL" } }), hostname);
    assert.match(servfail.message, /DNS could not answer .*ESERVFAIL/);
    assert.equal(
      checkMx(facts({ mx: { ok: true, value: [{ exchange: "MAIL.example.org.", priority: 1 }] } }), hostname)
        .status,
      "ok",
    );
  });

  test("SPF: none, two, not naming this server, +all, include", () => {
    const spf = (...value: string[]) =>
      checkSpf(facts({ txt: { ok: true, value } }), hostname, ["203.0.113.5"]);
    assert.match(spf("other").message, /no SPF record.*v=spf1 mx -all/);
    assert.match(spf("v=spf1 mx -all", "v=spf1 -all").message, /2 SPF records.*RFC 7208/);
    assert.equal(spf("v=spf1 ip4:198.51.100.1 -all").status, "fail");
    assert.equal(spf("v=spf1 ip4:203.0.113.5 -all").status, "ok");
    assert.equal(spf(`v=spf1 a:${hostname} ~all`).status, "ok");
    assert.equal(spf("v=spf1 mx +all").status, "warn");
    assert.equal(spf("v=spf1 include:_spf.example.net -all").status, "warn");
    assert.equal(checkSpf(facts({ txt: { ok: false, code: "ENOTFOUND" } }), hostname, []).status, "fail");
  });

  test("DKIM: no key, not published, another key", () => {
    const noKey = checkDkim(facts({ expected: expected.filter((record) => record.kind !== "DKIM") }));
    assert.match(noKey.message, /mailroom dkim rotate example\.org/);
    assert.match(
      checkDkim(facts({ dkimTxt: nodata })).message,
      /mr202612\._domainkey\.example\.org is not published/,
    );
    const other = checkDkim(facts({ dkimTxt: { ok: true, value: ["v=DKIM1; k=ed25519; p=AAAA"] } }));
    assert.deepEqual([other.status, /a different key/.test(other.message)], ["fail", true]);
    const folded = dkimValue.replace("p=", "p= ").replace(/(.{20})/, "$1 ");
    assert.equal(checkDkim(facts({ dkimTxt: { ok: true, value: [folded] } })).status, "ok");
  });

  test("DMARC: missing warns, p=none warns, two fail", () => {
    assert.equal(checkDmarc(facts({ dmarcTxt: nodata })).status, "warn");
    assert.match(
      checkDmarc(facts({ dmarcTxt: { ok: true, value: ["v=DMARC1; p=none"] } })).message,
      /p=quarantine/,
    );
    assert.equal(
      checkDmarc(facts({ dmarcTxt: { ok: true, value: ["v=DMARC1; p=reject", "v=DMARC1; p=none"] } })).status,
      "fail",
    );
  });
});

describe("doctor's verdicts on the host, certificate and port 25", () => {
  const host = (overrides: Partial<HostFacts> = {}): HostFacts => ({
    hostname,
    addresses: { ok: true, value: ["203.0.113.5"] },
    ptr: new Map([["203.0.113.5", { ok: true, value: [`${hostname}`] }]]),
    ...overrides,
  });

  test("hostname: qualified, resolving, with matching PTR", () => {
    assert.deepEqual(
      checkHost(host()).map((each) => each.status),
      ["ok", "ok"],
    );
    assert.match(checkHost(host({ hostname: "vm" }))[0]?.message ?? "", /not a fully qualified/);
    assert.match(
      checkHost(host({ addresses: { ok: false, code: "ENOTFOUND" } }))[0]?.message ?? "",
      /does not resolve.*publish an A/,
    );
    const wrong = checkHost(
      host({ ptr: new Map([["203.0.113.5", { ok: true, value: ["static.isp.example"] }]]) }),
    );
    assert.match(
      wrong[1]?.message ?? "",
      /reverse DNS of 203\.0\.113\.5 is static\.isp\.example, not mail\.example\.org/,
    );
    assert.match(checkHost(host({ ptr: new Map() }))[1]?.message ?? "", /no reverse DNS/);
    const privateHost = checkHost(host({ addresses: { ok: true, value: ["192.168.1.2"] } }));
    assert.equal(privateHost[1]?.status, "warn");
  });

  test("private addresses", () => {
    for (const address of [
      "10.1.2.3",
      "127.0.0.1",
      "172.20.0.1",
      "192.168.0.1",
      "100.64.0.1",
      "::1",
      "fd00::1",
      "fe80::1",
    ])
      assert.ok(isPrivateAddress(address), address);
    for (const address of ["203.0.113.5", "172.32.0.1", "2001:db8::1"])
      assert.ok(!isPrivateAddress(address), address);
  });

  test("certificate: expired, wrong name, self-signed, broken chain, expiring, fine", () => {
    const now = new Date("2026-12-01T00:00:00Z");
    const cert = (overrides: object = {}): TlsFacts => ({
      present: true,
      certificate: {
        path: "/etc/mail/cert.pem",
        generated: false,
        chainError: null,
        coversHostname: true,
        validTo: new Date("2027-03-01T00:00:00Z"),
        ...overrides,
      },
    });
    const verdict = (facts: TlsFacts) => checkTls(facts, hostname, now);
    assert.equal(verdict(cert()).status, "ok");
    assert.match(verdict(cert({ validTo: new Date("2026-11-30T00:00:00Z") })).message, /expired/);
    assert.match(verdict(cert({ coversHostname: false })).message, /does not name mail\.example\.org/);
    assert.equal(
      verdict(cert({ generated: true, chainError: "DEPTH_ZERO_SELF_SIGNED_CERT" })).status,
      "warn",
    );
    assert.match(verdict(cert({ chainError: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" })).message, /intermediate/);
    const soon = verdict(cert({ validTo: new Date("2026-12-10T00:00:00Z") }));
    assert.deepEqual([soon.status, /expires in 9 days/.test(soon.message)], ["warn", true]);
    assert.equal(verdict({ present: false, reason: "no certificate yet" }).status, "warn");
  });

  test("port 25: open, blocked, blocked with a smarthost", () => {
    assert.equal(checkPort25({ probe: "mx:25", error: null, smarthost: null }).status, "ok");
    const blocked = checkPort25({ probe: "mx:25", error: "ETIMEDOUT", smarthost: null });
    assert.deepEqual([blocked.status, /smarthost/.test(blocked.message)], ["fail", true]);
    assert.equal(
      checkPort25({ probe: "mx:25", error: "ETIMEDOUT", smarthost: "smtp.example.net:465" }).status,
      "ok",
    );
  });
});
