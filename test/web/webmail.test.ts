// The webmail (web/) in Debian's Chromium, headless, driven by playwright-core against a real
// `mailroom serve`: log in, mail delivered by SMTP appears without a reload (push), opening it marks it
// read and shows its HTML sanitized, and a hostile message runs nothing and loads nothing — checked by
// a loopback "remote" server that must see no request at all; flags, moves, deletes and searches go
// through, by mouse and by keyboard; dark mode follows the system; mail written in it (new, reply,
// forward, with attachments) reaches a second local user with its headers and lands in Sent, drafts
// survive a reload, a refused send says why, settings save the vacation response and identities; and
// axe-core finds no serious accessibility violation on the screens, light or dark, wide or phone-sized.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { SendMailOptions } from "nodemailer";
import { type Browser, chromium, type Page } from "playwright-core";
import PostalMime, { type Email as ParsedMail } from "postal-mime";
import { jmapUser } from "../integration/jmap-helpers.js";
import { clients, needs } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { buildWebIfStale } from "../support/web.js";

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
/** A second local user, whom the webmail's messages are sent to. */
const CARL = "carl@example.org";
const CARL_PASSWORD = "carl's long passphrase";
const USING = [
  "urn:ietf:params:jmap:core",
  "urn:ietf:params:jmap:mail",
  "urn:ietf:params:jmap:submission",
  "urn:ietf:params:jmap:vacationresponse",
];

