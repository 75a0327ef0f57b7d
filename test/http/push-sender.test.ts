// The push sender POSTs wherever a client says, so the address rules are what keeps a JMAP user from
// making the server reach its own loopback or private network (RFC 8620 §7.2 leaves this to us).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import { isPrivateAddress, startPushSender } from "../../src/http/push-sender.js";
import type { Store } from "../../src/store/types.js";

describe("push sender address rules", () => {
  test("loopback, private, link-local, shared, multicast and mapped forms are private", () => {
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "::FFFF:10.0.0.1",
      "not an address",
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"]) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  test("checkUrl refuses plain http, credentials and private hosts unless private pushes are allowed", async () => {
    const store = {
      pushSubscriptions: { listVerifiedPushSubscriptions: async () => [] },
    } as unknown as Pick<
      Store,
      "pushSubscriptions" | "emails" | "events" | "quotas" | "sieveScripts" | "identities"
    >;
    const logger = pino({ level: "silent" });
    const strict = await startPushSender({ store, logger, allowPrivate: false });
    const open = await startPushSender({ store, logger, allowPrivate: true });
    try {
      assert.match((await strict.checkUrl(new URL("http://93.184.216.34/push"))) ?? "", /https/);
      assert.match((await strict.checkUrl(new URL("https://u:p@93.184.216.34/"))) ?? "", /credentials/);
      assert.match((await strict.checkUrl(new URL("https://127.0.0.1/push"))) ?? "", /private/);
      assert.match((await strict.checkUrl(new URL("https://[::1]/push"))) ?? "", /private/);
      assert.match((await strict.checkUrl(new URL("https://localhost/push"))) ?? "", /private|resolve/);
      assert.equal(await strict.checkUrl(new URL("https://93.184.216.34/push")), null);
      assert.equal(await open.checkUrl(new URL("http://127.0.0.1:9/push")), null);
    } finally {
      await strict.stop();
      await open.stop();
    }
  });
});
