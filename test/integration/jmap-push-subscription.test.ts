// PushSubscription (RFC 8620 §7.2) against a real `mailroom serve` on both stores, with a real HTTP
// receiver on loopback (allowed by `http.push_allow_private`): the PushVerification POSTed on create,
// verification by the code, StateChanges only to verified subscriptions and only of their types, RFC
// 8291 encryption for a subscription with keys, subscriptions kept across a restart, destroy, and the
// errors of /get and /set.

import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { decryptPush, deviceKeys } from "../support/web-push.js";
import { jmapUser } from "./jmap-helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP server that keeps every POST and lets a test wait for the next one on a path. */
async function startReceiver() {
  const received: Received[] = [];
  const waiters: Array<{ path: string; seen: number; resolve: (value: Received) => void }> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = { path: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks) };
      received.push(entry);
      response.writeHead(request.url === "/gone" ? 410 : 201).end();
      for (const waiter of [...waiters]) {
        const onPath = received.filter((each) => each.path === waiter.path);
        if (onPath.length > waiter.seen) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(onPath[waiter.seen] as Received);
        }
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received: (path: string) => received.filter((each) => each.path === path),
    /** The n-th (from 0) POST to `path`, once it has come. */
    nth(path: string, n: number): Promise<Received> {
      const onPath = received.filter((each) => each.path === path);
      if (onPath.length > n) return Promise.resolve(onPath[n] as Received);
      return new Promise((resolve) => waiters.push({ path, seen: n, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const backend of await integrationBackends()) {
  describe(`PushSubscription on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let accountId: string;
    const user = jmapUser(() => server, ADDRESS, PASSWORD);
    const api = async (calls: unknown[]): Promise<Loose[]> => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...user.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, MAIL], methodCalls: calls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses as Loose[];
    };
    /** Any change to the account: a new mailbox. */
    let mailboxes = 0;
    const change = async () => {
      const [[, set]] = (await api([
        ["Mailbox/set", { accountId, create: { m: { name: `m${++mailboxes}` } } }, "0"],
      ])) as [[string, Loose]];
      assert.ok(set.created?.m, JSON.stringify(set));
    };
    const json = (entry: Received) => JSON.parse(entry.body.toString()) as Loose;

    before(async () => {
      receiver = await startReceiver();
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: { MAILROOM_HTTP_PUSH_ALLOW_PRIVATE: "true" },
      });
      await user.add();
      accountId = Object.keys((await user.session()).accounts)[0] as string;
    });
    after(async () => {
      await server?.cleanup();
      await receiver?.close();
      await backend.release();
    });

    test("create → PushVerification → verify → StateChanges of its types; keys → RFC 8291; kept across a restart", async () => {
      const device = deviceKeys();
      const [[, created]] = (await api([
        [
          "PushSubscription/set",
          {
            create: {
              plain: { deviceClientId: "phone", url: receiver.url("/plain"), types: ["Email"] },
              sealed: {
                deviceClientId: "browser",
                url: receiver.url("/sealed"),
                keys: { p256dh: device.p256dh, auth: device.authText },
              },
              idle: { deviceClientId: "tablet", url: receiver.url("/idle") },
            },
          },
          "0",
        ],
      ])) as [[string, Loose]];
      assert.equal(created.accountId, undefined);
      assert.equal(created.oldState, undefined);
      const plainId = created.created?.plain?.id as string;
      const sealedId = created.created?.sealed?.id as string;
      assert.ok(plainId && sealedId && created.created?.idle?.id, JSON.stringify(created));
      // No expiry asked: the server's (at most 7 days) is told.
      assert.ok(Date.parse(created.created.plain.expires) > Date.now());

      const verification = json(await receiver.nth("/plain", 0));
      assert.deepEqual(Object.keys(verification).sort(), ["@type", "pushSubscriptionId", "verificationCode"]);
      assert.equal(verification["@type"], "PushVerification");
      assert.equal(verification.pushSubscriptionId, plainId);
      const sealedEntry = await receiver.nth("/sealed", 0);
      assert.equal(sealedEntry.headers["content-encoding"], "aes128gcm");
      assert.ok(sealedEntry.headers.ttl);
      const sealedVerification = JSON.parse(
        decryptPush(sealedEntry.body, device.ecdh, device.auth).toString(),
      );
      assert.equal(sealedVerification.pushSubscriptionId, sealedId);
      await receiver.nth("/idle", 0);

      const [[, wrong], [, gotBefore]] = (await api([
        ["PushSubscription/set", { update: { [plainId]: { verificationCode: "not-it" } } }, "0"],
        ["PushSubscription/get", { ids: [plainId, "nope"] }, "1"],
      ])) as [[string, Loose], [string, Loose]];
      assert.equal(wrong.notUpdated?.[plainId]?.type, "invalidProperties");
      assert.deepEqual(wrong.notUpdated?.[plainId]?.properties, ["verificationCode"]);
      assert.deepEqual(gotBefore.notFound, ["nope"]);
      assert.deepEqual(Object.keys(gotBefore.list[0]).sort(), [
        "deviceClientId",
        "expires",
        "id",
        "types",
        "verificationCode",
      ]);
      assert.equal(gotBefore.list[0].verificationCode, null);
      assert.deepEqual(gotBefore.list[0].types, ["Email"]);

      const [[, verified]] = (await api([
        [
          "PushSubscription/set",
          {
            update: {
              [plainId]: { verificationCode: verification.verificationCode },
              [sealedId]: { verificationCode: sealedVerification.verificationCode },
            },
          },
          "0",
        ],
      ])) as [[string, Loose]];
      assert.deepEqual(verified.updated, { [plainId]: null, [sealedId]: null }, JSON.stringify(verified));

      await change();
      const plainChange = json(await receiver.nth("/plain", 1));
      assert.equal(plainChange["@type"], "StateChange");
      // types ["Email"]: the Mailbox and Thread states moved too, and are not told.
      assert.deepEqual(Object.keys(plainChange.changed), [accountId]);
      assert.deepEqual(Object.keys(plainChange.changed[accountId]), ["Email"]);
      const sealedChange = JSON.parse(
        decryptPush((await receiver.nth("/sealed", 1)).body, device.ecdh, device.auth).toString(),
      );
      assert.deepEqual(Object.keys(sealedChange.changed[accountId]).sort(), ["Email", "Mailbox", "Thread"]);
      const [[, session]] = (await api([["Mailbox/get", { accountId, ids: [] }, "0"]])) as [[string, Loose]];
      assert.equal(sealedChange.changed[accountId].Mailbox, session.state);

      // Durable: after a restart the verified subscriptions are still pushed to.
      await server.stop();
      await server.restart();
      await change();
      const afterRestart = json(await receiver.nth("/plain", 2));
      assert.equal(afterRestart["@type"], "StateChange");
      const [[, listed]] = (await api([["PushSubscription/get", {}, "0"]])) as [[string, Loose]];
      assert.equal(listed.list.length, 3);
      const plain = listed.list.find((each: Loose) => each.id === plainId);
      assert.equal(plain.verificationCode, verification.verificationCode);

      // Destroyed: no more pushes. The stop below waits for every push in flight, so the counts are final.
      const [[, destroyed]] = (await api([
        ["PushSubscription/set", { destroy: [plainId, "nope"] }, "0"],
      ])) as [[string, Loose]];
      assert.deepEqual(destroyed.destroyed, [plainId]);
      assert.equal(destroyed.notDestroyed?.nope?.type, "notFound");
      await change();
      await receiver.nth("/sealed", 3);
      await server.stop();
      assert.equal(receiver.received("/plain").length, 3);
      // Never verified: only its PushVerification.
      assert.equal(receiver.received("/idle").length, 1);
      await server.restart();
    });

    test("bad arguments: url and keys never returned, immutable properties, past expiry, bad url", async () => {
      const responses = await api([
        ["PushSubscription/get", { properties: ["url"] }, "url"],
        ["PushSubscription/get", { properties: ["keys", "id"] }, "keys"],
        ["PushSubscription/get", { accountId }, "getAccount"],
        ["PushSubscription/set", { accountId, create: {} }, "account"],
        [
          "PushSubscription/set",
          {
            create: {
              past: { deviceClientId: "d", url: receiver.url("/x"), expires: "2000-01-01T00:00:00Z" },
              far: { deviceClientId: "d", url: receiver.url("/far"), expires: "2999-01-01T00:00:00Z" },
              noUrl: { deviceClientId: "d", url: "not a url" },
              ftp: { deviceClientId: "d", url: "ftp://example.net/x" },
              coded: { deviceClientId: "d", url: receiver.url("/x"), verificationCode: "x" },
              badKeys: { deviceClientId: "d", url: receiver.url("/x"), keys: { p256dh: "x", auth: "y" } },
              extra: { deviceClientId: "d", url: receiver.url("/x"), id: "mine" },
            },
          },
          "create",
        ],
      ]);
      const [url, keys, getAccount, account, create] = responses.map((each) => each[1]) as Loose[];
      assert.equal(url?.type, "forbidden");
      assert.equal(keys?.type, "forbidden");
      assert.equal(getAccount?.type, "invalidArguments");
      assert.equal(account?.type, "invalidArguments");
      const refused = (key: string) => [
        create?.notCreated?.[key]?.type,
        create?.notCreated?.[key]?.properties,
      ];
      assert.deepEqual(refused("past"), ["invalidProperties", ["expires"]]);
      assert.deepEqual(refused("noUrl"), ["invalidProperties", ["url"]]);
      assert.deepEqual(refused("ftp"), ["invalidProperties", ["url"]]);
      assert.deepEqual(refused("coded"), ["invalidProperties", ["verificationCode"]]);
      assert.deepEqual(refused("badKeys"), ["invalidProperties", ["keys"]]);
      assert.deepEqual(refused("extra"), ["invalidProperties", ["id"]]);
      // Too far ahead: shortened, and the answer says to what.
      const far = create?.created?.far;
      assert.ok(Date.parse(far.expires) < Date.parse("2999-01-01T00:00:00Z"), JSON.stringify(create));
      const [[, immutable]] = (await api([
        [
          "PushSubscription/set",
          { update: { [far.id]: { url: receiver.url("/elsewhere"), types: ["Mailbox"] } } },
          "0",
        ],
      ])) as [[string, Loose]];
      assert.deepEqual(immutable.notUpdated?.[far.id]?.properties, ["url"]);
      // A receiver that answers 410 Gone loses its subscription.
      const [[, gone]] = (await api([
        ["PushSubscription/set", { create: { g: { deviceClientId: "d", url: receiver.url("/gone") } } }, "0"],
      ])) as [[string, Loose]];
      await receiver.nth("/gone", 0);
      await server.stop();
      await server.restart();
      const [[, afterGone]] = (await api([["PushSubscription/get", { ids: [gone.created.g.id] }, "0"]])) as [
        [string, Loose],
      ];
      assert.deepEqual(afterGone.notFound, [gone.created.g.id]);
    });
  });
}
