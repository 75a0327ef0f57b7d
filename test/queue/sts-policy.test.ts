// The MTA-STS policy lifecycle (RFC 8461 §5.1) over a real SQLite store and a loopback DNS server, and
// the HTTPS fetch's refusals (§3.3) against a real HTTPS server: redirect, media type, size, certificate.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { rootCertificates } from "node:tls";
import { createDnsResolver } from "../../src/queue/dns.js";
import { fetchStsPolicy, type StsFetchResult } from "../../src/queue/sts-fetch.js";
import { StsPolicies } from "../../src/queue/sts-policy.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { makeTestCa, signedCertificate } from "../support/test-ca.js";
import { silent } from "./helpers.js";

const POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 3600\r\n";

describe("MTA-STS policy lifecycle (RFC 8461 §5.1)", () => {
  let dataDir: string;
  let store: Store;
  let dns: TestDns;
  let offset = 0;
  const now = () => new Date(Date.now() + offset);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-sts-"));
    store = await openStore({ store: "sqlite", dataDir, logger: silent });
    dns = await startTestDns({});
  });
  after(async () => {
    await store.close();
    await dns.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A fresh resolver cache each time, so the changed DNS records are seen at once. */
  function policies(fetch: (domain: string) => Promise<StsFetchResult>) {
    const resolve = createDnsResolver({ server: `${dns.address}:${dns.port}`, cache: { maxEntries: 0 } });
    return new StsPolicies({ store, resolve, fetch, now, logger: silent });
  }

  test("fetched once, cached under its id, refetched when the id changes, kept when a refresh fails", async () => {
    const fetched: string[] = [];
    let answer: StsFetchResult = { ok: true, text: POLICY };
    const fetch = async (domain: string) => {
      fetched.push(domain);
      return answer;
    };
    dns.set({ "_mta-sts.one.example": { txt: ["v=STSv1; id=a1"] } });
    const expected = { kind: "policy", policy: { mode: "enforce", mx: ["mx.example.net"], maxAge: 3600 } };
    assert.deepEqual(await policies(fetch).forDomain("one.example"), expected);
    // Another runner (a restart) finds it in the store: no second fetch.
    assert.deepEqual(await policies(fetch).forDomain("One.Example"), expected);
    assert.deepEqual(fetched, ["one.example"]);
    assert.equal((await store.mtaSts.getPolicy("one.example"))?.id, "a1");

    dns.set({ "_mta-sts.one.example": { txt: ["v=STSv1; id=a2"] } });
    answer = { ok: true, text: POLICY.replace("enforce", "testing") };
    assert.equal(
      ((await policies(fetch).forDomain("one.example")) as typeof expected).policy.mode,
      "testing",
    );
    assert.equal(fetched.length, 2);

    // A new id whose fetch fails: the cached, unexpired policy stays in force.
    dns.set({ "_mta-sts.one.example": { txt: ["v=STSv1; id=a3"] } });
    answer = { ok: false, webpki: false, reason: "connection refused" };
    assert.equal(
      ((await policies(fetch).forDomain("one.example")) as typeof expected).policy.mode,
      "testing",
    );
    // The TXT record withdrawn: still the cached policy until its max_age...
    dns.set({});
    assert.equal((await policies(fetch).forDomain("one.example")).kind, "policy");
    // ...and after it, none, and the entry is forgotten.
    offset = 3601_000;
    assert.deepEqual(await policies(fetch).forDomain("one.example"), { kind: "none" });
    assert.equal(await store.mtaSts.getPolicy("one.example"), null);
    offset = 0;
  });

  test("past half its max_age a policy is fetched again under the same id, and the cached one kept if that fails", async () => {
    const fetched: string[] = [];
    let ok = true;
    const fetch = async (domain: string): Promise<StsFetchResult> => {
      fetched.push(domain);
      return ok ? { ok: true, text: POLICY } : { ok: false, webpki: false, reason: "timed out" };
    };
    dns.set({ "_mta-sts.five.example": { txt: ["v=STSv1; id=e1"] } });
    await policies(fetch).forDomain("five.example");
    offset = 1000_000;
    await policies(fetch).forDomain("five.example");
    assert.equal(fetched.length, 1, "not yet half of max_age");
    offset = 1801_000;
    ok = false;
    assert.equal((await policies(fetch).forDomain("five.example")).kind, "policy");
    assert.equal(fetched.length, 2);
    ok = true;
    await policies(fetch).forDomain("five.example");
    assert.equal(fetched.length, 3);
    const kept = await store.mtaSts.getPolicy("five.example");
    assert.ok(kept && kept.fetchedAt.getTime() > Date.now() + 1000_000, "the refresh restarts max_age");
    offset = 0;
  });

  test("a record but no usable policy: failed with the RFC 8460 result type; none at all without a record", async () => {
    dns.set({
      "_mta-sts.two.example": { txt: ["v=STSv1; id=b1"] },
      "_mta-sts.three.example": { txt: ["v=STSv1; id=c1"] },
    });
    const bad = policies(async (domain) =>
      domain === "two.example"
        ? { ok: true, text: "version: STSv1\nmode: enforce\nmax_age: 60\n" }
        : { ok: false, webpki: true, reason: "certificate has expired" },
    );
    const two = await bad.forDomain("two.example");
    assert.equal(two.kind === "failed" && two.resultType, "sts-policy-invalid");
    const three = await bad.forDomain("three.example");
    assert.equal(three.kind === "failed" && three.resultType, "sts-webpki-invalid");
    assert.deepEqual(await bad.forDomain("four.example"), { kind: "none" });
  });
});

