// The admin service and the sans-IO /admin/api over a real SQLite store: what each operation does to the
// store, its refusals (code, neutral message, CLI hint), the queue entry with its header and trace, a
// delivering entry left alone unless forced, the status from the runtime given; and the API's routing,
// methods, JSON-only writes and problem mapping, without a socket.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createAdminApi } from "../../src/admin/api.js";
import { AdminError, createAdminService } from "../../src/admin/service.js";
import { verifyPasswordHash } from "../../src/auth/password.js";
import { createRecentEvents } from "../../src/log/recent.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { writeBlob } from "../contract/support.js";
import { silentLogger } from "../store/helpers.js";

const PASSWORD = "a long enough passphrase";

async function rejectsWith(promise: Promise<unknown>, code: AdminError["code"], message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AdminError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe("admin service", () => {
  let dataDir: string;
  let store: Store;
  const startedAt = new Date("2026-12-04T10:00:00Z");
  let service: ReturnType<typeof createAdminService>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-admin-"));
    store = await openSqliteStore({ dataDir, logger: silentLogger });
    service = createAdminService({
      store,
      hostname: "mx.example.org",
      version: "9.9.9",
      now: () => new Date("2026-12-04T11:30:05Z"),
    });
  });
  after(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("a domain: added with a DKIM key and its records, listed with counts, refused twice", async () => {
    const added = await service.addDomain("Bücher.Example", ["192.0.2.1"]);
    assert.equal(added.domain, "xn--bcher-kva.example");
    assert.equal(added.dkim, true);
    assert.deepEqual(
      added.records.map((record) => record.kind),
      ["MX", "SPF", "DKIM", "DMARC", "PTR"],
    );
    assert.ok(await store.directory.getDkimKey("xn--bcher-kva.example"));
    await rejectsWith(service.addDomain("xn--bcher-kva.example"), "exists", /already served here/);
    await rejectsWith(service.addDomain("no_such thing"), "invalid", /not a valid domain name/);
    const [listed] = await service.listDomains();
    assert.deepEqual(
      [listed?.name, listed?.users, listed?.aliases, listed?.dkimSelector],
      ["xn--bcher-kva.example", 0, 0, (await store.directory.getDkimKey(added.domain))?.selector],
    );
  });

  test("users: added with a hashed password and the role; weak passwords and unknown domains refused with hints", async () => {
    await service.addDomain("example.org");
    const user = await service.addUser("Root@Example.org", PASSWORD, { admin: true });
    assert.deepEqual([user.address, user.admin], ["root@example.org", true]);
    const stored = await store.directory.getUser("root@example.org");
    assert.ok(stored && (await verifyPasswordHash(PASSWORD, stored.passwordHash)));
    await rejectsWith(
      service.addUser("x@example.org", "short"),
      "invalid",
      /it has 5 characters, fewer than 8/,
    );
    assert.equal(await store.directory.getUser("x@example.org"), null);
    await assert.rejects(service.addUser("x@nowhere.example", PASSWORD), (error: AdminError) => {
      assert.equal(error.message, "domain nowhere.example is not served here");
      assert.equal(error.hint, "add it with 'mailroom domain add nowhere.example'");
      return true;
    });
    await rejectsWith(service.addUser("root@example.org", PASSWORD), "exists", /already exists/);
    await service.setPassword("root@example.org", "another passphrase");
    const changed = await store.directory.getUser("root@example.org");
    assert.ok(changed && (await verifyPasswordHash("another passphrase", changed.passwordHash)));
    assert.equal((await service.setAdmin("root@example.org", false)).admin, false);
    await rejectsWith(service.setAdmin("ghost@example.org", true), "not-found", /there is no user ghost/);
    assert.equal(user.disabled, false);
    assert.deepEqual(
      [
        (await service.setDisabled("ROOT@example.org", true)).disabled,
        (await service.listUsers())[0]?.disabled,
      ],
      [true, true],
    );
    assert.equal((await store.directory.getUser("root@example.org"))?.disabled, true);
    assert.equal((await service.setDisabled("root@example.org", false)).disabled, false);
    await rejectsWith(service.setDisabled("ghost@example.org", true), "not-found", /there is no user ghost/);
  });

  test("aliases and catch-alls: warnings, loops, shadowed users, removal of one destination", async () => {
    const alias = await service.addAlias("team@example.org", "root@example.org");
    assert.deepEqual([alias.catchAll, alias.warning], [false, null]);
    const catchAll = await service.addAlias("@example.org", "nobody@example.org");
    assert.equal(catchAll.catchAll, true);
    assert.match(catchAll.warning ?? "", /nobody@example\.org is neither a user nor an alias here yet/);
    await rejectsWith(service.addAlias("me@example.org", "ME@example.org"), "invalid", /would loop/);
    await rejectsWith(service.addAlias("root@example.org", "team@example.org"), "conflict", /is a user here/);
    await service.addAlias("team@example.org", "far@remote.example");
    await rejectsWith(
      service.removeAlias("team@example.org", "nobody@example.org"),
      "not-found",
      /does not forward to nobody@example\.org; it forwards to far@remote\.example, root@example\.org/,
    );
    assert.deepEqual(await service.removeAlias("team@example.org", "far@remote.example"), [
      "far@remote.example",
    ]);
    assert.deepEqual(await store.directory.aliasDestinations("team@example.org"), ["root@example.org"]);
    await rejectsWith(service.removeDomain("example.org"), "conflict", /still has 1 user and 2 aliases/);
  });

  test("the queue: an entry with its header and trace; retry, delivering entries left alone unless forced", async () => {
    const blob = await writeBlob(store, "From: root@example.org\r\nSubject: out\r\n\r\nbody\r\n");
    const delivered = await store.messages.deliver({
      blob,
      sender: "root@example.org",
      internalDate: new Date(),
      mailboxes: [],
      queue: [{ recipient: "far@remote.example" }],
      trace: [{ at: new Date(), kind: "queued", recipient: "far@remote.example", data: {} }],
    });
    const id = delivered.queueIds[0] as string;
    const [listed] = await service.listQueue();
    assert.deepEqual([listed?.id, listed?.recipient, listed?.state], [id, "far@remote.example", "queued"]);
    const shown = await service.showQueueEntry(id);
    assert.match(shown.header, /^Subject: out\r$/m);
    assert.equal(shown.headerError, null);
    assert.deepEqual(
      shown.trace?.events.map((event) => event.kind),
      ["queued"],
    );
    assert.equal(await service.retryQueue(id), 1);
    const [claimed] = await store.queue.claim(new Date(Date.now() + 1000), 1, 60_000);
    assert.equal(claimed?.id, id);
    await rejectsWith(service.retryQueue(id), "conflict", /being delivered right now/);
    await rejectsWith(service.deleteQueueEntry(id), "conflict", /may still arrive/);
    assert.equal((await service.deleteQueueEntry(id, { force: true })).id, id);
    await assert.rejects(service.showQueueEntry(id), (error: AdminError) => {
      assert.deepEqual([error.code, error.hint], ["not-found", "see 'mailroom queue list'"]);
      return true;
    });
  });

  test("status: version, store, uptime from the runtime, counts", async () => {
    const status = await service.status({
      startedAt,
      listeners: () => [{ name: "http", host: "127.0.0.1", port: 8025 }],
    });
    assert.deepEqual(
      [status.version, status.store, status.hostname, status.uptimeSeconds],
      ["9.9.9", "sqlite", "mx.example.org", 5405],
    );
    assert.deepEqual(status.listeners, [{ name: "http", host: "127.0.0.1", port: 8025 }]);
    assert.deepEqual(status.counts, { domains: 2, users: 1, aliases: 2, queued: 0 });
    assert.deepEqual([status.node, status.recentErrors], [null, null], "a runtime without them");
    const store = await service.storeStatus();
    assert.deepEqual(store.counts, status.counts);
  });

  test("status: the node and its ring of recent errors, named for the node", async () => {
    const ring = createRecentEvents(5);
    ring.record({
      level: "warn",
      time: "2026-12-04T11:00:00.000Z",
      msg: "queue: returning to sender",
      proto: "queue",
    });
    const status = await service.status({
      startedAt,
      listeners: () => [],
      node: { host: "node-a", pid: 42 },
      recentErrors: () => ring.snapshot(),
    });
    assert.deepEqual(status.node, { host: "node-a", pid: 42 });
    assert.equal(status.recentErrors?.node, "node-a");
    assert.deepEqual(
      [status.recentErrors?.capacity, status.recentErrors?.total, status.recentErrors?.dropped],
      [5, 1, 0],
    );
    assert.equal(status.recentErrors?.events[0]?.message, "queue: returning to sender");
  });

  describe("the API without a socket", () => {
    let woken = 0;
    const api = () =>
      createAdminApi({
        service,
        runtime: { startedAt, listeners: () => [] },
        wakeQueue: () => {
          woken++;
        },
      });
    const request = (
      method: string,
      path: string,
      body?: unknown,
      contentType = "application/json",
      actor: { userId: number; address: string } | null = null,
    ) =>
      api()({
        method,
        path,
        query: new URLSearchParams(path.includes("?") ? path.slice(path.indexOf("?")) : ""),
        contentType: body === undefined ? null : contentType,
        body: Buffer.from(body === undefined ? "" : JSON.stringify(body)),
        actor,
      });

    test("an admin cannot disable, demote or remove their own account: 409, nothing changed", async () => {
      const root = await store.directory.getUser("root@example.org");
      assert.ok(root);
      await store.directory.setAdmin(root.address, true);
      const me = { userId: root.id, address: root.address };
      const attempts: Array<[string, string, unknown, RegExp]> = [
        ["PUT", "/users/root@example.org/disabled", { disabled: true }, /cannot disable your own account/],
        [
          "PUT",
          "/users/Root@Example.org/admin",
          { admin: false },
          /cannot take the admin role from your own/,
        ],
        ["DELETE", "/users/root@example.org", {}, /cannot remove your own account/],
      ];
      for (const [method, path, body, message] of attempts) {
        const refused = await request(method, path, body, "application/json", me);
        assert.equal(refused.status, 409, path);
        const problem = refused.body as { code: string; detail: string };
        assert.equal(problem.code, "conflict");
        assert.match(problem.detail, message);
        assert.match(problem.detail, /logged in as root@example\.org.*lock yourself out/);
      }
      const after = await store.directory.getUser("root@example.org");
      assert.deepEqual([after?.admin, after?.disabled], [true, false], "nothing changed");
      // What cannot lock anyone out stays allowed, and so does the same change by someone else.
      assert.equal(
        (await request("PUT", "/users/root@example.org/disabled", { disabled: false }, undefined, me)).status,
        200,
      );
      assert.equal(
        (await request("PUT", "/users/root@example.org/admin", { admin: true }, undefined, me)).status,
        200,
      );
      const other = { userId: root.id + 1000, address: "other@example.org" };
      assert.equal(
        (await request("PUT", "/users/root@example.org/admin", { admin: false }, undefined, other)).status,
        200,
      );
      // The CLI acts for the operator, with no actor.
      assert.equal((await service.setAdmin("root@example.org", true)).admin, true);
    });

    test("routes, methods, JSON-only writes, problems with codes", async () => {
      const listed = await request("GET", "/users");
      assert.equal(listed.status, 200);
      assert.deepEqual(
        (listed.body as { users: { address: string }[] }).users.map((user) => user.address),
        ["root@example.org"],
      );
      const notJson = await request("POST", "/domains", { name: "a.example" }, "text/plain");
      assert.equal(notJson.status, 415);
      assert.equal(await store.directory.getDomain("a.example"), null);
      const noBody = await request("POST", "/domains");
      assert.equal(noBody.status, 415);
      const method = await request("PATCH", "/users", {});
      assert.deepEqual([method.status, method.headers?.Allow], [405, "GET, POST"]);
      const wrongType = await request("POST", "/users", { address: 7, password: PASSWORD });
      assert.equal(wrongType.status, 400);
      assert.match((wrongType.body as { detail: string }).detail, /"address" must be a string/);
      const conflict = await request("DELETE", "/domains/example.org", {});
      assert.deepEqual(
        [conflict.status, (conflict.body as { code: string }).code, (conflict.body as { type: string }).type],
        [409, "conflict", "about:blank"],
      );
      const unknown = await request("GET", "/nothing/here");
      assert.equal(unknown.status, 404);
      const encoded = await request("GET", `/domains/${encodeURIComponent("xn--bcher-kva.example")}/records`);
      assert.equal(encoded.status, 200);
      const removed = await request("DELETE", `/aliases/${encodeURIComponent("@example.org")}`, {});
      assert.deepEqual(removed.body, { removed: ["nobody@example.org"] });
    });

    test("retry wakes the queue runner only when something became due", async () => {
      woken = 0;
      const none = await request("POST", "/queue/retry", {});
      assert.deepEqual([none.status, none.body, woken], [200, { due: 0 }, 0]);
      const blob = await writeBlob(store, "Subject: again\r\n\r\nbody\r\n");
      await store.messages.deliver({
        blob,
        sender: "root@example.org",
        internalDate: new Date(),
        mailboxes: [],
        queue: [{ recipient: "other@remote.example" }],
      });
      const one = await request("POST", "/queue/retry", {});
      assert.deepEqual([one.body, woken], [{ due: 1 }, 1]);
    });
  });
});
