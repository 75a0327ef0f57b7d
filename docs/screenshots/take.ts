// Takes the README's screenshots of the webmail: a compiled `mailroom serve` (bench/imap/mailroom.ts)
// holds a small inbox written here — a conversation, an HTML newsletter, a message with an attachment,
// an unread few — and Debian's Chromium (playwright-core) logs in and captures the main screens, on a
// desktop window and on a phone-sized one in dark mode.
//
//   npm run build && node --import tsx docs/screenshots/take.ts
//
// The PNGs are written beside this file and committed; run it again when the webmail's look changes.

import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { startMailroom } from "../../bench/imap/mailroom.js";
import { waitForPort } from "../../bench/lib/net.js";
import { clients } from "../../test/support/clients.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADDRESS = "alice@example.org";
const PASSWORD = "screenshots-password";

interface Sample {
  from: string;
  subject: string;
  /** text/plain unless html is given; then multipart/alternative. */
  text: string;
  html?: string;
  attachment?: { name: string; type: string; bytes: Buffer };
  messageId: string;
  inReplyTo?: string;
  seen?: boolean;
}

const SAMPLES: Sample[] = [
  {
    from: "Bob Builder <bob@example.net>",
    subject: "Plans for the garden shed",
    text: "Hi Alice,\n\nI measured the corner by the fence: 2.4 by 1.8 metres fits.\nShall we order the timber this week?\n\nBob",
    messageId: "<shed-1@example.net>",
    seen: true,
  },
  {
    from: "Alice Example <alice@example.org>",
    subject: "Re: Plans for the garden shed",
    text: "Yes, let's. Thursday works for me.\n\n> Shall we order the timber this week?\n\n-- \nAlice",
    messageId: "<shed-2@example.org>",
    inReplyTo: "<shed-1@example.net>",
    seen: true,
  },
  {
    from: "Bob Builder <bob@example.net>",
    subject: "Re: Plans for the garden shed",
    text: "Thursday it is. I'll bring the drawings.\n\nBob",
    messageId: "<shed-3@example.net>",
    inReplyTo: "<shed-2@example.org>",
  },
  {
    from: "Carol Chen <carol@example.com>",
    subject: "Minutes of the residents' meeting",
    text: "Hello all,\n\nthe minutes are attached. The next meeting is on the 14th.\n\nCarol",
    attachment: {
      name: "minutes.txt",
      type: "text/plain",
      bytes: Buffer.from("1. Bins on Tuesdays.\r\n2. New bike racks in spring.\r\n"),
    },
    messageId: "<minutes@example.com>",
  },
  {
    from: "The Allotment News <news@allotment.example>",
    subject: "December: what to sow now",
    text: "December: what to sow now. Broad beans, garlic and onion sets.",
    html: `<div style="font-family:Georgia,serif;max-width:560px"><h1 style="color:#2f6b3a">What to sow in December</h1><p>Cold days, but not idle ones: <b>broad beans</b>, <b>garlic</b> and <b>onion sets</b> go in now.</p><ul><li>Sow broad beans 5 cm deep</li><li>Plant garlic cloves pointed end up</li><li>Mulch the asparagus bed</li></ul><p style="color:#555">Happy growing,<br>The Allotment News</p></div>`,
    messageId: "<news-dec@allotment.example>",
  },
  {
    from: "Dan Okafor <dan@example.net>",
    subject: "Photos from Saturday",
    text: "Here are the ones from the walk. The third is my favourite.",
    messageId: "<photos@example.net>",
    seen: true,
  },
  {
    from: "Erin Walsh <erin@example.org>",
    subject: "Book club: next title",
    text: "We voted: next month is 'The Left Hand of Darkness'. See you on the 9th!",
    messageId: "<book@example.org>",
    seen: true,
  },
];

function crlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

