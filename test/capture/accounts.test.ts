import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { plainInitialResponse } from "../../src/auth/sasl/scram-client.js";
import { captureAgent } from "../../src/capture/agent.js";
import { CATCH_ALL_ADDRESS, createProvisioner, type Provisioner } from "../../src/capture/provision.js";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";
import { authConfig } from "../auth/helpers.js";

const silent = pino({ level: "silent" });

describe("capture mode's accounts", () => {
  let dataDir: string;
  let store: Store;
  let provisioner: Provisioner;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-capture-"));
    store = await openStore({ store: "sqlite", dataDir, logger: silent });
    provisioner = createProvisioner(store, silent);
  });
  after(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("an address gets a user and its domain once, even when asked for at the same time", async () => {
    const made = await Promise.all([1, 2, 3].map(() => provisioner.ensureUser("Carol@Fresh.Example")));
    assert.ok(made.every((user) => user !== null && user.id === made[0]?.id));
    assert.ok(await store.directory.getDomain("fresh.example"));
    assert.equal((await store.directory.listUsers("fresh.example")).length, 1);
    const inbox = await store.mailboxes.getMailbox(made[0]?.id ?? 0, "INBOX");
    assert.ok(inbox, "the user has its mailboxes");
  });

  test("login names: an address is itself, a bare name lives at localhost, all is the catch-all", async () => {
    assert.equal((await provisioner.loginUser("dave@x.example"))?.address, "dave@x.example");
    assert.equal((await provisioner.loginUser("Test"))?.address, "test@localhost");
    assert.equal((await provisioner.loginUser("dev"))?.address, CATCH_ALL_ADDRESS);
    assert.equal((await provisioner.loginUser("all"))?.address, CATCH_ALL_ADDRESS);
    assert.equal(await provisioner.loginUser("two words"), null, "no storable address, no user");
  });

  test("any password logs in, SCRAM is not offered, and the name must still be storable", async () => {
    const auth = createAuthenticator({
      lookupUser: (name) => provisioner.loginUser(name),
      config: authConfig(),
      acceptAnyPassword: true,
    });
    const context = { policy: "any" as const, remoteAddress: "127.0.0.1", secure: false };
    assert.deepEqual(auth.mechanisms(context), ["PLAIN", "LOGIN"]);
    assert.equal(auth.begin("SCRAM-SHA-256", context), null);
    const ok = await auth.verifyPassword("erin@y.example", "whatever it is", context);
    assert.equal(ok.kind, "success");
    const plain = auth.begin("PLAIN", context);
    assert.ok(plain);
    const step = await plain.start(plainInitialResponse("frank@y.example", "x"));
    assert.equal(step.kind, "success");
    const refused = await auth.verifyPassword('"quoted"@y.example', "x", context);
    assert.equal(refused.kind, "failure");
  });

  test("the agent takes any recipient, refuses an unstorable one clearly, and copies to the catch-all", async () => {
    const agent = captureAgent(createDeliveryAgent({ store, logger: silent }), provisioner);
    const context = { authenticated: null, remoteAddress: "127.0.0.1" };
    assert.deepEqual(await agent.checkRecipient("gina@far.example", context), { kind: "local" });
    const bad = await agent.checkRecipient('"two words"@far.example', context);
    assert.equal(bad.kind, "reject");
    assert.equal(bad.kind === "reject" && bad.code, 553);
    assert.equal(await store.directory.getUser('"two words"@far.example').catch(() => null), null);
    assert.deepEqual(await agent.checkSender?.("anyone@anywhere.example", context), { kind: "accept" });

    const writer = await agent.createBlobWriter();
    await writer.write(Buffer.from("From: a@b.example\r\nSubject: s\r\n\r\nbody\r\n"));
    const blob = await writer.finish();
    const result = await agent.commit({
      blob,
      sender: "a@b.example",
      recipients: [{ address: "gina@far.example" }],
      receivedAt: new Date(),
    });
    assert.equal(result.uids.length, 2, "the recipient and the catch-all");
    assert.deepEqual(result.queueIds, []);
  });
});
