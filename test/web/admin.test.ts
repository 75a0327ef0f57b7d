// The web admin (web/src/admin, at /admin) in Debian's Chromium, headless, driven by playwright-core
// against a real `mailroom serve`, as the webmail's test does: the page is served under the strict CSP; a
// user without the role is refused at login; an admin sees the status with the bound listeners, adds a
// domain and copies its records, adds a user who can then log in, resets a password, grants the role,
// disables the user (logins refused) and enables them again, removes a user once the page has asked, sets
// and clears a display name (the user's JMAP identity following it), adds an alias and a catch-all and
// removes one, and sees a deferred message in the queue with its trace before deleting it — each checked
// against the server through the CLI, the API or a login; axe-core finds no serious accessibility
// violation on the screens, light or dark, wide or phone-sized.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type Remote, startRemote } from "../queue/remote.js";
import { clients, needs } from "../support/clients.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { buildWebIfStale } from "../support/web.js";

const ADMIN = "root@example.org";
const ALICE = "alice@example.org";
const PASSWORD = "a long enough passphrase";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now, as "rule: node, node". */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("web admin in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base = "";
  let dns: TestDns;
  let remote: Remote;

  before(async () => {
    // The server serves web/dist; build it when this checkout has not, or web/src changed since.
    buildWebIfStale();
    // bounce.test's MX refuses every recipient: the relay's bounce is a warning in the recent errors.
    remote = await startRemote({ rcpt: () => "550 5.1.1 no such user here" });
    // shop.test's MX is published right; its SPF, DKIM and DMARC are not.
    dns = await startTestDns({
      "bounce.test": { mx: [{ preference: 10, exchange: "mx.bounce.test" }] },
      "mx.bounce.test": { a: ["127.0.0.1"] },
      "mx.mailroom.test": { a: ["192.0.2.25"] },
      "shop.test": { mx: [{ preference: 10, exchange: "mx.mailroom.test" }] },
      // Nothing listens on 127.0.0.2 (the remote is bound to 127.0.0.1 alone): mail for remote.test
      // waits in the queue.
      "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
      "mx.remote.test": { a: ["127.0.0.2"] },
    });
    server = await startTestServer({
      env: {
        MAILROOM_AUTH_FAILURE_DELAY: "1ms",
        MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
        MAILROOM_RELAY_PORT: String(remote.port),
      },
    });
    base = `http://127.0.0.1:${server.ports.http}`;
    assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
    for (const [address, extra] of [
      [ADMIN, ["--admin"]],
      [ALICE, []],
    ] as const) {
      const added = await server.cli(["user", "add", address, ...extra, "--password-stdin"], `${PASSWORD}\n`);
      assert.equal(added.code, 0, added.stderr);
    }
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    context = await browser.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
    await dns?.close();
    await remote?.close();
  });

  const logIn = async (address: string) => {
    await page.getByLabel("Address").fill(address);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    await page.click("button[type=submit]");
  };
  const section = async (name: string) => {
    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("button", { name, exact: true })
      .click();
    await page.getByRole("heading", { level: 2, name }).waitFor();
  };
  /** Waits for the status line to say this; a refusal shown instead fails at once, with its words. */
  const waitForStatus = async (text: RegExp) => {
    const said = page.locator(".status", { hasText: text });
    const refused = page.getByRole("alert");
    await said.or(refused).first().waitFor();
    if ((await said.count()) === 0) assert.fail(`refused: ${await refused.textContent()}`);
  };

  test("/admin is served under the strict CSP, from the same hashed assets", async () => {
    const response = await fetch(`${base}/admin`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.match(
      response.headers.get("content-security-policy") ?? "",
      /default-src 'none'.*script-src 'self'/,
    );
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(await response.text())?.[1];
    assert.ok(asset);
    assert.equal((await fetch(`${base}${asset}`)).status, 200);
  });

  test("a user without the role is refused at login; an admin sees the status; axe passes both", async () => {
    await page.goto(`${base}/admin`);
    assert.deepEqual(await seriousViolations(page), []);
    await logIn(ALICE);
    await page.getByRole("alert").filter({ hasText: "not an admin" }).waitFor();
    await logIn(ADMIN);
    await page.getByRole("heading", { level: 2, name: "Status" }).waitFor();
    const http = page.locator(".listeners tr", { hasText: /^http/ }).first();
    assert.equal(await http.locator("td").nth(1).textContent(), `127.0.0.1:${server.ports.http}`);
    assert.match((await page.locator(".facts").textContent()) ?? "", /sqlite/);
    assert.deepEqual(await seriousViolations(page), []);
    const stored = await page.evaluate("JSON.stringify({ ...localStorage, ...sessionStorage })");
    assert.equal(stored, "{}", "credentials are held in memory only");
  });

  test("domains: add one, its records are shown and the copy button copies a record", async () => {
    await section("Domains");
    await page.getByLabel("New domain").fill("shop.test");
    await page.getByRole("button", { name: "Add domain" }).click();
    await waitForStatus(/added shop\.test/);
    await page.locator("tr[data-domain='shop.test']").waitFor();
    const mx = page.locator(".records li[data-kind=MX] code");
    assert.equal(await mx.textContent(), "shop.test. IN MX 10 mx.mailroom.test.");
    assert.equal(await page.locator(".records li[data-kind=DKIM]").count(), 1);
    await page.getByRole("button", { name: "Copy the MX record" }).click();
    await waitForStatus(/copied the MX record/);
    assert.equal(
      await page.evaluate("navigator.clipboard.readText()"),
      "shop.test. IN MX 10 mx.mailroom.test.",
    );
    const listed = await server.cli(["domain", "list"]);
    assert.match(listed.stdout, /^shop\.test$/m);
    assert.deepEqual(await seriousViolations(page), []);
    // Live DNS, as doctor reads it: the MX is right, DMARC is missing and says what to publish.
    await page.getByRole("button", { name: "Check DNS of shop.test" }).click();
    const findings = page.getByRole("region", { name: "DNS check of shop.test" });
    await findings.locator("li").first().waitFor();
    assert.match(
      (await findings.locator("li", { hasText: "MX shop.test" }).textContent()) ?? "",
      /^ok MX shop\.test/,
    );
    assert.match(
      (await findings.locator("li", { hasText: "DMARC shop.test" }).textContent()) ?? "",
      /^(fail|warn) /,
    );
    assert.deepEqual(await seriousViolations(page), []);
    // A refusal says why.
    await page.getByLabel("New domain").fill("shop.test");
    await page.getByRole("button", { name: "Add domain" }).click();
    await page.getByRole("alert").filter({ hasText: "domain shop.test is already served here" }).waitFor();
  });

  test("users: add one who can then log in, reset the password, grant the role, disable and enable; removal asks first", async () => {
    await section("Users");
    await page.getByLabel("Address").fill("bob@shop.test");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Add user" }).click();
    await waitForStatus(/added bob@shop\.test/);
    const bob = page.locator("tr[data-user='bob@shop.test']");
    await bob.waitFor();
    const login = (password: string) =>
      fetch(`${base}/.well-known/jmap`, { headers: { Authorization: basic("bob@shop.test", password) } });
    assert.equal((await login(PASSWORD)).status, 200);

    await page.getByLabel("New password for bob@shop.test").fill("bob's new passphrase");
    await page.getByRole("button", { name: "Reset the password of bob@shop.test" }).click();
    await waitForStatus(/changed the password of bob@shop\.test/);
    assert.equal((await login(PASSWORD)).status, 401);
    assert.equal((await login("bob's new passphrase")).status, 200);

    await page.getByRole("button", { name: "Make admin for bob@shop.test" }).click();
    await waitForStatus(/bob@shop\.test is now an admin/);
    await bob.locator("td", { hasText: "yes" }).waitFor();
    const admin = await fetch(`${base}/admin/api/status`, {
      headers: { Authorization: basic("bob@shop.test", "bob's new passphrase") },
    });
    assert.equal(admin.status, 200);

    // Disabled, bob's logins are refused as a wrong password is; enabled again, they work.
    await page.getByRole("button", { name: "Disable bob@shop.test", exact: true }).click();
    await waitForStatus(/disabled bob@shop\.test: every login is refused; mail to it is still delivered/);
    await bob.locator("td", { hasText: "disabled" }).waitFor();
    assert.equal((await login("bob's new passphrase")).status, 401);
    assert.match((await server.cli(["user", "list", "shop.test"])).stdout, /^bob@shop\.test \(disabled\)$/m);
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByRole("button", { name: "Enable bob@shop.test", exact: true }).click();
    await waitForStatus(/enabled bob@shop\.test: it may log in again/);
    await bob.locator("td", { hasText: "allowed" }).waitFor();
    assert.equal((await login("bob's new passphrase")).status, 200);
    assert.deepEqual(await seriousViolations(page), []);

    // Removing a user deletes their mail, so the page asks first; dismissed, nothing happens.
    await page.getByLabel("Address").fill("temp@shop.test");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Add user" }).click();
    await waitForStatus(/added temp@shop\.test/);
    const remove = page.getByRole("button", { name: "Remove temp@shop.test" });
    page.once("dialog", (dialog) => void dialog.dismiss());
    await remove.click();
    assert.equal((await server.cli(["user", "list", "shop.test"])).stdout.includes("temp@shop.test"), true);
    page.once("dialog", (dialog) => {
      assert.match(dialog.message(), /Remove temp@shop\.test with all of its mailboxes and mail\?/);
      void dialog.accept();
    });
    await remove.click();
    await waitForStatus(/removed temp@shop\.test and all of its mail/);
    await page.locator("tr[data-user='temp@shop.test']").waitFor({ state: "detached" });
    assert.equal((await server.cli(["user", "list", "shop.test"])).stdout.includes("temp@shop.test"), false);
  });

  test("users: the admin logged in cannot disable, demote or remove their own account; the page says why", async () => {
    await section("Users");
    for (const [button, refusal] of [
      ["Disable root@example.org", "cannot disable your own account"],
      ["Revoke admin for root@example.org", "cannot take the admin role from your own account"],
    ] as const) {
      await page.getByRole("button", { name: button, exact: true }).click();
      const alert = page.getByRole("alert").filter({ hasText: refusal });
      await alert.waitFor();
      assert.match(
        (await alert.textContent()) ?? "",
        /you are logged in as root@example\.org and cannot .* your own account: you would lock yourself out/,
      );
    }
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Remove root@example.org" }).click();
    await page.getByRole("alert").filter({ hasText: "cannot remove your own account" }).waitFor();
    const root = page.locator("tr[data-user='root@example.org']");
    assert.deepEqual(await root.locator("td").nth(1).textContent(), "yes");
    assert.deepEqual(await root.locator("td").nth(2).textContent(), "allowed");
    assert.match((await server.cli(["user", "list", "example.org"])).stdout, /^root@example\.org$/m);
    const still = await fetch(`${base}/admin/api/status`, {
      headers: { Authorization: basic(ADMIN, PASSWORD) },
    });
    assert.equal(still.status, 200, "still an admin, still enabled");
    assert.deepEqual(await seriousViolations(page), []);
  });

  test("users: a quota set and lifted; an app password shown once, logging in, then revoked", async () => {
    await section("Users");
    await page.getByRole("button", { name: "Quota and app passwords of alice@example.org" }).click();
    const details = page.getByRole("region", { name: "Quota and app passwords of alice@example.org" });
    await details.waitFor();
    await details.getByLabel("Quota in MiB").fill("10");
    await details.getByRole("button", { name: "Save quota" }).click();
    await waitForStatus(/alice@example\.org may use 10 MiB/);
    assert.match((await server.cli(["user", "quota", ALICE])).stdout, /of 10\.0 MiB in use/);
    await details.getByLabel("New app password for").fill("phone");
    await details.getByRole("button", { name: "Create" }).click();
    await waitForStatus(/created the app password "phone"/);
    const secret = (await details.locator("[data-secret]").textContent()) ?? "";
    const login = () =>
      fetch(`${base}/.well-known/jmap`, { headers: { Authorization: basic(ALICE, secret) } });
    assert.equal((await login()).status, 200, "the app password logs in");
    assert.match((await server.cli(["token", "list", ALICE])).stdout, /\tphone\t/);
    assert.deepEqual(await seriousViolations(page), []);
    await details.getByRole("button", { name: "Revoke phone" }).click();
    await waitForStatus(/revoked "phone"/);
    assert.equal((await login()).status, 401, "revoked, it no longer does");
    await details.getByLabel("Quota in MiB").fill("");
    await details.getByRole("button", { name: "Save quota" }).click();
    await waitForStatus(/alice@example\.org has no quota now/);
    assert.match((await server.cli(["user", "quota", ALICE])).stdout, /no limit/);
  });

  test("users: a display name shown, set and cleared; the user's JMAP identity follows it", async () => {
    const adminApi = async () => {
      const response = await fetch(`${base}/admin/api/users`, {
        headers: { Authorization: basic(ADMIN, PASSWORD) },
      });
      const { users } = (await response.json()) as { users: { address: string; name: string | null }[] };
      return users.find((user) => user.address === ALICE)?.name;
    };
    /** The name of Alice's default identity, as a JMAP client of hers sees it (RFC 8621 §6). */
    const identityName = async () => {
      const auth = { Authorization: basic(ALICE, PASSWORD) };
      const session = (await (await fetch(`${base}/.well-known/jmap`, { headers: auth })).json()) as {
        apiUrl: string;
        primaryAccounts: Record<string, string>;
      };
      const accountId = session.primaryAccounts["urn:ietf:params:jmap:submission"];
      const response = await fetch(session.apiUrl, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({
          using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:submission"],
          methodCalls: [["Identity/get", { accountId, ids: null }, "0"]],
        }),
      });
      const { methodResponses } = (await response.json()) as {
        methodResponses: [string, { list: { email: string; name: string }[] }, string][];
      };
      return methodResponses[0]?.[1].list.find((identity) => identity.email === ALICE)?.name;
    };
    assert.equal(await adminApi(), null);
    await section("Users");
    const field = page.getByLabel(`Display name of ${ALICE}`, { exact: true });
    assert.equal(await field.inputValue(), "");
    await field.fill("  Alice Example ");
    await page.getByRole("button", { name: `Save the display name of ${ALICE}` }).click();
    await waitForStatus(/alice@example\.org is now "Alice Example"/);
    assert.equal(await adminApi(), "Alice Example");
    assert.equal(await identityName(), "Alice Example");
    // The list read again shows the name as the server has it.
    await section("Domains");
    await section("Users");
    assert.equal(await field.inputValue(), "Alice Example");
    assert.deepEqual(await seriousViolations(page), []);

    await field.fill("");
    await field.press("Enter");
    await waitForStatus(/alice@example\.org has no display name now/);
    assert.equal(await adminApi(), null);
    assert.equal(await identityName(), "");
    assert.equal(await field.inputValue(), "");
  });

  test("aliases: an address and a catch-all are added and listed; one is removed", async () => {
    await section("Aliases");
    const add = async (source: string, destination: string) => {
      await page.getByLabel("Source").fill(source);
      await page.getByLabel("Destination").fill(destination);
      await page.getByRole("button", { name: "Add alias" }).click();
      await waitForStatus(new RegExp(`added ${source.replace(".", "\\.")}`));
    };
    await add("sales@shop.test", "bob@shop.test");
    await add("@shop.test", "bob@shop.test");
    await page.locator("tr[data-alias='@shop.test']", { hasText: "(catch-all)" }).waitFor();
    const listed = await server.cli(["alias", "list", "shop.test"]);
    assert.match(listed.stdout, /@shop\.test\s+bob@shop\.test/);
    assert.match(listed.stdout, /sales@shop\.test\s+bob@shop\.test/);
    await page.getByRole("button", { name: "Remove sales@shop.test to bob@shop.test" }).click();
    await waitForStatus(/removed sales@shop\.test/);
    await page.locator("tr[data-alias='sales@shop.test']").waitFor({ state: "detached" });
    const left = await server.cli(["alias", "list", "shop.test"]);
    assert.doesNotMatch(left.stdout, /sales@/);
    assert.deepEqual(await seriousViolations(page), []);
  });

  test("dark mode follows the system's preference; axe finds nothing serious there, nor on a phone", async () => {
    await section("Status");
    const background = () => page.evaluate("getComputedStyle(document.body).backgroundColor");
    const light = await background();
    await page.emulateMedia({ colorScheme: "dark" });
    assert.notEqual(await background(), light);
    assert.deepEqual(await seriousViolations(page), []);
    await section("Domains");
    assert.deepEqual(await seriousViolations(page), []);
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 390, height: 800 });
    await section("Users");
    assert.deepEqual(await seriousViolations(page), []);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("queue: a deferred message is listed, shown with its trace, and deleted", async () => {
    // remote.test's MX is an address nothing listens on, so the remote recipient waits in the queue.
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.ports.submission,
      secure: false,
      requireTLS: true,
      auth: { user: ADMIN, pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    await transport.sendMail({ from: ADMIN, to: "far@remote.test", subject: "waiting", text: "hi\n" });
    transport.close();
    await section("Queue");
    const row = page.locator("tbody tr", { hasText: "far@remote.test" });
    for (let tries = 0; (await row.count()) === 0; tries++) {
      assert.ok(tries < 60, "the queued entry appears");
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.waitForTimeout(250);
    }
    const id = await row.getAttribute("data-entry");
    assert.ok(id);
    await page.getByRole("button", { name: `Show entry ${id}` }).click();
    const entry = page.getByRole("region", { name: `Queue entry ${id}` });
    await entry.locator(".trace li", { hasText: "queued" }).first().waitFor();
    assert.match((await entry.locator("pre").textContent()) ?? "", /Subject: waiting/);
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByRole("button", { name: `Delete entry ${id}` }).click();
    await waitForStatus(/removed entry/);
    await row.waitFor({ state: "detached" });
    const queue = await server.cli(["queue", "list", "--json"]);
    assert.equal(
      (JSON.parse(queue.stdout) as { id: string }[]).some((each) => each.id === id),
      false,
    );
  });

  test("status: a bounced delivery's warning is among the node's recent errors, without the message", async () => {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.ports.submission,
      secure: false,
      requireTLS: true,
      auth: { user: ADMIN, pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    await transport.sendMail({
      from: ADMIN,
      to: "nobody@bounce.test",
      subject: "private subject",
      text: "private body\n",
    });
    transport.close();
    const row = page.locator(".recent-errors tbody tr", { hasText: "queue: returning to sender" });
    for (let tries = 0; (await row.count()) === 0; tries++) {
      assert.ok(tries < 60, "the bounce appears among the recent errors");
      // The status is read when its section opens.
      await section("Domains");
      await section("Status");
      await page.waitForTimeout(250);
    }
    assert.equal(await row.getAttribute("data-level"), "warn");
    const text = (await row.textContent()) ?? "";
    assert.match(text, /queue/);
    assert.match(text, /nobody@bounce\.test/);
    assert.match(text, /550 5\.1\.1 no such user here/);
    assert.equal(/private (subject|body)/.test(text), false, "no message content");
    const notes = (await page.locator("main").textContent()) ?? "";
    assert.match(notes, /Each node of a shared database keeps its own/);
    assert.match(notes, /the last 200 are kept/);
    assert.deepEqual(await seriousViolations(page), []);
  });
});