function messageOf(sample: Sample, date: Date): Buffer {
  const head = [
    `From: ${sample.from}`,
    `To: Alice Example <${ADDRESS}>`,
    `Subject: ${sample.subject}`,
    `Date: ${date.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: ${sample.messageId}`,
    ...(sample.inReplyTo ? [`In-Reply-To: ${sample.inReplyTo}`, `References: ${sample.inReplyTo}`] : []),
    "MIME-Version: 1.0",
  ];
  const textPart = `Content-Type: text/plain; charset=utf-8\r\n\r\n${crlf(sample.text)}\r\n`;
  if (sample.html !== undefined) {
    const boundary = "alt-boundary";
    return Buffer.from(
      `${head.join("\r\n")}\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
        `--${boundary}\r\n${textPart}--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${sample.html}\r\n--${boundary}--\r\n`,
    );
  }
  if (sample.attachment !== undefined) {
    const boundary = "mixed-boundary";
    const { name, type, bytes } = sample.attachment;
    return Buffer.from(
      `${head.join("\r\n")}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
        `--${boundary}\r\n${textPart}--${boundary}\r\nContent-Type: ${type}; name="${name}"\r\n` +
        `Content-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
        `${bytes.toString("base64")}\r\n--${boundary}--\r\n`,
    );
  }
  return Buffer.from(`${head.join("\r\n")}\r\n${textPart}`);
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(HERE, `${name}.png`);
  await writeFile(file, await page.screenshot());
  process.stderr.write(`screenshots: ${path.relative(process.cwd(), file)}\n`);
}

/** Marks the samples meant to be read as read, through JMAP as any client would. */
async function markSeen(base: string, token: string): Promise<void> {
  const api = async (methodCalls: unknown[]) => {
    const response = await fetch(`${base}/jmap/api/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        methodCalls,
      }),
    });
    if (!response.ok) throw new Error(`JMAP answered ${response.status}`);
    return ((await response.json()) as { methodResponses: [string, Record<string, unknown>, string][] })
      .methodResponses;
  };
  const session = (await (
    await fetch(`${base}/.well-known/jmap`, { headers: { Authorization: `Bearer ${token}` } })
  ).json()) as { primaryAccounts: Record<string, string> };
  const accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"];
  const [, got] =
    (
      await api([
        ["Email/query", { accountId }, "q"],
        [
          "Email/get",
          {
            accountId,
            "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
            properties: ["messageId"],
          },
          "g",
        ],
      ])
    )[1] ?? [];
  const seen = new Set(
    SAMPLES.filter((sample) => sample.seen).map((sample) => sample.messageId.slice(1, -1)),
  );
  const update: Record<string, unknown> = {};
  for (const email of (got?.list ?? []) as Array<{ id: string; messageId: string[] | null }>) {
    if (email.messageId?.some((id) => seen.has(id))) update[email.id] = { "keywords/$seen": true };
  }
  await api([["Email/set", { accountId, update }, "s"]]);
}

async function logIn(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel("Address").fill(ADDRESS);
  await page.getByLabel("Password or app password").fill(PASSWORD);
  await page.click("button[type=submit]");
  await page.locator(".list li").first().waitFor();
}

const server = await startMailroom({
  address: ADDRESS,
  password: PASSWORD,
  // The store dates them a minute apart from the start of 2026; the Date fields say the same.
  messages: SAMPLES.map((sample, i) => messageOf(sample, new Date(Date.UTC(2026, 0, 1) + i * 60_000))),
  mode: "build",
  http: true,
});
const browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
try {
  const http = server.http;
  if (http === undefined) throw new Error("mailroom started without its http listener");
  await waitForPort(server.host, http.port, 30_000, "mailroom http");
  const base = `http://${server.host}:${http.port}`;
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });
  await markSeen(base, http.token);

  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  const page = await desktop.newPage();
  await logIn(page, base);
  await shoot(page, "inbox");
  await page.locator(".list li", { hasText: "December: what to sow now" }).locator("button").click();
  await page.frameLocator("iframe[title=message]").locator("h1").waitFor();
  await shoot(page, "message");
  await button(page, "New message").click();
  await page.getByLabel("To", { exact: true }).fill("Bob Builder <bob@example.net>");
  await page.getByLabel("Subject", { exact: true }).fill("Timber order");
  await page
    .getByLabel("Message", { exact: true })
    .fill("Hi Bob,\n\nI've ordered the timber for Thursday.\n\nAlice");
  await shoot(page, "compose");
  await button(page, "Discard").click();
  await button(page, "Settings").click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await shoot(page, "settings");
  await desktop.close();

  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    colorScheme: "dark",
    isMobile: true,
    hasTouch: true,
  });
  const small = await phone.newPage();
  await logIn(small, base);
  await shoot(small, "phone-dark");
  await phone.close();
} finally {
  await browser.close();
  await server.stop();
}
