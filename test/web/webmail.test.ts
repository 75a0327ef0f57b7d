// The webmail (web/) in Debian's Chromium, headless, driven by playwright-core against a real
// `mailroom serve`: log in, mail delivered by SMTP appears without a reload (push), opening it marks it
// read and shows its HTML sanitized, and a hostile message runs nothing and loads nothing — checked by
// a loopback "remote" server that must see no request at all; flags, moves, deletes and searches go
// through, by mouse and by keyboard; dark mode follows the system; and axe-core finds no serious accessibility violation on the
// screens, light or dark.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { SendMailOptions } from "nodemailer";
import { type Browser, chromium, type Page } from "playwright-core";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const webDir = fileURLToPath(new URL("../../web/", import.meta.url));

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's serious and critical violations on the page as it is now, as "rule: node, node". Injected
 * by the debugger protocol, which the page's CSP does not govern; the sandboxed message frame is left
 * out, as it shows the sender's markup, not ours.
 */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    "axe.run(document, { iframes: false, resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

function isBuilt(): boolean {
  const built = statSync(`${webDir}dist/index.html`, { throwIfNoEntry: false });
  if (!built) return false;
  const sources = readdirSync(`${webDir}src`, { recursive: true, encoding: "utf8" });
  return sources.every((name) => statSync(`${webDir}src/${name}`).mtimeMs <= built.mtimeMs);
}

