// The webmail's account settings in Debian's Chromium (playwright-core) against a real `mailroom
// serve`: changing the password (a wrong current one refused, the session going on with the new one,
// the old one refused at the next login, the new one let in), and an app password created, shown once,
// used by a real IMAP client (imapflow), listed and revoked; axe finds nothing serious there.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import { type Browser, chromium, type Page } from "playwright-core";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { buildWebIfStale } from "../support/web.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const NEW_PASSWORD = "alice's newer passphrase";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    "axe.run(document, { iframes: false, resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

/** Whether imapflow logs in over the server's IMAP listener with these credentials. */
async function imapLogsIn(port: number, user: string, pass: string): Promise<boolean> {
  const client = new ImapFlow({
    host: "127.0.0.1",
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    logger: false,
  });
  try {
    await client.connect();
  } catch (error) {
    if ((error as { authenticationFailed?: boolean }).authenticationFailed === true) return false;
    throw error;
  }
  await client.logout();
  return true;
}

describe("webmail settings in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let base = "";
  const user = jmapUser(() => server, ADDRESS, PASSWORD);

  before(async () => {
    buildWebIfStale();
    server = await startTestServer({ env: { MAILROOM_AUTH_FAILURE_DELAY: "1ms" } });
    base = `http://127.0.0.1:${server.ports.http}`;
    await user.add();
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  const field = (label: string) => page.getByLabel(label, { exact: true });
  const button = (name: string) => page.getByRole("button", { name, exact: true });
  const logIn = async (password: string) => {
    await field("Address").fill(ADDRESS);
    await field("Password or app password").fill(password);
    await page.click("button[type=submit]");
  };
  const openSettings = async () => {
    await button("Settings").click();
    await page.getByRole("heading", { name: "Password", exact: true }).waitFor();
  };

  test("change the password: a wrong current one is refused; the session goes on; then only the new one logs in", async () => {
    await page.goto(`${base}/`);
    await logIn(PASSWORD);
    await page.waitForSelector("nav li[data-role=inbox]");
    await openSettings();

    await field("Current password").fill("not my password");
    await field("New password").fill(NEW_PASSWORD);
    await field("New password again").fill(NEW_PASSWORD);
    await button("Change password").click();
    await page.getByRole("alert").filter({ hasText: "The current password is wrong" }).waitFor();

    await field("Current password").fill(PASSWORD);
    await field("New password").fill(NEW_PASSWORD);
    await field("New password again").fill("something else entirely");
    await button("Change password").click();
    await page.getByRole("alert").filter({ hasText: "The two new passwords differ" }).waitFor();

    await field("New password again").fill(NEW_PASSWORD);
    await button("Change password").click();
    await page.getByText("Password changed").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    // This session now logs in with the new password: its next JMAP calls still work.
    await user.deliver({ subject: "After the change", text: "still here" }, "bob@example.net");
    await button("Close").click();
    await page.locator(".list li", { hasText: "After the change" }).waitFor();

    await button("Log out").click();
    await logIn(PASSWORD);
    await page.getByRole("alert").filter({ hasText: "wrong address or password" }).waitFor();
    await logIn(NEW_PASSWORD);
    await page.waitForSelector("nav li[data-role=inbox]");
    assert.equal(await imapLogsIn(server.ports.imap, ADDRESS, NEW_PASSWORD), true);
    assert.equal(await imapLogsIn(server.ports.imap, ADDRESS, PASSWORD), false);
  });

  test("an app password: created and shown once, used over IMAP, listed, revoked", async () => {
    await openSettings();
    await field("Name of the new app password").fill("imap client");
    await button("Create app password").click();
    const secret = page.locator(".made .secret");
    await secret.waitFor();
    const token = (await secret.textContent()) ?? "";
    assert.match(token, /^mrt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    await button("Revoke imap client").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    assert.equal(await imapLogsIn(server.ports.imap, ADDRESS, token), true, "IMAP LOGIN with it");
    const imap = new ImapFlow({
      host: "127.0.0.1",
      port: server.ports.imap,
      secure: false,
      doSTARTTLS: false,
      auth: { user: ADDRESS, pass: token },
      logger: false,
    });
    await imap.connect();
    const lock = await imap.getMailboxLock("INBOX");
    try {
      const subjects: string[] = [];
      for await (const message of imap.fetch("1:*", { envelope: true })) {
        subjects.push(message.envelope?.subject ?? "");
      }
      assert.deepEqual(subjects, ["After the change"]);
    } finally {
      lock.release();
      await imap.logout();
    }

    // Shown once: the settings opened again list it by name only.
    await button("Close").click();
    await openSettings();
    await button("Revoke imap client").waitFor();
    assert.equal(await page.locator(".made").count(), 0);
    assert.equal(await page.getByText(token).count(), 0);

    await button("Revoke imap client").click();
    await button("Revoke imap client").waitFor({ state: "detached" });
    assert.equal(await imapLogsIn(server.ports.imap, ADDRESS, token), false, "revoked: refused");
  });
});
