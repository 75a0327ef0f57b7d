// Rich-text compose in the webmail, in Debian's Chromium against a real `mailroom serve`: bold typed
// with Ctrl+B and a bulleted list from the toolbar reach a second local user, who reads over IMAP a
// multipart/alternative message with a text/plain part made from the HTML and the text/html part; the
// mode chosen is still chosen after a reload; a reply to an HTML message quotes its markup; another
// identity picked in rich mode swaps the signature in both parts of what Carl gets; leaving rich text
// with formatting in it asks first, in the page; the Link button asks for the address in the page and
// takes only http(s) and mailto.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import PostalMime from "postal-mime";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { buildWebIfStale } from "../support/web.js";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** What axe finds serious or critical in the elements the selector picks. */
async function seriousViolations(page: Page, selector: string): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    `axe.run(${JSON.stringify(selector)}, { iframes: false, resultTypes: ['violations'] }).then((r) => r.violations)`,
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const CARL = "carl@example.org";
const CARL_PASSWORD = "carl's long passphrase";

describe("webmail rich compose in Chromium", { skip: needs(clients.chromium) }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const user = jmapUser(() => server, ADDRESS, PASSWORD);
  const carl = jmapUser(() => server, CARL, CARL_PASSWORD);

  before(async () => {
    buildWebIfStale();
    server = await startTestServer();
    await user.add();
    const added = await server.cli(["user", "add", CARL, "--password-stdin"], `${CARL_PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  const button = (name: string) => page.getByRole("button", { name, exact: true });
  const editor = () => page.getByRole("textbox", { name: "Message", exact: true });
  const logIn = async () => {
    await page.goto(`http://127.0.0.1:${server.ports.http}/`);
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForSelector("nav li[data-role=inbox]");
  };

  /** Carl's newest INBOX message over IMAP, once there is one: its body structure and source. */
  const carlsNewest = async () => {
    const client = await carl.imap();
    try {
      for (let round = 0; round < 200; round++) {
        const lock = await client.getMailboxLock("INBOX");
        try {
          if (client.mailbox && client.mailbox.exists > 0) {
            const message = await client.fetchOne("*", { bodyStructure: true, source: true });
            if (message !== false && message.source && message.bodyStructure) return message;
          }
        } finally {
          lock.release();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("nothing reached Carl's INBOX");
    } finally {
      await client.logout();
    }
  };

  test("bold and a list typed in rich mode arrive as multipart/alternative, read over IMAP", async () => {
    await logIn();
    await button("New message").click();
    const rich = button("Rich text");
    assert.equal(await rich.getAttribute("aria-pressed"), "false");
    await rich.click();
    assert.equal(await rich.getAttribute("aria-pressed"), "true");
    await page.getByLabel("To", { exact: true }).fill(CARL);
    await page.getByLabel("Subject", { exact: true }).fill("Rich plans");
    await editor().click();
    await page.keyboard.press("Control+b");
    await page.keyboard.type("Bold words");
    assert.equal(await button("Bold").getAttribute("aria-pressed"), "true");
    await page.keyboard.press("Control+b");
    await page.keyboard.type(" then plain");
    await page.keyboard.press("Enter");
    await button("Bulleted list").click();
    await page.keyboard.type("first");
    await page.keyboard.press("Enter");
    await page.keyboard.type("second");
    await button("Send").click();
    await page.locator("section.compose").waitFor({ state: "detached" });

    const message = await carlsNewest();
    const structure = message.bodyStructure as { type: string; childNodes?: { type: string }[] };
    assert.equal(structure.type, "multipart/alternative");
    assert.deepEqual(
      structure.childNodes?.map((part) => part.type),
      ["text/plain", "text/html"],
    );
    const mail = await PostalMime.parse(message.source as Buffer);
    assert.match(mail.html ?? "", /<(b|strong)>Bold words<\/(b|strong)>/);
    assert.match(mail.html ?? "", /<ul><li>first<\/li><li>second<\/li><\/ul>/);
    assert.equal(mail.text?.trim(), "Bold words then plain\n- first\n- second");
  });

  test("the mode is remembered across a reload, and a reply to HTML mail quotes its markup", async () => {
    await user.deliver(
      { subject: "Styled", html: "<p>Hello <i>Alice</i></p><script>alert(1)</script>", text: "Hello Alice" },
      "Bob <bob@example.net>",
    );
    await logIn();
    await page.locator(".list li", { hasText: "Styled" }).click();
    await button("Reply").click();
    assert.equal(await button("Rich text").getAttribute("aria-pressed"), "true");
    const quote = editor().locator("blockquote");
    await quote.waitFor();
    assert.match(await quote.innerHTML(), /<p>Hello <i>Alice<\/i><\/p>/);
    assert.doesNotMatch(await editor().innerHTML(), /<script/);
  });

  /** JMAP calls as Alice, in her mail account. */
  const api = async (calls: [string, Record<string, unknown>][]) => {
    const session = await user.session();
    const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
    const response = await fetch(session.apiUrl, {
      method: "POST",
      headers: { ...user.auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"],
        methodCalls: calls.map(([name, args], i) => [name, { accountId, ...args }, String(i)]),
      }),
    });
    const body = (await response.json()) as { methodResponses: [string, Record<string, unknown>][] };
    return body.methodResponses.map(([, args]) => args);
  };
  const richMode = async () => {
    if ((await button("Rich text").getAttribute("aria-pressed")) !== "true")
      await button("Rich text").click();
    assert.equal(await button("Rich text").getAttribute("aria-pressed"), "true");
  };

  test("choosing another identity in rich mode swaps the signature in both parts of what is sent", async () => {
    const [created] = await api([
      [
        "Identity/set",
        {
          create: {
            work: { name: "Alice at work", email: ADDRESS, textSignature: "Alice\nFloor 3" },
            home: { name: "Alice at home", email: ADDRESS, textSignature: "A. & the cat" },
          },
        },
      ],
    ]);
    assert.deepEqual(Object.keys((created?.created ?? {}) as object).sort(), ["home", "work"]);
    await logIn();
    await button("New message").click();
    await richMode();
    const from = page.getByLabel("From", { exact: true });
    const signature = editor().locator("[data-signature]");
    await from.selectOption({ label: `Alice at work <${ADDRESS}>` });
    await signature.filter({ hasText: "Floor 3" }).waitFor();
    await editor().click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type("See you at noon");
    await from.selectOption({ label: `Alice at home <${ADDRESS}>` });
    await signature.filter({ hasText: "the cat" }).waitFor();
    assert.equal(await signature.count(), 1);
    assert.doesNotMatch((await editor().textContent()) ?? "", /Floor 3/);
    await page.getByLabel("To", { exact: true }).fill(CARL);
    await page.getByLabel("Subject", { exact: true }).fill("Signed in rich");
    await button("Send").click();
    await page.locator("section.compose").waitFor({ state: "detached" });

    const message = await carlsNewest();
    const mail = await PostalMime.parse(message.source as Buffer);
    assert.equal(mail.subject, "Signed in rich");
    assert.equal(mail.from?.name, "Alice at home");
    const html = mail.html ?? "";
    assert.equal(html.match(/data-signature/g)?.length, 1, html);
    assert.match(html, /<div>-- <\/div><div>A\. &amp; the cat<\/div><\/div>/);
    assert.doesNotMatch(html, /Floor 3|Alice<\/div>/);
    assert.match(html, /See you at noon/);
    // The text part keeps the separator's space (RFC 3676 §4.3): "-- " alone on its line.
    assert.match(mail.text ?? "", /^See you at noon\r?\n\r?\n-- \r?\nA\. & the cat\s*$/);
    assert.doesNotMatch(message.source?.toString() ?? "", /Floor 3/);
  });

  test("leaving rich text asks first when formatting would be lost, and keeps rich text if told to", async () => {
    await logIn();
    await button("New message").click();
    await richMode();
    const rich = button("Rich text");
    const question = page.getByRole("alertdialog", { name: "Switch to plain text?" });
    const plainBody = page.locator("textarea[name=body]");

    // Nothing to lose: no question.
    await editor().click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.type("Just words");
    await rich.click();
    assert.equal(await rich.getAttribute("aria-pressed"), "false");
    assert.equal(await question.count(), 0);
    assert.match(await plainBody.inputValue(), /^Just words($|\n)/);

    await rich.click();
    await editor().click();
    await page.keyboard.press("Control+Home");
    await page.keyboard.press("Control+b");
    await page.keyboard.type("Loud");
    await page.keyboard.press("Control+b");
    await rich.click();
    await question.waitFor();
    assert.equal(await rich.getAttribute("aria-pressed"), "true");
    // The safe answer has the focus; declining keeps the editor and its bold.
    assert.equal(await page.locator(":focus").textContent(), "Keep rich text");
    assert.deepEqual(await seriousViolations(page, "[role=alertdialog]"), []);
    await question.getByRole("button", { name: "Keep rich text" }).click();
    await question.waitFor({ state: "detached" });
    assert.equal(await rich.getAttribute("aria-pressed"), "true");
    assert.match(await editor().innerHTML(), /<b>Loud<\/b>/);

    // Escape declines too.
    await rich.click();
    await question.waitFor();
    assert.equal(await page.locator(":focus").textContent(), "Keep rich text");
    await page.keyboard.press("Escape");
    await question.waitFor({ state: "detached" });
    assert.equal(await rich.getAttribute("aria-pressed"), "true");

    await rich.click();
    await question.getByRole("button", { name: "Switch and lose formatting" }).click();
    await question.waitFor({ state: "detached" });
    assert.equal(await rich.getAttribute("aria-pressed"), "false");
    assert.match(await plainBody.inputValue(), /^LoudJust words($|\n)/);
    assert.equal(await page.locator("[contenteditable]").count(), 0);
    await button("Discard").click();
    await page.locator("section.compose").waitFor({ state: "detached" });
  });

  test("the Link button asks for the address in the page: only http(s) and mailto, Enter and Escape", async () => {
    const prompted: string[] = [];
    const onDialog = (dialog: { message(): string; dismiss(): Promise<void> }) => {
      prompted.push(dialog.message());
      dialog.dismiss();
    };
    page.on("dialog", onDialog);
    try {
      await logIn();
      await button("New message").click();
      await richMode();
      const address = page.getByLabel("Link address", { exact: true });
      await page.getByLabel("To", { exact: true }).fill(CARL);
      await page.getByLabel("Subject", { exact: true }).fill("Linked");
      await editor().click();
      await page.keyboard.press("Control+Home");
      await page.keyboard.type("Read the docs");
      for (let i = 0; i < "the docs".length; i++) await page.keyboard.press("Shift+ArrowLeft");
      await button("Link").click();
      await address.waitFor();
      assert.equal(await button("Link").getAttribute("aria-expanded"), "true");
      assert.equal(await page.locator(":focus").getAttribute("inputmode"), "url");
      assert.deepEqual(await seriousViolations(page, ".link-address"), []);

      await page.keyboard.type("javascript:alert(1)");
      await page.keyboard.press("Enter");
      await page.getByRole("alert").filter({ hasText: "A link address starts with" }).waitFor();
      assert.equal(await address.getAttribute("aria-invalid"), "true");
      assert.doesNotMatch(await editor().innerHTML(), /<a /);
      await address.fill("https://example.org/docs");
      await page.keyboard.press("Enter");
      await address.waitFor({ state: "detached" });
      assert.match(await editor().innerHTML(), /Read <a href="https:\/\/example.org\/docs">the docs<\/a>/);

      // Escape leaves the editor as it was, with the focus back in it.
      await page.keyboard.press("End");
      await button("Link").click();
      await address.fill("https://example.org/never");
      await page.keyboard.press("Escape");
      await address.waitFor({ state: "detached" });
      await page.keyboard.type(". Mail");
      assert.doesNotMatch(await editor().innerHTML(), /never/);

      // With nothing selected the address is the link's text; OK does what Enter does.
      await page.keyboard.type(" ");
      await button("Link").click();
      await address.fill("mailto:bob@example.net");
      await page.getByRole("button", { name: "OK", exact: true }).click();
      await address.waitFor({ state: "detached" });
      assert.match(
        await editor().innerHTML(),
        /the docs<\/a>\. Mail(&nbsp;| )<a href="mailto:bob@example.net">bob@example.net<\/a>/,
      );
      await button("Send").click();
      await page.locator("section.compose").waitFor({ state: "detached" });
    } finally {
      page.off("dialog", onDialog);
    }
    assert.deepEqual(prompted, []);

    const mail = await PostalMime.parse((await carlsNewest()).source as Buffer);
    assert.equal(mail.subject, "Linked");
    assert.match(mail.html ?? "", /<a href="https:\/\/example.org\/docs"[^>]*>the docs<\/a>/);
    assert.match(mail.text ?? "", /^Read the docs <https:\/\/example.org\/docs>\. Mail bob@example.net/);
  });
});