describe("webmail in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let base = "";
  const remoteHits: string[] = [];
  const remote = http.createServer((request, response) => {
    remoteHits.push(request.url ?? "");
    response.end();
  });
  let remoteBase = "";
  const user = jmapUser(() => server, ADDRESS, PASSWORD);

  before(async () => {
    // The server serves web/dist; build it when this checkout has not, or web/src changed since.
    if (!isBuilt()) {
      const built = spawnSync("npm", ["run", "build"], { cwd: webDir, encoding: "utf8" });
      assert.equal(built.status, 0, built.stderr);
    }
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    remoteBase = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
    server = await startTestServer();
    base = `http://127.0.0.1:${server.ports.http}`;
    await user.add();
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
    remote.close();
  });

  /** Logs in from the login screen (again after a reload: the credentials were in memory only). */
  const logIn = async () => {
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForSelector("nav li[data-role=inbox]");
  };
  const mailbox = (role: string) => page.locator(`nav li[data-role=${role}] button`);
  const row = (subject: string) => page.locator(".list li", { hasText: subject });
  /** The subjects of all the account's mail, as the server has it. */
  const subjects = async (): Promise<string[]> => {
    const session = await user.session();
    const response = await fetch(session.apiUrl, {
      method: "POST",
      headers: { ...user.auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        methodCalls: [
          ["Email/query", { accountId: session.primaryAccounts["urn:ietf:params:jmap:mail"] }, "q"],
          [
            "Email/get",
            {
              accountId: session.primaryAccounts["urn:ietf:params:jmap:mail"],
              "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
              properties: ["subject"],
            },
            "g",
          ],
        ],
      }),
    });
    const body = (await response.json()) as { methodResponses: [string, { list: { subject: string }[] }][] };
    return (body.methodResponses[1]?.[1].list ?? []).map((email) => email.subject);
  };
  /**
   * Waits until the list shows exactly these subjects, in any order; fails naming what it shows. Polled
   * from here: waitForFunction would need eval, which the page's CSP forbids.
   */
  const listShows = async (expected: string[]) => {
    const want = [...expected].sort();
    const shown = async () => (await page.locator(".list li .subject").allTextContents()).sort();
    for (let round = 0; round < 200; round++) {
      if (JSON.stringify(await shown()) === JSON.stringify(want)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(await shown(), want);
  };
  const searchFor = async (query: string) => {
    await page.getByRole("searchbox", { name: "Search mail" }).fill(query);
    await page.getByRole("searchbox", { name: "Search mail" }).press("Enter");
  };
  const button = (name: string) => page.getByRole("button", { name, exact: true });

  const deliver = (message: SendMailOptions) => user.deliver(message, "Bob <bob@example.net>");

  test("index.html is revalidated, assets are cached for good, both under a strict CSP", async () => {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const csp = index.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
    assert.ok(asset);
    const script = await fetch(`${base}${asset}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("cache-control") ?? "", /immutable/);
    assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
  });

  test("a wrong password is refused; the right one shows the mailboxes with roles; axe passes the login", async () => {
    await page.goto(`${base}/`);
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill("wrong");
    await page.click("button[type=submit]");
    await page.getByRole("alert").waitFor();
    await logIn();
    const stored = await page.evaluate("JSON.stringify({ ...localStorage, ...sessionStorage })");
    assert.equal(stored, "{}", "credentials are held in memory only");
  });

  test("delivered mail appears live; opening it marks it read and shows the sanitized HTML or the text, and the headers; axe finds nothing serious", async () => {
    await deliver({ subject: "Hello live", html: "<p>Hi <b id=bold>there</b></p>", text: "Hi there" });
    const live = row("Hello live");
    await live.waitFor();
    assert.match((await live.getAttribute("class")) ?? "", /unread/);
    const inboxCount = page.locator("nav li[data-role=inbox] .count");
    assert.equal(await inboxCount.textContent(), "1");
    await live.locator("button").click();
    const frame = page.frameLocator("iframe[title=message]");
    assert.equal(await frame.locator("#bold").textContent(), "there");
    const headers = page.locator(".reader .headers");
    assert.match((await headers.textContent()) ?? "", /FromBob <bob@example\.net>Toalice@example\.org/);
    await button("Show plain text").click();
    assert.equal(await frame.locator("pre").textContent(), "Hi there");
    await button("Show HTML").click();
    await frame.locator("#bold").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await live.and(page.locator(".unread")).waitFor({ state: "detached" });
    await inboxCount.waitFor({ state: "detached" });
    await button("Mark unread").click();
    await live.and(page.locator(".unread")).waitFor();
    assert.equal(await inboxCount.textContent(), "1");
    await button("Flag").click();
    await live.locator(".flagged").waitFor();
    await button("Unflag").click();
    await live.locator(".flagged").waitFor({ state: "detached" });
  });

  test("a hostile message runs no script and loads nothing remote", async () => {
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    const r = remoteBase;
    await deliver({
      subject: "Hostile",
      text: "plain",
      html: [
        `<script>alert("script"); fetch("${r}/script")</script>`,
        `<img id=pixel src="${r}/pixel.png">`,
        `<img src="x" onerror="alert('onerror'); new Image().src='${r}/onerror'">`,
        `<a id=js href="javascript:alert('link');fetch('${r}/link')">click me</a>`,
        `<link rel="stylesheet" href="${r}/style.css">`,
        `<style>body { background: url(${r}/background) }</style>`,
        `<div style="background-image: url(${r}/inline)">styled</div>`,
        `<iframe src="${r}/frame"></iframe>`,
        `<svg><image href="${r}/svg"/></svg>`,
        `<p id=kept>kept text</p>`,
      ].join("\n"),
    });
    const hostile = row("Hostile");
    await hostile.waitFor();
    await hostile.locator("button").click();
    const frame = page.frameLocator("iframe[title=message]");
    assert.equal(await frame.locator("#kept").textContent(), "kept text");
    const html = await frame.locator("html").innerHTML();
    assert.doesNotMatch(html, /<script|onerror|javascript:|<iframe|<link|<style/i);
    await frame.locator("#js").click();
    // Round-trip through the server once more so anything the frame started has had its turn.
    await page.reload();
    assert.deepEqual(remoteHits, []);
    assert.deepEqual(dialogs, []);
  });

  test("move to another mailbox and Archive; Delete moves to Trash, where it deletes for good", async () => {
    await page.getByLabel("Address").waitFor();
    await logIn();
    await deliver({ subject: "Keep me", text: "keep" });
    await deliver({ subject: "Archive me", text: "archive" });
    await deliver({ subject: "Throw away", text: "bin" });

    await row("Keep me").locator("button").click();
    await page.getByLabel("Move to").selectOption({ label: "Drafts" });
    await row("Keep me").waitFor({ state: "detached" });
    await row("Archive me").locator("button").click();
    await button("Archive").click();
    await row("Archive me").waitFor({ state: "detached" });
    await row("Throw away").locator("button").click();
    await button("Delete").click();
    await row("Throw away").waitFor({ state: "detached" });

    await mailbox("drafts").click();
    await row("Keep me").waitFor();
    await mailbox("archive").click();
    await row("Archive me").waitFor();
    await mailbox("trash").click();
    await row("Throw away").locator("button").click();
    await button("Delete for good").click();
    await row("Throw away").waitFor({ state: "detached" });
    const left = await subjects();
    assert.ok(left.includes("Keep me") && left.includes("Archive me"), left.join(", "));
    assert.ok(!left.includes("Throw away"), left.join(", "));
  });

  test("the search box's operators find mail in all mailboxes; choosing a mailbox leaves the search", async () => {
    await deliver({
      from: "Carol <carol@example.net>",
      subject: "Invoice March",
      text: "please pay",
      attachments: [{ filename: "invoice.txt", content: "42 EUR" }],
    });
    await deliver({ subject: "Lunch", text: "pizza at noon" });
    await mailbox("inbox").click();
    await row("Lunch").waitFor();

    await searchFor("from:carol");
    await listShows(["Invoice March"]);
    assert.equal(await page.locator(".status").textContent(), "1 found in all mailboxes");
    await searchFor("has:attachment");
    await listShows(["Invoice March"]);
    await searchFor("pizza");
    await listShows(["Lunch"]);
    await searchFor("is:unread -from:carol");
    await listShows(["Lunch", "Hello live"]);
    await searchFor('subject:"keep me"');
    await listShows(["Keep me"]);
    await searchFor("to:alice before:2000-01-01");
    await listShows([]);
    await searchFor("to:alice after:2000-01-01 subject:m");
    await listShows(["Invoice March", "Keep me", "Archive me"]);
    await mailbox("inbox").click();
    await listShows(["Lunch", "Invoice March", "Hostile", "Hello live"]);
    await page.locator(".status").waitFor({ state: "detached" });
  });

  test("dark mode follows the system's preference, and axe finds nothing serious there either", async () => {
    const background = () => page.evaluate("getComputedStyle(document.body).backgroundColor");
    assert.equal(await background(), "rgb(255, 255, 255)");
    await row("Lunch").locator("button").click();
    await page.emulateMedia({ colorScheme: "dark" });
    assert.equal(await background(), "rgb(22, 24, 28)");
    assert.deepEqual(await seriousViolations(page), []);
    await page.emulateMedia({ colorScheme: "light" });
    assert.equal(await background(), "rgb(255, 255, 255)");
  });

  test("keyboard: j and k move through the list, Enter opens, e archives, # deletes", async () => {
    // The inbox, newest first: Lunch (open since the last test), Invoice March, Hostile, Hello live.
    const cursorOn = (subject: string) => row(subject).and(page.locator(".cursor")).waitFor();
    const key = (name: string) => page.keyboard.press(name);
    await cursorOn("Lunch");
    await key("j");
    await cursorOn("Invoice March");
    await key("j");
    await cursorOn("Hostile");
    await key("k");
    await cursorOn("Invoice March");
    // The cursor takes the focus along, so Enter on it is the button's own.
    await row("Invoice March").locator("button:focus").waitFor();
    await key("Enter");
    await page.getByRole("heading", { name: "Invoice March" }).waitFor();
    await key("e");
    await row("Invoice March").waitFor({ state: "detached" });
    await cursorOn("Hostile");
    await key("#");
    await listShows(["Lunch", "Hello live"]);
    await cursorOn("Hello live");
    // Typed into the search box, the same letters are just text.
    const searchbox = page.getByRole("searchbox", { name: "Search mail" });
    await searchbox.fill("");
    await searchbox.press("k");
    assert.equal(await searchbox.inputValue(), "k");
    await cursorOn("Hello live");
    await searchbox.fill("");
    await mailbox("archive").click();
    await listShows(["Invoice March", "Archive me"]);
    await mailbox("trash").click();
    await listShows(["Hostile"]);
  });

  test("a plain-text message is shown as text; its attachment and its source download byte for byte", async () => {
    const bytes = randomBytes(5000);
    await deliver({
      subject: "Report",
      text: "see <b>attached</b>",
      attachments: [{ filename: "data.bin", content: bytes, contentType: "application/octet-stream" }],
    });
    await mailbox("inbox").click();
    await row("Report").locator("button").click();
    const frame = page.frameLocator("iframe[title=message]");
    assert.equal((await frame.locator("pre").textContent())?.trim(), "see <b>attached</b>");
    const [download] = await Promise.all([page.waitForEvent("download"), button("data.bin").click()]);
    assert.equal(download.suggestedFilename(), "data.bin");
    assert.deepEqual(await readFile(await download.path()), bytes);

    const [source] = await Promise.all([page.waitForEvent("download"), button("Download source").click()]);
    const imap = await user.imap();
    try {
      await imap.mailboxOpen("INBOX");
      const [uid] = (await imap.search({ subject: "Report" }, { uid: true })) || [];
      const stored = await imap.fetchOne(String(uid), { source: true }, { uid: true });
      assert.ok(stored && stored.source !== undefined);
      assert.deepEqual(await readFile(await source.path()), stored.source, "the source is IMAP's BODY[]");
    } finally {
      await imap.logout();
    }
  });

  test("mailboxes are created and deleted; one that holds mail is refused, saying why", async () => {
    const named = (name: string) => page.locator("nav li", { hasText: name });
    const create = async (name: string) => {
      await page.getByLabel("New mailbox name").fill(name);
      await button("Create").click();
      await named(name).waitFor();
    };
    await create("Projects");
    await named("Projects").locator("button").click();
    await button("Delete mailbox Projects").click();
    await named("Projects").waitFor({ state: "detached" });

    await create("Full");
    await mailbox("inbox").click();
    await row("Lunch").locator("button").click();
    await page.getByLabel("Move to").selectOption({ label: "Full" });
    await row("Lunch").waitFor({ state: "detached" });
    await named("Full").locator("button").click();
    await row("Lunch").waitFor();
    await button("Delete mailbox Full").click();
    await page.locator("nav [role=alert]").waitFor();
    assert.equal(await named("Full").count(), 1);
  });
});
