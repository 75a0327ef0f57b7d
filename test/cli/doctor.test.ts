// `mailroom doctor` against a DNS server on loopback: a domain published as `domain add` says (every
// finding ok) and a broken one (each finding named), with a CA-signed certificate and a local port-25 probe.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generate } from "selfsigned";
import { domainRecords } from "../../src/dns/records.js";
import { startTestDns, type TestDns, type TestDnsRecords } from "../support/dns.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

const hostname = "mail.good.test";
const address = "203.0.113.5";
const reverse = "5.113.0.203.in-addr.arpa";

async function issueCertificate(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = await generate([{ name: "commonName", value: "mailroom doctor test CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true },
    ],
  });
  const leaf = await generate([{ name: "commonName", value: hostname }], {
    keyType: "ec",
    algorithm: "sha256",
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: hostname }] },
    ],
  });
  const files = { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
  await Promise.all([
    writeFile(files.ca, ca.cert),
    writeFile(files.cert, leaf.cert),
    writeFile(files.key, leaf.private, { mode: 0o600 }),
  ]);
  return files;
}

describe("mailroom doctor against live (loopback) DNS", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  let dns: TestDns;
  let probe: Server;
  let openProbe: string;
  let closedProbe: string;
  let files: { ca: string; cert: string; key: string };
  let env: NodeJS.ProcessEnv;
  let good: TestDnsRecords;
  const cli = (argv: string[]) => runCli([...argv, "--data-dir", dataDir], { env });

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    files = await issueCertificate(dataDir);
    dns = await startTestDns();
    env = {
      MAILROOM_HOSTNAME: hostname,
      MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
      MAILROOM_TLS_CERT: files.cert,
      MAILROOM_TLS_KEY: files.key,
    };
    probe = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    openProbe = `127.0.0.1:${(probe.address() as { port: number }).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    closedProbe = `127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    for (const domain of ["good.test", "broken.test"]) {
      const added = await cli(["domain", "add", domain]);
      assert.equal(added.code, 0, added.stderr);
    }
    const key = await withTestStore(dataDir, (store) => store.directory.getDkimKey("good.test"));
    const records = domainRecords({ domain: "good.test", hostname, dkim: key, addresses: [address] });
    const value = (kind: string) => records.find((record) => record.kind === kind);
    good = {
      "good.test": { mx: [{ preference: 10, exchange: hostname }], txt: [value("SPF")?.value ?? ""] },
      [value("DKIM")?.name ?? ""]: { txt: [value("DKIM")?.value ?? ""] },
      "_dmarc.good.test": { txt: [value("DMARC")?.value ?? ""] },
      [hostname]: { a: [address] },
      [reverse]: { ptr: [hostname] },
    };
  });
  after(async () => {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await dns.close();
    await cleanup();
  });

  test("a domain published as 'domain add' printed it: every finding ok, exit 0", async () => {
    dns.set(good);
    const run = await cli(["doctor", "good.test", "--probe", openProbe, "--ca-file", files.ca]);
    const lines = run.stdout.toString().trim().split("\n");
    assert.equal(run.code, 0, run.stdout.toString() + run.stderr);
    assert.deepEqual(
      lines.map((line) => line.slice(0, line.indexOf(":"))),
      [
        "ok    hostname",
        `ok    PTR ${address}`,
        "ok    MX good.test",
        "ok    SPF good.test",
        "ok    DKIM good.test",
        "ok    DMARC good.test",
        "ok    TLS certificate",
        "ok    outbound port 25",
      ],
    );
    assert.equal(run.stderr, "everything looks right\n");
    assert.ok(dns.queries().includes(`PTR ${reverse}`), dns.queries().join(", "));
  });

  test("a broken domain and host: each finding says what to change, exit 1", async () => {
    dns.set({
      ...good,
      "broken.test": {
        mx: [{ preference: 10, exchange: "mx.elsewhere.example" }],
        txt: ["v=spf1 ip4:198.51.100.1 -all"],
      },
      [reverse]: { ptr: ["static-5.isp.example"] },
    });
    // Without --ca-file the test CA is unknown, so the chain does not verify.
    const run = await cli(["doctor", "broken.test", "--probe", closedProbe, "--timeout", "2000"]);
    assert.equal(run.code, 1, run.stdout.toString());
    const out = run.stdout.toString();
    assert.match(out, /^ok {4}hostname: mail\.good\.test resolves to 203\.0\.113\.5$/m);
    assert.match(
      out,
      /^FAIL {2}PTR 203\.0\.113\.5: reverse DNS of 203\.0\.113\.5 is static-5\.isp\.example, not mail\.good\.test/m,
    );
    assert.match(
      out,
      /^FAIL {2}MX broken\.test: MX points to mx\.elsewhere\.example, not to this server .*IN MX 10 mail\.good\.test\./m,
    );
    assert.match(
      out,
      /^FAIL {2}SPF broken\.test: SPF "v=spf1 ip4:198\.51\.100\.1 -all" does not let this server send; add "mx"/m,
    );
    assert.match(out, /^FAIL {2}DKIM broken\.test: mr\d{6}\._domainkey\.broken\.test is not published/m);
    assert.match(out, /^WARN {2}DMARC broken\.test: _dmarc\.broken\.test publishes no DMARC policy/m);
    assert.match(
      out,
      /^FAIL {2}TLS certificate: .*cert\.pem does not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/m,
    );
    assert.match(out, /^FAIL {2}outbound port 25: cannot connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/m);
    assert.match(run.stderr, /^6 to fix, 1 to look at/);
  });

  test("an unknown domain is refused", async () => {
    const run = await cli(["doctor", "nowhere.test", "--probe", openProbe]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /domain nowhere\.test is not served here/);
  });
});