// biome-ignore lint/suspicious/noExplicitAny: the tests assert what they read of it
type Loose = Record<string, any>;

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
  const carl = jmapUser(() => server, CARL, CARL_PASSWORD);

  before(async () => {
    // The server serves web/dist; build it when this checkout has not, or web/src changed since.
    buildWebIfStale();
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    remoteBase = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
    server = await startTestServer();
    base = `http://127.0.0.1:${server.ports.http}`;
    await user.add();
    const added = await server.cli(["user", "add", CARL, "--password-stdin"], `${CARL_PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
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
  /** The arguments of each method response to these calls, made by `who` in their own account. */
  const api = async (who: typeof user, calls: [string, Loose][]): Promise<Loose[]> => {
    const session = await who.session();
    const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
    const response = await fetch(session.apiUrl, {
      method: "POST",
      headers: { ...who.auth, "Content-Type": "application/json" },
      body: JSON.stringify({
        using: USING,
        methodCalls: calls.map(([name, args], i) => [name, { accountId, ...args }, String(i)]),
      }),
    });
    const body = (await response.json()) as { methodResponses: [string, Loose][] };
    return body.methodResponses.map(([, args]) => args);
  };
  /** The account's emails matching the filter, with these properties. */
  const emailsOf = async (who: typeof user, filter: Loose, properties: string[]): Promise<Loose[]> => {
    const [, get] = await api(who, [
      ["Email/query", { filter }],
      ["Email/get", { "#ids": { resultOf: "0", name: "Email/query", path: "/ids" }, properties }],
    ]);
    return get?.list ?? [];
  };
  /** The subjects of all the account's mail, as the server has it. */
  const subjects = async (): Promise<string[]> =>
    (await emailsOf(user, {}, ["subject"])).map((email) => email.subject);
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
    assert.equal(await page.getByRole("searchbox", { name: "Search mail" }).inputValue(), "");
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
    await searchbox.focus();
    await page.waitForFunction('document.activeElement?.getAttribute("name") === "q"');
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

  // Compose, reply, drafts, attachments and settings. Messages go to Carl, a second local user, whose
  // copy is read back through JMAP and parsed as the bytes his mailbox holds.

  const field = (label: string) => page.getByLabel(label, { exact: true });
  const composePane = () => page.locator("section.compose");
  /** Polls until the check holds; fails with its last answer. */
  const until = async <T>(read: () => Promise<T>, holds: (value: T) => boolean): Promise<T> => {
    let value = await read();
    for (let round = 0; round < 200 && !holds(value); round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      value = await read();
    }
    assert.ok(holds(value), JSON.stringify(value));
    return value;
  };
  /** The message with this subject in Carl's mailboxes, as he received it. */
  const carlGot = async (subject: string): Promise<ParsedMail> => PostalMime.parse(await carlGotRaw(subject));
  const carlGotRaw = async (subject: string): Promise<Buffer> => {
    const [email] = await until(
      () => emailsOf(carl, { subject }, ["blobId", "subject"]),
      (list) => list.some((each) => each.subject === subject),
    );
    const session = await carl.session();
    const url = (session.downloadUrl as string)
      .replace("{accountId}", session.primaryAccounts["urn:ietf:params:jmap:mail"])
      .replace("{blobId}", email?.blobId)
      .replace("{name}", "m.eml")
      .replace("{type}", "message/rfc822");
    return Buffer.from(await (await fetch(url, { headers: carl.auth })).arrayBuffer());
  };
  const headerOf = (mail: ParsedMail, name: string) =>
    mail.headers.find((header) => header.key === name)?.value;
  const roleId = async (role: string): Promise<string> => {
    const [mailboxes] = await api(user, [["Mailbox/get", { ids: null }]]);
    return ((mailboxes?.list ?? []) as Loose[]).find((mailbox) => mailbox.role === role)?.id;
  };
  const inDrafts = async (subject: string) =>
    emailsOf(user, { inMailbox: await roleId("drafts"), subject }, ["subject", "preview", "keywords"]);

  test("compose: a new message reaches a local user with its headers, Bcc hidden, a copy in Sent and no draft left; axe passes", async () => {
    await button("New message").click();
    await page.locator("input[name=to]:focus").waitFor();
    await field("To").fill("Carl <carl@example.org>");
    await field("Bcc").fill(ADDRESS);
    await field("Subject").fill("Plans");
    await field("Message").fill("Shall we meet?\nTomorrow at ten.");
    assert.deepEqual(await seriousViolations(page), []);
    await button("Send").click();
    await composePane().waitFor({ state: "detached" });

    const mail = await carlGot("Plans");
    assert.equal(mail.from?.address, ADDRESS);
    assert.deepEqual(
      mail.to?.map((to) => [to.name, to.address]),
      [["Carl", CARL]],
    );
    assert.equal(headerOf(mail, "bcc"), undefined, "the Bcc recipient stays hidden");
    assert.ok(headerOf(mail, "message-id"));
    assert.equal(mail.text?.trim(), "Shall we meet?\nTomorrow at ten.");

    const sent = await emailsOf(user, { inMailbox: await roleId("sent"), subject: "Plans" }, ["keywords"]);
    assert.equal(sent.length, 1);
    const bcc = await emailsOf(user, { inMailbox: await roleId("inbox"), subject: "Plans" }, ["subject"]);
    assert.equal(bcc.length, 1, "the Bcc recipient got it");
    assert.equal(sent[0]?.keywords.$draft, undefined);
    assert.deepEqual(await inDrafts("Plans"), []);
    await mailbox("sent").click();
    await row("Plans").waitFor();
  });

  test("reply all quotes the message, threads it and says Re:, starting in the body; forward says Fwd:", async () => {
    await user.deliver(
      {
        subject: "Question",
        text: "Are you coming?\nBring cake.",
        messageId: "<q1@example.org>",
        cc: "Dave <dave@example.net>",
        envelope: { from: CARL, to: [ADDRESS] },
      },
      "Carl <carl@example.org>",
    );
    await mailbox("inbox").click();
    await row("Question").locator("button").click();
    await button("Reply all").click();
    assert.equal(await field("To").inputValue(), "Carl <carl@example.org>");
    assert.equal(await field("Cc").inputValue(), "Dave <dave@example.net>");
    assert.equal(await field("Subject").inputValue(), "Re: Question");
    assert.match(await field("Message").inputValue(), /wrote:\n> Are you coming\?\n> Bring cake\.$/);
    await page.locator("textarea[name=body]:focus").waitFor();
    await page.keyboard.type("Yes, with cake.");
    // Dave is remote; the relay is not what this test is about.
    await field("Cc").fill("");
    await button("Send").click();
    await composePane().waitFor({ state: "detached" });

    const reply = await carlGot("Re: Question");
    assert.equal(reply.inReplyTo, "<q1@example.org>");
    assert.match(reply.references ?? "", /<q1@example\.org>/);
    assert.match(
      reply.text ?? "",
      /^Yes, with cake\.\n\nOn .*, Carl wrote:\n> Are you coming\?\n> Bring cake\./,
    );

    await row("Question").locator("button").click();
    await button("Forward").click();
    assert.equal(await field("Subject").inputValue(), "Fwd: Question");
    assert.equal(await field("To").inputValue(), "");
    assert.match(await field("Message").inputValue(), /Forwarded message[\s\S]*Are you coming\?/);
    await button("Close").click();
    await composePane().waitFor({ state: "detached" });
    assert.deepEqual(await inDrafts("Fwd: Question"), [], "an untouched forward leaves no draft");

    await row("Question").locator("button").click();
    await button("Forward as attachment").click();
    assert.equal(await field("Subject").inputValue(), "Fwd: Question");
    await page.locator(".compose .attachments", { hasText: "Question.eml" }).waitFor();
    await field("To").fill(CARL);
    await button("Send").click();
    await composePane().waitFor({ state: "detached" });
    const raw = (await carlGotRaw("Fwd: Question")).toString("latin1");
    const part = raw.slice(raw.search(/Content-Type: message\/rfc822/i));
    assert.ok(part.length < raw.length, "the original is attached as message/rfc822");
    assert.match(part, /Message-ID: <q1@example\.org>/i, "with its own header");
    assert.match(part, /Are you coming\?/);
  });

  test("conversations: a thread is one row with its count; the reader lists its messages and opens each", async () => {
    await user.deliver(
      {
        subject: "Lunch",
        text: "Noon at the usual place?",
        messageId: "<lunch1@example.org>",
        envelope: { from: CARL, to: [ADDRESS] },
      },
      "Carl <carl@example.org>",
    );
    await user.deliver(
      {
        subject: "Re: Lunch",
        text: "Make it half past.",
        messageId: "<lunch2@example.org>",
        inReplyTo: "<lunch1@example.org>",
        references: "<lunch1@example.org>",
        envelope: { from: CARL, to: [ADDRESS] },
      },
      "Carl <carl@example.org>",
    );
    await mailbox("inbox").click();
    await row("Re: Lunch").waitFor();
    assert.equal(await row("Lunch").count(), 2, "one row per message while conversations are off");
    await page.getByLabel("Conversations").check();
    await until(
      () => row("Lunch").count(),
      (count) => count === 1,
    );
    assert.equal((await row("Re: Lunch").locator(".count").textContent())?.trim(), "2");
    await row("Re: Lunch").locator("button").click();
    const thread = page.getByRole("navigation", { name: "Conversation" });
    await thread.getByRole("button").nth(1).waitFor();
    assert.equal(await thread.getByRole("button").count(), 2);
    await thread.getByRole("button").first().click();
    await page.locator(".reader h2", { hasText: /^Lunch$/ }).waitFor();
    await page.reload();
    await logIn();
    assert.ok(await page.getByLabel("Conversations").isChecked(), "the choice is kept");
    await page.getByLabel("Conversations").uncheck();
    await until(
      () => row("Lunch").count(),
      (count) => count === 2,
    );
  });

  test("a draft is saved while typing, kept once in Drafts, and opened again after a reload", async () => {
    await button("New message").click();
    await field("To").fill(CARL);
    await field("Subject").fill("Unfinished");
    await field("Message").fill("half a thought");
    await page.locator(".compose .status", { hasText: "Draft saved" }).waitFor();
    await field("Message").fill("half a thought, and more");
    await until(
      () => inDrafts("Unfinished"),
      (list) => list.length === 1 && list[0]?.preview === "half a thought, and more",
    );
    await page.reload();
    await logIn();
    await mailbox("drafts").click();
    await row("Unfinished").locator("button").click();
    assert.equal(await field("To").inputValue(), CARL);
    assert.equal(await field("Subject").inputValue(), "Unfinished");
    assert.equal(await field("Message").inputValue(), "half a thought, and more");
    await button("Discard").click();
    await row("Unfinished").waitFor({ state: "detached" });
    assert.deepEqual(await inDrafts("Unfinished"), []);
  });

  test("attachments by the file picker and by drag-and-drop show name and size, and arrive byte for byte", async () => {
    const notes = Buffer.from("my notes\n");
    const photo = randomBytes(3000);
    await button("New message").click();
    await field("To").fill(CARL);
    await field("Subject").fill("Files");
    await field("Attach files (or drop them here)").setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: notes,
    });
    await page.locator(".compose .attachments li", { hasText: "notes.txt (9 B)" }).waitFor();
    // A drop as the browser makes one, built in the page (DataTransfer cannot be made elsewhere).
    const transfer = await page.evaluateHandle(`(() => {
      const bytes = Uint8Array.from(atob("${photo.toString("base64")}"), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], "photo.bin", { type: "application/octet-stream" }));
      return data;
    })()`);
    await page.dispatchEvent("section.compose", "drop", { dataTransfer: transfer });
    await page.locator(".compose .attachments li", { hasText: "photo.bin (2.9 KB)" }).waitFor();
    await button("Send").click();
    await composePane().waitFor({ state: "detached" });

    const mail = await carlGot("Files");
    const got = Object.fromEntries(
      mail.attachments.map((attachment) => [
        attachment.filename,
        Buffer.from(attachment.content as ArrayBuffer),
      ]),
    );
    assert.deepEqual(Object.keys(got).sort(), ["notes.txt", "photo.bin"]);
    assert.deepEqual(got["notes.txt"], notes);
    assert.deepEqual(got["photo.bin"], photo);
  });

  test("a refused send says why and keeps the message as a draft, its Bcc too", async () => {
    await button("New message").click();
    await field("To").fill("nobody@example.org");
    await field("Bcc").fill(CARL);
    await field("Subject").fill("Nowhere");
    await button("Send").click();
    const alert = page.locator(".compose [role=alert]");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /^Not sent: .*refused.*nobody@example\.org/);
    const drafts = await roleId("drafts");
    await until(
      () => emailsOf(user, { inMailbox: drafts, subject: "Nowhere" }, ["bcc"]),
      (list) => list.length === 1 && list[0]?.bcc?.[0]?.email === CARL,
    );
    await button("Discard").click();
    await composePane().waitFor({ state: "detached" });
    assert.deepEqual(await inDrafts("Nowhere"), []);
  });

  test("on a phone-sized screen one pane shows at a time, with a way back; axe passes there", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      const nav = page.locator("nav");
      assert.ok(await nav.isVisible());
      await button("New message").click();
      await composePane().waitFor();
      assert.ok(await nav.isHidden());
      assert.deepEqual(await seriousViolations(page), []);
      await button("Close").click();
      await nav.waitFor();
      await mailbox("inbox").click();
      await row("Question").locator("button").click();
      await page.locator(".reader").waitFor();
      assert.ok(await page.locator(".list").isHidden());
      await button("Back").click();
      await row("Question").waitFor();
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  test("settings: the vacation response is saved; a named identity with a signature is sent as", async () => {
    await button("Settings").click();
    await field("Answer incoming mail automatically").check();
    await field("Subject").fill("Away");
    await field("Reply text").fill("Back on Monday.");
    await button("Save vacation response").click();
    await page.getByText("Vacation response saved").waitFor();
    const [vacation] = await api(user, [["VacationResponse/get", { ids: null }]]);
    assert.equal(vacation?.list[0].isEnabled, true);
    assert.equal(vacation?.list[0].subject, "Away");
    assert.equal(vacation?.list[0].textBody, "Back on Monday.");

    await field("Name of the new identity").fill("Alice Liddell");
    await field("Signature of the new identity").fill("Alice, in the garden");
    await button("Add identity").click();
    await page.getByRole("form", { name: "Identity Alice Liddell" }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await button("Close").click();

    await button("New message").click();
    await field("From").selectOption({ label: `Alice Liddell <${ADDRESS}>` });
    assert.equal(await field("Message").inputValue(), "\n\n-- \nAlice, in the garden");
    await field("To").fill(CARL);
    await field("Subject").fill("Signed");
    await button("Send").click();
    await composePane().waitFor({ state: "detached" });
    const mail = await carlGot("Signed");
    assert.deepEqual([mail.from?.name, mail.from?.address], ["Alice Liddell", ADDRESS]);
    assert.match(mail.text ?? "", /-- \nAlice, in the garden/);
  });
});
