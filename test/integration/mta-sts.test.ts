// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) end to end: A relays to B's MX port, found through a
// loopback DNS server that publishes the _mta-sts, MX and _smtp._tls records; the policies are served by
// an HTTPS server on loopback (A reaches it through the test-only [relay] mta_sts_port, as it reaches B
// through [relay] port). A test CA signs B's certificate (for mx.example.net) and the policy server's;
// A trusts it through [relay] tls_ca_file.
// - enforce, the MX presents a certificate for another name: deferred with the reason, never delivered;
// - enforce, the MX's certificate names it: delivered, over TLS;
// - testing, the certificate names another host: delivered, and the day's TLS report, mailed to the
//   rua address on B, counts the failure (its gzip'd JSON parsed here).

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { listQueue, startSendingServer, submitMail } from "../support/sending-server.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { makeTestCa, signedCertificate } from "../support/test-ca.js";

const alice = { address: "alice@example.org", password: "alice's long passphrase" };

const POLICIES: Record<string, string> = {
  "mta-sts.good.example": "version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 86400\r\n",
  // other.example.net matches the pattern, but B's certificate names only mx.example.net.
  "mta-sts.bad.example": "version: STSv1\r\nmode: enforce\r\nmx: *.example.net\r\nmax_age: 86400\r\n",
  "mta-sts.testing.example": "version: STSv1\r\nmode: testing\r\nmx: *.example.net\r\nmax_age: 86400\r\n",
};

interface Listed {
  uid: number;
  subject: string;
}