describe("MTA-STS policy fetch (RFC 8461 §3.3)", () => {
  let server: Server;
  let port: number;
  let ca: string;
  let dns: TestDns;

  before(async () => {
    const authority = await makeTestCa("fetch test CA");
    ca = authority.cert;
    const leaf = await signedCertificate(
      authority,
      ["ok", "redirect", "html", "big"].map((name) => `mta-sts.${name}.example`),
    );
    server = createServer({ key: leaf.key, cert: leaf.cert }, (request, response) => {
      const host = (request.headers.host ?? "").split(".")[1];
      if (host === "redirect") response.writeHead(301, { location: "https://elsewhere.example/" }).end();
      else if (host === "html") response.writeHead(200, { "content-type": "text/html" }).end(POLICY);
      else if (host === "big")
        response.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(70_000));
      else response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(POLICY);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    const a = { a: ["127.0.0.1"] };
    dns = await startTestDns({
      "mta-sts.ok.example": a,
      "mta-sts.redirect.example": a,
      "mta-sts.html.example": a,
      "mta-sts.big.example": a,
      "mta-sts.wrongname.example": a,
    });
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await dns.close();
  });

  const fetchFrom = (domain: string, trust = true) =>
    fetchStsPolicy(domain, {
      resolve: createDnsResolver({ server: `${dns.address}:${dns.port}` }),
      port,
      timeout: 5000,
      maxSize: 64 * 1024,
      ...(trust ? { ca: [...rootCertificates, ca] } : {}),
    });

  test("a text/plain policy over a certificate valid for mta-sts.<domain>, resolved through the relay's DNS", async () => {
    assert.deepEqual(await fetchFrom("ok.example"), { ok: true, text: POLICY });
  });

  test("refused: a redirect, another media type, too large, an untrusted or misnamed certificate", async () => {
    const redirect = await fetchFrom("redirect.example");
    assert.ok(!redirect.ok && /HTTP 301 \(a redirect/.test(redirect.reason), JSON.stringify(redirect));
    const html = await fetchFrom("html.example");
    assert.ok(!html.ok && /"text\/html", not text\/plain/.test(html.reason));
    const big = await fetchFrom("big.example");
    assert.ok(!big.ok && /larger than 65536 bytes/.test(big.reason));
    const untrusted = await fetchFrom("ok.example", false);
    assert.ok(!untrusted.ok && untrusted.webpki, JSON.stringify(untrusted));
    const misnamed = await fetchFrom("wrongname.example");
    assert.ok(!misnamed.ok && misnamed.webpki, JSON.stringify(misnamed));
    const unresolved = await fetchFrom("nowhere.example");
    assert.ok(!unresolved.ok && !unresolved.webpki);
  });
});
