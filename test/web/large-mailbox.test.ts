// The webmail's message list on a large mailbox in Debian's Chromium (playwright-core) against a real
// `mailroom serve`: 2,000 messages imported from an mbox (threads of two), and the list keeps only the
// rows in view in the DOM — bounded however far one scrolls — while rows appear as the wheel scrolls
// and at any depth; the keyboard cursor scrolls the list along; conversations page the same way.
// Nothing here is timed (bench/webmail measures); the figures asserted are row counts.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { formatFromLine } from "../../src/mailio/mbox.js";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { buildWebIfStale } from "../support/web.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const MESSAGES = 2000;
/** What the DOM may hold at most: a 720-pixel list is 11 rows of 68, plus 10 above and 10 below. */
const MAX_ROWS = 40;

const subjectOf = (n: number) => `Message ${String(n).padStart(4, "0")}`;

/** Message n (1-based) of the mailbox, n minutes after the start; each even one answers the one before. */
function mboxOf(count: number): string {
  const start = Date.UTC(2026, 0, 1);
  const parts: string[] = [];
  for (let n = 1; n <= count; n++) {
    const date = new Date(start + n * 60_000);
    const reply =
      n % 2 === 0 ? `In-Reply-To: <m${n - 1}@example.net>\nReferences: <m${n - 1}@example.net>\n` : "";
    parts.push(
      `${formatFromLine("bob@example.net", date)}\nFrom: Bob <bob@example.net>\nTo: ${ADDRESS}\n` +
        `Subject: ${subjectOf(n)}\nDate: ${date.toUTCString()}\nMessage-ID: <m${n}@example.net>\n${reply}\n` +
        `Body of message ${n}.\n\n`,
    );
  }
  return parts.join("");
}

describe("webmail with a large mailbox in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let dir = "";
  const user = jmapUser(() => server, ADDRESS, PASSWORD);

  before(async () => {
    buildWebIfStale();
    server = await startTestServer();
    await user.add();
    dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-large-"));
    const mbox = path.join(dir, "inbox.mbox");
    await writeFile(mbox, mboxOf(MESSAGES));
    const imported = await server.cli(["import", "--user", ADDRESS, mbox]);
    assert.equal(imported.code, 0, imported.stderr);
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${server.ports.http}/`);
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForSelector("nav li[data-role=inbox]");
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const rows = () => page.locator(".list li");
  const rowAt = (index: number) => page.locator(`.list li[data-index="${index}"]`);
  const scrollTo = (top: number) =>
    page.locator(".list .rows").evaluate((element, to) => {
      element.scrollTop = to;
    }, top);
  const scrollTop = () => page.locator(".list .rows").evaluate((element) => element.scrollTop);
  const rowHeight = () => rowAt(0).evaluate((element) => element.getBoundingClientRect().height);

  test("the newest rows first, the whole size announced, and only a screenful in the DOM", async () => {
    await rowAt(0)
      .filter({ hasText: subjectOf(MESSAGES) })
      .waitFor();
    assert.equal(await rowAt(0).getAttribute("aria-setsize"), String(MESSAGES));
    const count = await rows().count();
    assert.ok(count > 5 && count <= MAX_ROWS, `${count} rows in the DOM`);
  });

  test("rows appear as the wheel scrolls, and at any depth; the DOM stays bounded", async () => {
    const height = await rowHeight();
    await page.locator(".list .rows").hover();
    for (let turn = 0; turn < 10; turn++) await page.mouse.wheel(0, 600);
    const deeper = Math.floor((await scrollTop()) / height);
    assert.ok(deeper > 50, `scrolled to row ${deeper}`);
    await rowAt(deeper)
      .filter({ hasText: subjectOf(MESSAGES - deeper) })
      .waitFor();
    assert.ok((await rows().count()) <= MAX_ROWS);

    await scrollTo(1000 * height);
    await rowAt(1000)
      .filter({ hasText: subjectOf(MESSAGES - 1000) })
      .waitFor();
    assert.ok((await rows().count()) <= MAX_ROWS);
    assert.equal(await rowAt(0).count(), 0, "the first row left the DOM");

    await scrollTo(MESSAGES * height);
    await rowAt(MESSAGES - 1)
      .filter({ hasText: subjectOf(1) })
      .waitFor();
    assert.ok((await rows().count()) <= MAX_ROWS);
  });

  test("the keyboard cursor moves past the screen and the list scrolls along; Enter opens", async () => {
    await scrollTo(0);
    await rowAt(0).locator("button").click();
    await page.getByRole("heading", { name: subjectOf(MESSAGES) }).waitFor();
    for (let press = 0; press < 25; press++) await page.keyboard.press("j");
    const cursor = page.locator(".list li.cursor");
    await cursor.filter({ hasText: subjectOf(MESSAGES - 25) }).waitFor();
    assert.equal(await cursor.getAttribute("data-index"), "25");
    assert.ok((await scrollTop()) > 0, "scrolled to keep the cursor in view");
    assert.ok(await cursor.isVisible());
    await cursor.locator("button:focus").waitFor();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: subjectOf(MESSAGES - 25) }).waitFor();
    for (let press = 0; press < 3; press++) await page.keyboard.press("k");
    await cursor.filter({ hasText: subjectOf(MESSAGES - 22) }).waitFor();
  });

  test("conversations: one row per thread with its count, paged and bounded the same way", async () => {
    await page.getByLabel("Conversations").check();
    await rowAt(0)
      .filter({ hasText: subjectOf(MESSAGES) })
      .waitFor();
    assert.equal(await rowAt(0).getAttribute("aria-setsize"), String(MESSAGES / 2));
    assert.equal(await rowAt(0).locator(".count").getAttribute("aria-label"), "2 messages");
    const height = await rowHeight();
    await scrollTo((MESSAGES / 2) * height);
    const last = rowAt(MESSAGES / 2 - 1);
    await last.filter({ hasText: subjectOf(2) }).waitFor();
    assert.equal(await last.locator(".count").getAttribute("aria-label"), "2 messages");
    assert.ok((await rows().count()) <= MAX_ROWS);
    await page.getByLabel("Conversations").uncheck();
    await rowAt(0)
      .filter({ hasText: subjectOf(MESSAGES) })
      .waitFor();
    assert.equal(await rowAt(0).getAttribute("aria-setsize"), String(MESSAGES));
  });
});