async function inbox(server: TestServer, address: string): Promise<Listed[]> {
  const result = await server.cli(["mail", "list", address, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Listed[];
}

async function arrived(server: TestServer, address: string, match: (m: Listed) => boolean): Promise<string> {
  const found = await eventually(`a message for ${address}`, async () =>
    (await inbox(server, address)).find(match),
  );
  const result = await server.cli(["mail", "cat", address, "INBOX", String(found.uid)]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

let counter = 0;
const uniqueSubject = (label: string): string => `${label}-${process.pid}-${++counter}`;

for (const backend of await integrationBackends()) {
  describe(`MTA-STS and TLS-RPT from A (${backend.name}) to B`, { skip: backend.skip }, () => {
    let dns: TestDns;
    let serverA: TestServer;
    let serverB: TestServer;
    let policyServer: Server;
    let secrets: string;

    const submit = async (to: string, subject: string): Promise<void> => {
      await submitMail(
        serverA,
        { user: alice.address, pass: alice.password },
        { from: alice.address, to, subject, text: `mta-sts test ${subject}` },
      );
    };

    before(async () => {
      secrets = await mkdtemp(join(tmpdir(), "mailroom-mta-sts-"));
      const ca = await makeTestCa();
      const mx = await signedCertificate(ca, ["mx.example.net"]);
      const web = await signedCertificate(ca, Object.keys(POLICIES));
      await writeFile(join(secrets, "ca.pem"), ca.cert);
      await writeFile(join(secrets, "mx.pem"), mx.cert);
      await writeFile(join(secrets, "mx.key"), mx.key, { mode: 0o600 });

      policyServer = createServer({ key: web.key, cert: web.cert }, (request, response) => {
        const host = (request.headers.host ?? "").replace(/:\d+$/, "");
        const policy = POLICIES[host];
        if (request.url !== "/.well-known/mta-sts.txt" || policy === undefined) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { "content-type": "text/plain" }).end(policy);
      });
      await new Promise<void>((resolve) => policyServer.listen(0, "127.0.0.1", resolve));
      const policyPort = (policyServer.address() as AddressInfo).port;

      serverB = await startTestServer({
        env: {
          MAILROOM_LISTENERS_HTTP_ENABLED: "false",
          MAILROOM_HOSTNAME: "mx.example.net",
          MAILROOM_TLS_CERT: join(secrets, "mx.pem"),
          MAILROOM_TLS_KEY: join(secrets, "mx.key"),
        },
      });
      for (const domain of ["good.example", "bad.example", "testing.example", "example.net"]) {
        assert.equal((await serverB.cli(["domain", "add", domain])).code, 0);
      }
      for (const user of [
        "bob@good.example",
        "bob@bad.example",
        "bob@testing.example",
        "reports@example.net",
      ]) {
        const added = await serverB.cli(["user", "add", user, "--password-stdin"], "bob's long secret\n");
        assert.equal(added.code, 0, added.stderr);
      }

      const mxOf = (exchange: string) => ({ mx: [{ preference: 10, exchange }] });
      dns = await startTestDns({
        "good.example": mxOf("mx.example.net"),
        "_mta-sts.good.example": { txt: ["v=STSv1; id=1;"] },
        "bad.example": mxOf("other.example.net"),
        "_mta-sts.bad.example": { txt: ["v=STSv1; id=1;"] },
        "testing.example": mxOf("other.example.net"),
        "_mta-sts.testing.example": { txt: ["v=STSv1; id=20261204"] },
        "_smtp._tls.testing.example": { txt: ["v=TLSRPTv1; rua=mailto:reports@example.net"] },
        "mta-sts.good.example": { a: ["127.0.0.1"] },
        "mta-sts.bad.example": { a: ["127.0.0.1"] },
        "mta-sts.testing.example": { a: ["127.0.0.1"] },
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
        "other.example.net": { a: ["127.0.0.1"] },
      });
      serverA = await startSendingServer({
        store: backend.store,
        dns,
        relayPort: serverB.ports.smtp,
        pollInterval: "200ms",
        retrySchedule: "1s",
        user: alice,
        env: {
          MAILROOM_RELAY_TLS_CA_FILE: join(secrets, "ca.pem"),
          MAILROOM_RELAY_MTA_STS_PORT: String(policyPort),
        },
      });
    });

    after(async () => {
      await serverA?.cleanup();
      await serverB?.cleanup();
      await dns?.close();
      await new Promise((resolve) => policyServer?.close(resolve));
      await rm(secrets, { recursive: true, force: true });
      await backend.release();
    });

    test("enforce, the MX's certificate names another host: deferred with the reason, never delivered", async () => {
      const subject = uniqueSubject("enforce-bad");
      await submit("bob@bad.example", subject);
      const entry = await eventually("a deferred entry for bob@bad.example", async () =>
        (await listQueue(serverA)).find((each) => each.recipient === "bob@bad.example" && each.attempts >= 2),
      );
      assert.match(entry.lastError ?? "", /MTA-STS: bad\.example enforces TLS/);
      assert.match(entry.lastError ?? "", /other\.example\.net/);
      assert.deepEqual(await inbox(serverB, "bob@bad.example"), []);
    });

    test("enforce, the MX's certificate names it: delivered over TLS", async () => {
      const subject = uniqueSubject("enforce-good");
      await submit("bob@good.example", subject);
      const message = await arrived(serverB, "bob@good.example", (m) => m.subject === subject);
      const received =
        message.split("\r\n").find((line) => /^Received: from mx\.example\.org/.test(line)) ?? "";
      const block = message.slice(message.indexOf(received), message.indexOf(received) + 400);
      assert.match(block, /ESMTPS/, block);
    });

    test("testing, a bad certificate: delivered anyway; the day's TLS report counts the failure", async () => {
      const subject = uniqueSubject("testing-bad");
      await submit("bob@testing.example", subject);
      await arrived(serverB, "bob@testing.example", (m) => m.subject === subject);

      const day = new Date().toISOString().slice(0, 10);
      const run = await serverA.cli(["queue", "tls-report", "--day", day]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /testing\.example: report queued for reports@example\.net/);
      assert.match(run.stdout, /bad\.example: not reported: publishes no _smtp\._tls record/);
      const again = await serverA.cli(["queue", "tls-report", "--day", day]);
      assert.match(again.stdout, /already sent/);

      const report = await arrived(serverB, "reports@example.net", (m) =>
        /^Report Domain: testing\.example /.test(m.subject),
      );
      assert.match(report, /^TLS-Report-Domain: testing\.example\r$/m);
      assert.match(report, /^TLS-Report-Submitter: mx\.example\.org\r$/m);
      assert.match(report, /Content-Type: application\/tlsrpt\+gzip/);
      const attached =
        /Content-Disposition: attachment[^\r]*\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n(?:\r\n)?--/.exec(
          report,
        )?.[1];
      assert.ok(attached, report);
      const json = JSON.parse(
        gunzipSync(Buffer.from(attached.replace(/\r\n/g, ""), "base64")).toString("utf8"),
      );
      assert.equal(json["organization-name"], "mx.example.org");
      assert.equal(json["date-range"]["start-datetime"], `${day}T00:00:00Z`);
      assert.equal(json.policies.length, 1);
      const [policy] = json.policies;
      assert.equal(policy.policy["policy-type"], "sts");
      assert.equal(policy.policy["policy-domain"], "testing.example");
      assert.ok(policy.policy["policy-string"].includes("mode: testing"));
      assert.ok(policy.summary["total-failure-session-count"] >= 1);
      assert.deepEqual(
        policy["failure-details"].map((each: Record<string, unknown>) => [
          each["result-type"],
          each["receiving-mx-hostname"],
        ]),
        [["certificate-host-mismatch", "other.example.net"]],
      );
    });
  });
}
