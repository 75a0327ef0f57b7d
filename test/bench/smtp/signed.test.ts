// The --verify bench's inputs: its loopback DNS server and its signed message must make mailauth say
// pass for SPF, DKIM and DMARC, or the benchmark would measure the failure path.
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { test } from "node:test";
import { authenticate } from "mailauth";
import { startBenchDns } from "../../../bench/lib/dns.js";
import { type SignedMessage, signedMessage } from "../../../bench/smtp/signed.js";
import { withClockSteppingSeconds } from "../../support/clock.js";

const make = () => signedMessage(10 * 1024, "sender@bench.test", "u@bench.test", ["source.bench.test"]);

async function assertPasses(signed: SignedMessage): Promise<void> {
  const dns = await startBenchDns(signed.txt);
  try {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([dns.server]);
    const result = await authenticate(signed.message, {
      ip: "127.0.0.1",
      helo: "source.bench.test",
      sender: "sender@bench.test",
      mta: "mailroom.bench.invalid",
      resolver: (name: string, type: string) => resolver.resolve(name, type as "TXT"),
    });
    assert.match(result.headers, /dkim=pass/);
    assert.match(result.headers, /spf=pass/);
    assert.match(result.headers, /dmarc=pass/);
    assert.ok(dns.queries() > 0);
  } finally {
    await dns.close();
  }
}

test("the bench's signed message passes SPF, DKIM and DMARC against the bench's DNS server", async () => {
  await assertPasses(await make());
});

test("the signature holds when the clock passes a second boundary while the message is signed", async (t) => {
  await assertPasses(await withClockSteppingSeconds(t, make));
});
