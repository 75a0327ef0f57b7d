// The webmail's Settings, Filters page in Debian's Chromium, headless, driven by playwright-core against
// a real `mailroom serve`: a filter built in the form (Subject contains → move to Archive, mark read,
// flag) is saved as the active Sieve script over JMAP, mail delivered by SMTP afterwards is filed by it
// (seen in the webmail and over JMAP), `mailroom sieve list` shows the script, and a script of that name
// edited elsewhere is shown read-only; axe-core finds nothing serious on the page.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const webDir = fileURLToPath(new URL("../../web/", import.meta.url));
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// biome-ignore lint/suspicious/noExplicitAny: the tests assert what they read of it
type Loose = Record<string, any>;

function isBuilt(): boolean {
  const built = statSync(`${webDir}dist/index.html`, { throwIfNoEntry: false });
  if (!built) return false;
  const sources = readdirSync(`${webDir}src`, { recursive: true, encoding: "utf8" });
  return sources.every((name) => statSync(`${webDir}src/${name}`).mtimeMs <= built.mtimeMs);
}

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    "axe.run(document, { iframes: false, resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

describe("webmail filters in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const user = jmapUser(() => server, ADDRESS, PASSWORD);

  before(async () => {
    if (!isBuilt()) {
      const built = spawnSync("npm", ["run", "build"], { cwd: webDir, encoding: "utf8" });
      assert.equal(built.status, 0, built.stderr);
    }
    server = await startTestServer();
    await user.add();
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.ports.http}/`);
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForSelector("nav li[data-role=inbox]");
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  const field = (label: string) => page.getByLabel(label, { exact: true });
  const button = (name: string) => page.getByRole("button", { name, exact: true });

  /** The account's emails matching the filter, over JMAP. */
  const emails = async (filter: Loose): Promise<Loose[]> => {
    const session = await user.session();
    const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
    const response = await fetch(session.apiUrl, {
      method: "POST",
      headers: { ...user.auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        methodCalls: [
          ["Mailbox/get", { accountId, properties: ["name"] }, "m"],
          ["Email/query", { accountId, filter }, "q"],
          [
            "Email/get",
            {
              accountId,
              "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
              properties: ["subject", "mailboxIds", "keywords"],
            },
            "g",
          ],
        ],
      }),
    });
    const [[, boxes], , [, got]] = ((await response.json()) as Loose).methodResponses;
    const names = new Map((boxes.list as Loose[]).map((box) => [box.id, box.name]));
    return (got.list as Loose[]).map((email) => ({
      subject: email.subject,
      mailbox: names.get(Object.keys(email.mailboxIds)[0]),
      keywords: Object.keys(email.keywords).sort(),
    }));
  };

  test("a filter built in the form files SMTP mail; the CLI lists the script; axe passes", async () => {
    await button("Settings").click();
    await page.getByRole("heading", { name: "Filters" }).waitFor();
    await page.getByText("No filters: all mail goes to the Inbox.").waitFor();
    await button("Add filter").click();
    await field("When, in filter 1").selectOption("subject");
    await field("Text, in filter 1").fill("[invoices]");
    await field("Move to a mailbox, in filter 1").check();
    await field("Mailbox, in filter 1").selectOption("Archive");
    await field("Mark as read, in filter 1").check();
    await field("Flag, in filter 1").check();
    await field("Stop: no later filter applies, in filter 1").check();
    // A second filter left without text is refused, saying which and why.
    await button("Add filter").click();
    await button("Save filters").click();
    await page.getByText("Filter 2: give the text to look for").waitFor();
    await button("Remove filter 2").click();
    await button("Save filters").click();
    await page.getByText("Filters saved; they apply to new mail").waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    const listed = await server.cli(["sieve", "list", ADDRESS]);
    assert.equal(listed.stdout, "* webmail-filters\n");

    await user.deliver({ subject: "[invoices] March", text: "Pay up.\n" }, "billing@shop.test");
    await user.deliver({ subject: "Hello", text: "Hi.\n" }, "friend@else.test");
    assert.deepEqual(
      (await emails({})).sort((a, b) => a.subject.localeCompare(b.subject)),
      [
        { subject: "[invoices] March", mailbox: "Archive", keywords: ["$flagged", "$seen"] },
        { subject: "Hello", mailbox: "INBOX", keywords: [] },
      ],
    );
    await button("Close").click();
    await page.locator("nav li[data-role=archive] button").click();
    await page.locator(".list li", { hasText: "[invoices] March" }).waitFor();

    // Opened again, the page shows the filter as saved.
    await button("Settings").click();
    assert.equal(await field("Text, in filter 1").inputValue(), "[invoices]");
    assert.equal(await field("Mailbox, in filter 1").inputValue(), "Archive");
    await button("Close").click();
  });

  test("a script of that name edited elsewhere is shown read-only", async () => {
    const edited = 'require "fileinto";\nif header :contains "subject" "x" { fileinto "Archive"; }\n';
    const put = await server.cli(["sieve", "put", ADDRESS, "webmail-filters", "-"], edited);
    assert.equal(put.code, 0, put.stdout + put.stderr);
    await button("Settings").click();
    await page.getByText(/was edited elsewhere/).waitFor();
    assert.equal(await page.getByLabel("The filter script").textContent(), edited);
    assert.equal(await button("Save filters").count(), 0);
    await button("Close").click();
  });
});
