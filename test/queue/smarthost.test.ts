import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { defaultRelayConfig, type RelayConfig, usesSmarthost } from "../../src/queue/config.js";
import { RelayTransport } from "../../src/queue/transport.js";
import { SmtpClientError, type SmtpClientOptions } from "../../src/smtp/client/client.js";
import { silent } from "./helpers.js";

const message = {
  sender: "alice@example.org",
  recipients: [{ address: "bob@example.net", dsn: {} }],
  envelopeDsn: {},
  body: () => Readable.from([Buffer.from("Subject: x\r\n\r\nx\r\n")]),
  eightBit: false,
};

/** A transport whose connections all fail at AUTH, recording how each was opened. */
function transport(config: Partial<RelayConfig>) {
  const opened: SmtpClientOptions[] = [];
  const lookups: string[] = [];
  const relay = new RelayTransport({
    config: { ...defaultRelayConfig(), ...config },
    heloName: "mx.example.org",
    logger: silent,
    lookup: async (domain) => {
      lookups.push(domain);
      return [{ name: `mx.${domain}`, preference: 10, addresses: ["192.0.2.1"] }];
    },
    connect: async (options) => {
      opened.push(options);
      throw new SmtpClientError(
        "refused",
        "auth",
        { code: 535, enhanced: "5.7.8", text: "bad credentials" },
        false,
      );
    },
  });
  return { relay, opened, lookups };
}

describe("the smarthost route", () => {
  test("all domains, or only the listed ones", () => {
    const config = { ...defaultRelayConfig(), smarthost: "relay.example:587" };
    assert.ok(usesSmarthost(config, "anything.example"));
    const listed = { ...config, smarthostDomains: "example.net, Example.COM" };
    assert.deepEqual(
      ["example.net", "example.com", "example.org"].map((domain) => usesSmarthost(listed, domain)),
      [true, true, false],
    );
    assert.ok(!usesSmarthost(defaultRelayConfig(), "example.net"));
  });

  test("connects with required TLS and the configured credentials; a refused AUTH names the setting", async () => {
    const { relay, opened, lookups } = transport({
      smarthost: "relay.example:465",
      smarthostTls: "implicit",
      smarthostUser: "me@example.org",
      smarthostPassword: "secret",
    });
    const [result] = await relay.deliver("example.net", message);
    assert.deepEqual(lookups, []);
    assert.deepEqual(
      opened.map((each) => [each.host, each.port, each.tls, each.auth]),
      [["relay.example", 465, "implicit", { user: "me@example.org", password: "secret" }]],
    );
    assert.equal(result?.status, "temporary");
    assert.match(
      result?.detail ?? "",
      /^smarthost relay\.example:465 refused AUTH: 535 5\.7\.8 bad credentials; check/,
    );
  });

  test("a missing password file and a malformed smarthost are reported, not thrown", async () => {
    const missing = transport({
      smarthost: "relay.example:587",
      smarthostUser: "me",
      smarthostPasswordFile: "/nonexistent/password",
    });
    const [noFile] = await missing.relay.deliver("example.net", message);
    assert.deepEqual(missing.opened, []);
    assert.match(
      noFile?.detail ?? "",
      /cannot read relay\.smarthost_password_file \/nonexistent\/password \(ENOENT\)/,
    );
    const [bad] = await transport({ smarthost: "relay.example" }).relay.deliver("example.net", message);
    assert.match(bad?.detail ?? "", /is not "host:port"/);
  });

  test("mail for other domains still goes to their MX, opportunistically", async () => {
    const { relay, opened, lookups } = transport({
      smarthost: "relay.example:587",
      smarthostDomains: "example.com",
    });
    await relay.deliver("example.net", message);
    assert.deepEqual(lookups, ["example.net"]);
    assert.deepEqual(
      opened.map((each) => [each.host, each.port, each.tls, each.auth]),
      [["192.0.2.1", 25, "opportunistic", undefined]],
    );
  });
});
