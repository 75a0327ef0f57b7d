// The web admin's JSON API (/admin/api) against a real `mailroom serve` on both stores, with fetch and
// curl: who may use it (401 without credentials, 403 for a user without the role, Basic and Bearer for
// an admin, the role read at every request), domains with their records, users, aliases and
// catch-alls (checked through the CLI and a JMAP login of the new user: one code path, real effects),
// the queue with a message's trace, retry and delete, the server's status, and the refusals.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

const ADMIN = "root@example.org";
const ALICE = "alice@example.org";
const PASSWORD = "a long enough passphrase";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

for (const backend of await integrationBackends()) {
  describe(`admin API on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let dns: TestDns;
    let base: string;
    let adminToken: string;
    const asAdmin = { Authorization: basic(ADMIN, PASSWORD) };

    /** A request to the admin API; bodies go as JSON. */
    async function call(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = asAdmin,
    ): Promise<{ status: number; type: string; json: Loose; headers: Headers }> {
      const response = await fetch(`${base}/admin/api${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        type: response.headers.get("content-type") ?? "",
        // A 204 has no body; {} keeps the assertions' property reads simple.
        json: text === "" ? {} : (JSON.parse(text) as Loose),
        headers: response.headers,
      };
    }

    before(async () => {
      // example.org's MX is right and its SPF names our address; DKIM and DMARC are not published.
      dns = await startTestDns({
        "mx.mailroom.test": { a: ["192.0.2.25"] },
        "example.org": { mx: [{ preference: 10, exchange: "mx.mailroom.test" }], txt: ["v=spf1 mx -all"] },
        // Nothing listens on 127.0.0.2: mail for remote.test is deferred and waits in the queue.
        "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
        "mx.remote.test": { a: ["127.0.0.2"] },
      });
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          MAILROOM_AUTH_FAILURE_DELAY: "1ms",
          MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
        },
      });
      base = `http://127.0.0.1:${server.ports.http}`;
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      const root = await server.cli(["user", "add", ADMIN, "--admin", "--password-stdin"], `${PASSWORD}\n`);
      assert.equal(root.code, 0, root.stderr);
      const alice = await server.cli(["user", "add", ALICE, "--password-stdin"], `${PASSWORD}\n`);
      assert.equal(alice.code, 0, alice.stderr);
      const token = await server.cli(["token", "create", ADMIN, "--name", "admin-tests"]);
      assert.equal(token.code, 0, token.stderr);
      adminToken = token.stdout.trim();
    });

    after(async () => {
      await server?.cleanup();
      await dns?.close();
      await backend.release();
    });

    test("app passwords: created (shown once) and logging in over JMAP, listed, revoked; the CLI sees the same", async () => {
      const made = await call("POST", `/users/${ALICE}/tokens`, { name: "phone" });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      assert.match(made.json.token, /^\S{20,}$/);
      const session = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic(ALICE, made.json.token) },
      });
      assert.equal(session.status, 200, "the new app password logs in");
      const listed = await call("GET", `/users/${ALICE}/tokens`);
      assert.deepEqual(
        listed.json.tokens.map((token: Loose) => [token.id, token.name, "token" in token]),
        [[made.json.id, "phone", false]],
        "listed without its secret",
      );
      assert.match(
        (await server.cli(["token", "list", ALICE])).stdout,
        new RegExp(`^${made.json.id}\tphone\t`),
      );
      assert.equal((await call("POST", `/users/${ALICE}/tokens`, { name: " " })).status, 400);
      assert.equal((await call("DELETE", `/users/${ALICE}/tokens/${made.json.id}`, {})).status, 204);
      assert.equal((await call("DELETE", `/users/${ALICE}/tokens/${made.json.id}`, {})).status, 404);
      const after = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic(ALICE, made.json.token) },
      });
      assert.equal(after.status, 401, "a revoked app password no longer logs in");
    });

    test("quota: set, shown with the usage, lifted; the CLI reads the same; bad limits refused", async () => {
      const none = await call("GET", `/users/${ALICE}/quota`);
      assert.deepEqual({ ...none.json, used: 0 }, { address: ALICE, limit: null, used: 0 });
      const set = await call("PUT", `/users/${ALICE}/quota`, { limit: 5_000_000 });
      assert.equal(set.status, 200);
      assert.equal(set.json.limit, 5_000_000);
      assert.match(
        (await server.cli(["user", "quota", ALICE])).stdout,
        /of 4\.8 MiB in use|of 5(\.0)? MB in use|of 4\.77 MiB/,
      );
      assert.equal((await call("PUT", `/users/${ALICE}/quota`, { limit: "lots" })).status, 400);
      assert.equal((await call("PUT", `/users/${ALICE}/quota`, { limit: -1 })).status, 400);
      assert.equal((await call("PUT", `/users/${ALICE}/quota`, { limit: null })).json.limit, null);
      assert.equal((await call("GET", "/users/nobody@example.org/quota")).status, 404);
    });

    test("live DNS: a domain's records checked as doctor checks them, each finding with what to change", async () => {
      const checked = await call("GET", "/domains/example.org/check");
      assert.equal(checked.status, 200, JSON.stringify(checked.json));
      const byCheck = Object.fromEntries(
        checked.json.findings.map((finding: Loose) => [finding.check, finding]),
      );
      assert.equal(byCheck["MX example.org"]?.status, "ok", JSON.stringify(checked.json.findings));
      assert.equal(byCheck["DMARC example.org"]?.status === "ok", false, "no DMARC record is published");
      assert.ok(
        checked.json.findings.every(
          (finding: Loose) => typeof finding.message === "string" && finding.message.length > 0,
        ),
      );
      assert.equal((await call("GET", "/domains/nowhere.example/check")).status, 404);
    });

    test("no credentials: 401 asking for Basic or Bearer, as an RFC 7807 problem", async () => {
      const refused = await call("GET", "/status", undefined, {});
      assert.equal(refused.status, 401);
      assert.match(refused.type, /^application\/problem\+json/);
      assert.match(refused.headers.get("www-authenticate") ?? "", /Basic realm="mailroom".*Bearer/);
      assert.equal(refused.json.status, 401);
      const wrong = await call("GET", "/domains", undefined, {
        Authorization: basic(ADMIN, "not it at all"),
      });
      assert.equal(wrong.status, 401);
    });

    test("a user without the admin role: 403 problem; granted with the CLI it works, taken away it stops", async () => {
      const asAlice = { Authorization: basic(ALICE, PASSWORD) };
      const refused = await call("GET", "/domains", undefined, asAlice);
      assert.equal(refused.status, 403);
      assert.match(refused.type, /^application\/problem\+json/);
      assert.deepEqual([refused.json.type, refused.json.title], ["about:blank", "Forbidden"]);
      assert.match(refused.json.detail, /alice@example\.org is not an admin/);
      // Nor may she change anything, even with a well-formed request.
      const write = await call("POST", "/domains", { name: "alice.test" }, asAlice);
      assert.equal(write.status, 403);
      assert.equal((await server.cli(["user", "admin", ALICE, "on"])).code, 0);
      assert.equal((await call("GET", "/domains", undefined, asAlice)).status, 200);
      assert.equal((await server.cli(["user", "admin", ALICE, "off"])).code, 0);
      assert.equal((await call("GET", "/domains", undefined, asAlice)).status, 403);
      // And through the API: an admin grants and takes away the role.
      const granted = await call("PUT", `/users/${ALICE}/admin`, { admin: true });
      assert.deepEqual([granted.status, granted.json.admin], [200, true]);
      assert.equal((await call("GET", "/status", undefined, asAlice)).status, 200);
      const taken = await call("PUT", `/users/${ALICE}/admin`, { admin: false });
      assert.deepEqual([taken.status, taken.json.admin], [200, false]);
      assert.equal((await call("GET", "/status", undefined, asAlice)).status, 403);
    });

    test("an admin's app token as Bearer, and curl with Basic", { skip: needs(clients.curl) }, async () => {
      const bearer = await call("GET", "/status", undefined, { Authorization: `Bearer ${adminToken}` });
      assert.equal(bearer.status, 200);
      const { stdout } = await run("curl", [
        "-s",
        "-S",
        "--max-time",
        "20",
        "-u",
        `${ADMIN}:${PASSWORD}`,
        "-w",
        "\n%{http_code}",
        `${base}/admin/api/domains`,
      ]);
      const [body, status] = stdout.split(/\n(?=\d+$)/);
      assert.equal(status, "200");
      assert.ok((JSON.parse(body ?? "") as Loose).domains.some((d: Loose) => d.name === "example.org"));
    });

    test("status: version, store, listeners with their bound ports, uptime, counts", async () => {
      const { status, json } = await call("GET", "/status");
      assert.equal(status, 200);
      assert.equal(json.version, "0.1.0");
      assert.equal(json.store, backend.name);
      assert.equal(json.hostname, "mx.mailroom.test");
      assert.ok(json.uptimeSeconds >= 0);
      assert.ok(!Number.isNaN(Date.parse(json.startedAt)));
      const http = (json.listeners as Loose[]).find((listener) => listener.name === "http");
      assert.deepEqual(http, { name: "http", host: "127.0.0.1", port: server.ports.http });
      assert.ok((json.listeners as Loose[]).some((listener) => listener.name === "smtp"));
      assert.ok(json.counts.users >= 2);
    });

    test("add a domain, a user and aliases, list them; the CLI and a JMAP login see them", async () => {
      const domain = await call("POST", "/domains", { name: "Shop.Test", addresses: ["192.0.2.7"] });
      assert.equal(domain.status, 201);
      assert.equal(domain.json.domain, "shop.test");
      assert.equal(domain.json.dkim, true);
      const kinds = (domain.json.records as Loose[]).map((record) => record.kind);
      assert.deepEqual(kinds, ["MX", "SPF", "DKIM", "DMARC", "PTR"]);
      const mx = (domain.json.records as Loose[])[0];
      assert.deepEqual([mx?.name, mx?.type, mx?.value], ["shop.test", "MX", "10 mx.mailroom.test"]);
      assert.match(mx?.zoneLine, /^shop\.test\. IN MX 10 mx\.mailroom\.test\.$/);

      const records = await call("GET", "/domains/shop.test/records?addresses=192.0.2.8");
      assert.equal(records.status, 200);
      const ptr = (records.json.records as Loose[]).find((record) => record.kind === "PTR");
      assert.deepEqual([ptr?.name, ptr?.value], ["8.2.0.192.in-addr.arpa", "mx.mailroom.test"]);

      const user = await call("POST", "/users", { address: "Bob@shop.test", password: PASSWORD });
      assert.equal(user.status, 201);
      assert.deepEqual([user.json.address, user.json.admin], ["bob@shop.test", false]);
      const alias = await call("POST", "/aliases", {
        source: "sales@shop.test",
        destination: "bob@shop.test",
      });
      assert.deepEqual([alias.status, alias.json.warning, alias.json.catchAll], [201, null, false]);
      const catchAll = await call("POST", "/aliases", {
        source: "@shop.test",
        destination: "nobody@shop.test",
      });
      assert.equal(catchAll.status, 201);
      assert.equal(catchAll.json.catchAll, true);
      assert.match(catchAll.json.warning, /nobody@shop\.test is neither a user nor an alias here yet/);

      const domains = await call("GET", "/domains");
      const shop = (domains.json.domains as Loose[]).find((each) => each.name === "shop.test");
      assert.deepEqual([shop?.users, shop?.aliases, typeof shop?.dkimSelector], [1, 2, "string"]);
      const users = await call("GET", "/users?domain=shop.test");
      assert.deepEqual(
        (users.json.users as Loose[]).map((each) => each.address),
        ["bob@shop.test"],
      );
      const aliases = await call("GET", "/aliases?domain=shop.test");
      assert.deepEqual(
        (aliases.json.aliases as Loose[]).map((each) => `${each.source} ${each.destination}`),
        ["@shop.test nobody@shop.test", "sales@shop.test bob@shop.test"],
      );

      // The same store, through the CLI's code path.
      const cliAliases = await server.cli(["alias", "list", "shop.test"]);
      assert.match(cliAliases.stdout, /sales@shop\.test\s+bob@shop\.test/);
      const cliRecords = await server.cli(["domain", "records", "shop.test"]);
      assert.ok(cliRecords.stdout.includes(domain.json.records[2].zoneLine));
      // The new user logs in.
      const session = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic("bob@shop.test", PASSWORD) },
      });
      assert.equal(session.status, 200);

      // A new password through the API replaces the old one.
      const changed = await call("PUT", "/users/bob@shop.test/password", { password: "another passphrase" });
      assert.equal(changed.status, 204);
      const old = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic("bob@shop.test", PASSWORD) },
      });
      assert.equal(old.status, 401);
      const renewed = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: basic("bob@shop.test", "another passphrase") },
      });
      assert.equal(renewed.status, 200);
    });

    test("refusals: bad input 400, duplicates 409, in use 409, unknown 404, no JSON 415, bad method 405", async () => {
      const weak = await call("POST", "/users", { address: "weak@example.org", password: "short" });
      assert.equal(weak.status, 400);
      assert.match(weak.json.detail, /password refused: it has 5 characters, fewer than 8/);
      const badName = await call("POST", "/domains", { name: "not a domain" });
      assert.deepEqual([badName.status, badName.json.code], [400, "invalid"]);
      const missing = await call("POST", "/users", { address: "x@example.org" });
      assert.equal(missing.status, 400);
      assert.match(missing.json.detail, /"password" must be a string/);
      const again = await call("POST", "/domains", { name: "example.org" });
      assert.deepEqual([again.status, again.json.code], [409, "exists"]);
      const busy = await call("DELETE", "/domains/example.org", {});
      assert.equal(busy.status, 409);
      assert.match(busy.json.detail, /domain example\.org still has 2 users; remove them first/);
      assert.equal(busy.json.detail.includes("mailroom"), false, "no CLI hint in the API");
      const shadow = await call("POST", "/aliases", { source: ALICE, destination: ADMIN });
      assert.equal(shadow.status, 409);
      const unknown = await call("DELETE", "/users/ghost@example.org", {});
      assert.deepEqual(
        [unknown.status, unknown.json.detail],
        [404, "there is no user ghost@example.org here"],
      );
      const nowhere = await call("GET", "/frobnicate");
      assert.equal(nowhere.status, 404);
      const form = await fetch(`${base}/admin/api/domains`, {
        method: "POST",
        headers: { ...asAdmin, "Content-Type": "application/x-www-form-urlencoded" },
        body: "name=evil.test",
      });
      assert.equal(form.status, 415);
      assert.equal(
        (await call("GET", "/domains")).json.domains.some((d: Loose) => d.name === "evil.test"),
        false,
      );
      const method = await call("PUT", "/domains", {});
      assert.equal(method.status, 405);
      assert.equal(method.headers.get("allow"), "GET, POST");
    });

    test("remove an alias, a user and a domain", async () => {
      await call("POST", "/domains", { name: "gone.test" });
      await call("POST", "/users", { address: "u@gone.test", password: PASSWORD });
      await call("POST", "/aliases", { source: "a@gone.test", destination: "u@gone.test" });
      const alias = await call("DELETE", "/aliases/a@gone.test", {});
      assert.deepEqual([alias.status, alias.json.removed], [200, ["u@gone.test"]]);
      assert.equal((await call("DELETE", "/users/u@gone.test", {})).status, 204);
      assert.equal((await call("DELETE", "/domains/gone.test", {})).status, 204);
      const domains = await call("GET", "/domains");
      assert.equal(
        domains.json.domains.some((d: Loose) => d.name === "gone.test"),
        false,
      );
    });

    test("the queue: a deferred message listed, shown with its trace, retried and deleted", async () => {
      // The relay's resolver is a closed port, so the remote recipient waits in the queue.
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.submission,
        secure: false,
        requireTLS: true,
        auth: { user: ADMIN, pass: PASSWORD },
        tls: { rejectUnauthorized: false },
      });
      await transport.sendMail({ from: ADMIN, to: "far@remote.test", subject: "queued", text: "wait\n" });
      transport.close();
      const entry = await eventually("the deferred entry", async () => {
        const listed = await call("GET", "/queue");
        const found = (listed.json.entries as Loose[]).find((each) => each.recipient === "far@remote.test");
        return found && found.state === "queued" && found.attempts >= 1 ? found : undefined;
      });
      assert.equal(entry.sender, ADMIN);
      assert.ok(entry.lastError);

      const shown = await call("GET", `/queue/${entry.id}`);
      assert.equal(shown.status, 200);
      assert.equal(shown.json.entry.recipient, "far@remote.test");
      assert.match(shown.json.header, /^Subject: queued\r$/m);
      assert.equal(shown.json.trace.messageId, entry.messageId);
      const kinds = (shown.json.trace.events as Loose[]).map((event) => event.kind);
      assert.ok(kinds.includes("session") && kinds.includes("queued"), kinds.join(" "));
      assert.ok((shown.json.trace.events as Loose[]).every((event) => typeof event.text === "string"));

      const status = await call("GET", "/status");
      assert.ok(status.json.counts.queued >= 1);
      assert.ok(status.json.oldestQueuedAt);

      const retried = await call("POST", `/queue/${entry.id}/retry`, {});
      assert.equal(retried.status, 200);
      assert.equal(retried.json.due, 1);
      // The runner was woken: it tries again, so the attempts count goes up.
      await eventually("another attempt", async () => {
        const again = await call("GET", `/queue/${entry.id}`);
        return again.json.entry.attempts > entry.attempts && again.json.entry.state === "queued"
          ? true
          : undefined;
      });
      const removed = await call("DELETE", `/queue/${entry.id}`, {});
      assert.deepEqual([removed.status, removed.json.removed.id], [200, entry.id]);
      const after = await call("GET", `/queue/${entry.id}`);
      assert.equal(after.status, 404);
      const listed = await call("GET", "/queue");
      assert.equal(
        (listed.json.entries as Loose[]).some((each) => each.id === entry.id),
        false,
      );
    });
  });
}
