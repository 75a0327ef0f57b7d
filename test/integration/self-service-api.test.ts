// The self-service part of the admin API (/admin/api/me, issue 15) against a real `mailroom serve` on
// both stores: any logged-in user changes their own password (the current one checked as a login: a
// wrong one gets exactly a failed login's answer, and the throttle counts it) and makes, lists and
// revokes their own app passwords, which then log in over IMAP (imapflow) and JMAP; nothing under it
// reaches another account, and the admin part stays refused to a user without the role.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const PASSWORD = "a long enough passphrase";
const NEW_PASSWORD = "another long passphrase";
/** How many failed logins from one address the server takes before it answers 429. */
const MAX_FAILURES = 12;

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function imap(port: number, user: string, pass: string): ImapFlow {
  return new ImapFlow({
    host: "127.0.0.1",
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    logger: false,
  });
}

/** Whether an IMAP LOGIN with these credentials succeeds (imapflow, a real client). */
async function imapLogsIn(port: number, user: string, pass: string): Promise<boolean> {
  const client = imap(port, user, pass);
  try {
    await client.connect();
  } catch (error) {
    if ((error as { authenticationFailed?: boolean }).authenticationFailed === true) return false;
    throw error;
  }
  await client.logout();
  return true;
}

for (const backend of await integrationBackends()) {
  describe(`self-service API on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let base: string;

    async function call(
      authorization: string,
      method: string,
      path: string,
      body?: unknown,
      type = "application/json",
    ): Promise<{ status: number; json: Loose; headers: Headers }> {
      const response = await fetch(`${base}/admin/api${path}`, {
        method,
        headers: { Authorization: authorization, ...(body === undefined ? {} : { "Content-Type": type }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        json: text === "" ? {} : JSON.parse(text),
        headers: response.headers,
      };
    }
    const jmapStatus = async (authorization: string) =>
      (await fetch(`${base}/.well-known/jmap`, { headers: { Authorization: authorization } })).status;

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          MAILROOM_AUTH_FAILURE_DELAY: "1ms",
          MAILROOM_AUTH_MAX_FAILURES_PER_IP: String(MAX_FAILURES),
        },
      });
      base = `http://127.0.0.1:${server.ports.http}`;
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const user of [ALICE, BOB]) {
        const added = await server.cli(["user", "add", user, "--password-stdin"], `${PASSWORD}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("any user reads their own account under /me; the admin part stays refused to them", async () => {
      const me = await call(basic(ALICE, PASSWORD), "GET", "/me");
      assert.equal(me.status, 200);
      assert.deepEqual([me.json.address, me.json.admin, me.json.disabled], [ALICE, false, false]);
      assert.equal((await call(basic(ALICE, PASSWORD), "GET", "/users")).status, 403);
      assert.equal(
        (await call(basic(ALICE, PASSWORD), "PUT", `/users/${BOB}/password`, { password: NEW_PASSWORD }))
          .status,
        403,
      );
      assert.equal((await call(basic(ALICE, PASSWORD), "GET", "/me/nothing")).status, 404);
      assert.equal((await call(basic(ALICE, PASSWORD), "POST", "/me")).status, 405);
      assert.equal((await fetch(`${base}/admin/api/me`)).status, 401);
    });

    test("app passwords: created and shown once, listed without the secret, log in over IMAP and JMAP, revoked", async () => {
      const made = await call(basic(ALICE, PASSWORD), "POST", "/me/app-passwords", { name: "phone" });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      const token = made.json.token as string;
      assert.match(token, /^mrt_/);
      const listed = await call(basic(ALICE, PASSWORD), "GET", "/me/app-passwords");
      assert.deepEqual(
        listed.json.tokens.map((each: Loose) => [each.id, each.name, "token" in each]),
        [[made.json.id, "phone", false]],
      );
      // The same token store the CLI reads: one code path.
      assert.match(
        (await server.cli(["token", "list", ALICE])).stdout,
        new RegExp(`^${made.json.id}\tphone`),
      );
      assert.equal(
        await imapLogsIn(server.ports.imap, ALICE, token),
        true,
        "IMAP LOGIN with the app password",
      );
      assert.equal(await jmapStatus(basic(ALICE, token)), 200);
      assert.equal(await imapLogsIn(server.ports.imap, BOB, token), false, "not as another user");

      // Logged in with an app password, the list is readable, but no app password is made or revoked.
      assert.equal((await call(basic(ALICE, token), "GET", "/me/app-passwords")).status, 200);
      assert.equal((await call(basic(ALICE, token), "POST", "/me/app-passwords", { name: "x" })).status, 403);
      assert.equal(
        (await call(`Bearer ${token}`, "DELETE", `/me/app-passwords/${made.json.id}`, {})).status,
        403,
      );

      assert.equal(
        (await call(basic(ALICE, PASSWORD), "POST", "/me/app-passwords", { name: " " })).status,
        400,
      );
      assert.equal(
        (await call(basic(ALICE, PASSWORD), "POST", "/me/app-passwords", { name: "x" }, "text/plain")).status,
        415,
        "writes only as application/json",
      );
      const revoked = await call(basic(ALICE, PASSWORD), "DELETE", `/me/app-passwords/${made.json.id}`, {});
      assert.equal(revoked.status, 204);
      assert.equal(await imapLogsIn(server.ports.imap, ALICE, token), false, "revoked: IMAP refuses it");
      assert.equal(await jmapStatus(basic(ALICE, token)), 401);
      assert.deepEqual((await call(basic(ALICE, PASSWORD), "GET", "/me/app-passwords")).json.tokens, []);
    });

    test("no other account is reachable: another user's app password can be neither seen nor revoked", async () => {
      const alices = await call(basic(ALICE, PASSWORD), "POST", "/me/app-passwords", { name: "laptop" });
      assert.equal(alices.status, 201);
      const asBob = basic(BOB, PASSWORD);
      assert.deepEqual((await call(asBob, "GET", "/me/app-passwords")).json.tokens, []);
      const refused = await call(asBob, "DELETE", `/me/app-passwords/${alices.json.id}`, {});
      assert.equal(refused.status, 404);
      assert.equal(await jmapStatus(basic(ALICE, alices.json.token)), 200, "still valid");
      assert.equal((await call(asBob, "GET", `/users/${ALICE}/tokens`)).status, 403);
      assert.equal((await call(asBob, "DELETE", `/users/${ALICE}/tokens/${alices.json.id}`, {})).status, 403);
      // Paths that try to climb out of /me: dot segments are resolved before routing (so this is the
      // admin part, refused), an encoded slash is no separator (so it matches nothing).
      for (const path of [`/admin/api/me/../users/${ALICE}/tokens`, `/admin/api/me/..%2Fusers%2F${ALICE}`]) {
        const status = await new Promise<number>((resolve, reject) => {
          const request = http.request(
            { host: "127.0.0.1", port: server.ports.http, path, headers: { Authorization: asBob } },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          request.on("error", reject);
          request.end();
        });
        assert.ok(status === 403 || status === 404, `${path}: ${status}`);
      }
      // A password change under /me changes only the caller's.
      const changed = await call(asBob, "PUT", "/me/password", {
        currentPassword: PASSWORD,
        password: NEW_PASSWORD,
      });
      assert.equal(changed.status, 204);
      assert.equal(await jmapStatus(basic(ALICE, PASSWORD)), 200, "alice's password is untouched");
      assert.equal(await jmapStatus(basic(BOB, NEW_PASSWORD)), 200);
      assert.equal(
        (
          await call(basic(BOB, NEW_PASSWORD), "PUT", "/me/password", {
            currentPassword: NEW_PASSWORD,
            password: PASSWORD,
          })
        ).status,
        204,
      );
    });

    test("changing the password: a wrong current one is answered as a failed login; the new one works everywhere, open sessions stay", async () => {
      const failedLogin = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic(ALICE, "not the password") },
      });
      const wrong = await call(basic(ALICE, PASSWORD), "PUT", "/me/password", {
        currentPassword: "not the password",
        password: NEW_PASSWORD,
      });
      assert.equal(wrong.status, failedLogin.status);
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.json, await failedLogin.json());
      assert.equal(wrong.headers.get("www-authenticate"), failedLogin.headers.get("www-authenticate"));
      assert.equal(await jmapStatus(basic(ALICE, PASSWORD)), 200, "nothing changed");

      const weak = await call(basic(ALICE, PASSWORD), "PUT", "/me/password", {
        currentPassword: PASSWORD,
        password: "short",
      });
      assert.equal(weak.status, 400);
      assert.match(weak.json.detail, /fewer than 8/);
      assert.equal(
        (await call(basic(ALICE, PASSWORD), "PUT", "/me/password", { currentPassword: PASSWORD })).status,
        400,
      );

      const kept = await call(basic(ALICE, PASSWORD), "POST", "/me/app-passwords", { name: "kept" });
      const open = imap(server.ports.imap, ALICE, PASSWORD);
      await open.connect();
      const changed = await call(basic(ALICE, PASSWORD), "PUT", "/me/password", {
        currentPassword: PASSWORD,
        password: NEW_PASSWORD,
      });
      assert.equal(changed.status, 204, JSON.stringify(changed.json));
      assert.equal(await jmapStatus(basic(ALICE, PASSWORD)), 401, "the old password no longer logs in");
      assert.equal(await imapLogsIn(server.ports.imap, ALICE, PASSWORD), false);
      assert.equal(await imapLogsIn(server.ports.imap, ALICE, NEW_PASSWORD), true);
      assert.equal(await jmapStatus(basic(ALICE, NEW_PASSWORD)), 200);
      assert.equal(await jmapStatus(basic(ALICE, kept.json.token)), 200, "app passwords are kept by default");
      // An IMAP session opened before the change is not cut.
      const status = await open.status("INBOX", { messages: true });
      assert.ok(status, "STATUS INBOX answered");
      assert.equal(status.messages, 0);
      await open.logout();

      const revoking = await call(basic(ALICE, NEW_PASSWORD), "PUT", "/me/password", {
        currentPassword: NEW_PASSWORD,
        password: PASSWORD,
        revokeAppPasswords: true,
      });
      assert.equal(revoking.status, 204);
      assert.equal(
        await jmapStatus(basic(ALICE, kept.json.token)),
        401,
        "revoked with the change, when asked",
      );
      assert.deepEqual((await call(basic(ALICE, PASSWORD), "GET", "/me/app-passwords")).json.tokens, []);
    });

    // Last: it spends this address's allowance of failures.
    test("wrong current passwords count in the login throttle: past it, 429 for them and for logins alike", async () => {
      let status = 0;
      for (let attempt = 0; attempt <= MAX_FAILURES && status !== 429; attempt++) {
        status = (
          await call(basic(ALICE, PASSWORD), "PUT", "/me/password", {
            currentPassword: `wrong ${attempt}`,
            password: NEW_PASSWORD,
          })
        ).status;
        if (status !== 429) assert.equal(status, 401);
      }
      assert.equal(status, 429, "throttled like a login");
      assert.equal(await jmapStatus(basic(ALICE, PASSWORD)), 429, "a login from there is throttled too");
    });
  });
}
