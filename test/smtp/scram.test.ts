// SMTP AUTH with the real authenticator (src/auth): SCRAM-SHA-256 (additional data with success), PLAIN.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { hashPassword } from "../../src/auth/password.js";
import { scramClient } from "../../src/auth/sasl/scram-client.js";
import type { User } from "../../src/store/types.js";
import { harness } from "./fakes.js";

let user: User;

before(async () => {
  user = {
    id: 7,
    address: "alice@example.org",
    domainId: 1,
    admin: false,
    disabled: false,
    name: null,
    createdAt: new Date(),
    ...(await hashPassword("pencil")),
  };
});

function realAuthenticator() {
  return createAuthenticator({
    lookupUser: async (address) => (address === user.address ? user : null),
    config: { failureDelay: 0, maxFailuresPerIp: 100, failureWindow: 60_000 },
    sleep: async () => undefined,
  });
}

const b64 = (bytes: Buffer) => bytes.toString("base64");
const unb64 = (reply: string) => Buffer.from(reply.slice(4).trim(), "base64");

describe("AUTH with the real authenticator", () => {
  test("SCRAM-SHA-256: server-final is sent as a 334 and verified by the client", async () => {
    const h = harness({ authenticator: realAuthenticator(), tls: { protocol: "TLSv1.3", cipher: "X" } });
    assert.match(await h.send("EHLO x\r\n"), /AUTH .*SCRAM-SHA-256/);
    const client = scramClient("alice@example.org", "pencil");
    const serverFirst = await h.send(`AUTH SCRAM-SHA-256 ${b64(client.first())}\r\n`);
    assert.match(serverFirst, /^334 /);
    const final = await client.final(unb64(serverFirst));
    const serverFinal = await h.send(`${b64(final)}\r\n`);
    assert.match(serverFinal, /^334 /);
    assert.ok(client.verify(unb64(serverFinal)));
    assert.equal(await h.send("\r\n"), "235 2.7.0 Authentication successful\r\n");
    await h.send("MAIL FROM:<alice@example.org>\r\n");
    await h.send("RCPT TO:<someone@remote.example>\r\n");
    assert.equal(h.agent.checked[0]!.user, "alice@example.org");
  });

  test("SCRAM-SHA-256 with a wrong password: 535 5.7.8", async () => {
    const h = harness({ authenticator: realAuthenticator(), tls: { protocol: "TLSv1.3", cipher: "X" } });
    await h.send("EHLO x\r\n");
    const client = scramClient("alice@example.org", "wrong");
    const serverFirst = await h.send(`AUTH SCRAM-SHA-256 ${b64(client.first())}\r\n`);
    const final = await client.final(unb64(serverFirst));
    assert.match(await h.send(`${b64(final)}\r\n`), /^535 5\.7\.8 /);
  });

  test("PLAIN is refused without TLS from a remote address (538), allowed on loopback", async () => {
    const remote = harness({ authenticator: realAuthenticator() });
    assert.doesNotMatch(await remote.send("EHLO x\r\n"), /PLAIN/);
    assert.match(await remote.send("AUTH PLAIN\r\n"), /^538 5\.7\.11 /);
    const loopback = harness({ authenticator: realAuthenticator(), remoteAddress: "127.0.0.1" });
    await loopback.send("EHLO x\r\n");
    const initial = Buffer.from("\0alice@example.org\0pencil").toString("base64");
    assert.match(await loopback.send(`AUTH PLAIN ${initial}\r\n`), /^235 2\.7\.0 /);
  });
});
