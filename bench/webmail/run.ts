// The webmail on a 10,000-message mailbox in headless Chromium (issue 15): the time from pressing
// "Log in" to the first rows of the inbox, the DOM that takes, the time to open the newest message,
// and the time and DOM to reach the 500th message — by whatever the webmail offers to get there (its "More" button, or scrolling).
// Two webmail builds are compared in one run, interleaved round by round: this checkout's web/dist
// and another (`--before DIR`, e.g. main's), each served by its own mailroom on the same mailbox.
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Browser, chromium, type Page } from "playwright-core";
import { clients } from "../../test/support/clients.js";
import { type MailroomInstance, startMailroom } from "../imap/mailroom.js";
import { threadedCorpus } from "../jmap/corpus.js";
import { positiveIntegers } from "../lib/args.js";
import { waitForPort } from "../lib/net.js";
import { writeReport } from "../lib/report.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { REPO_ROOT } from "../pop3/mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const SEED = 6;
/**
 * The depth reached in the second measure, newest first: the 500th message, the deepest the "More"
 * button of the list before virtual scrolling reaches (its one Email/get of every row so far is then
 * at the server's maxObjectsInGet, and the next is refused).
 */
const DEEP = 500;

interface Round {
  /** Milliseconds from the click on "Log in" to the first message row in the DOM. */
  firstRows: number;
  /** Elements in the document, and message rows among them, once the first rows are there. */
  nodesAtFirst: number;
  rowsAtFirst: number;
  /** Milliseconds from the click on the newest message to its text rendered in the reader's frame. */
  open: number;
  /** Milliseconds from the first rows to the DEEP-th row being in the DOM, and the DOM then. */
  deep: number;
  nodesAtDeep: number;
  rowsAtDeep: number;
  /** Email/query requests the deep measure took. */
  steps: number;
  /** Milliseconds from there to the last message's row in the DOM; NaN where the list cannot get there. */
  last: number;
  nodesAtLast: number;
}

function usage(): never {
  process.stderr.write(
    "usage: node --import tsx bench/webmail/run.ts [--before DIR] [--quick] [--messages N] [--repetitions N] [--out FILE]\n",
  );
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      before: { type: "string" },
      quick: { type: "boolean", default: false },
      messages: { type: "string" },
      repetitions: { type: "string" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "webmail", "RESULTS.md") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) usage();
  const positive = positiveIntegers(usage);
  return {
    before: values.before === undefined ? undefined : path.resolve(values.before),
    messages: positive(values.messages, values.quick ? 2000 : 10_000),
    repetitions: positive(values.repetitions, values.quick ? 3 : 5),
    out: values.out,
  };
}

const settings = options();

const count = (page: Page, expression: string): Promise<number> =>
  page.evaluate(expression) as Promise<number>;

/** One round on one webmail: a fresh browser context, log in, the first rows, then the DEEP-th row. */
async function round(browser: Browser, base: string): Promise<Round> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  let steps = 0;
  context.on("request", (request) => {
    if (request.url().endsWith("/jmap/api/") && (request.postData() ?? "").includes("Email/query")) steps++;
  });
  try {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByLabel("Address").fill(ADDRESS);
    await page.getByLabel("Password or app password").fill(PASSWORD);
    const started = performance.now();
    await page.click("button[type=submit]");
    await page.locator(".list li").first().waitFor();
    const firstRows = performance.now() - started;
    const nodesAtFirst = await count(page, "document.getElementsByTagName('*').length");
    const rowsAtFirst = await count(page, "document.querySelectorAll('.list li').length");
    const openStarted = performance.now();
    await page.locator(".list li").first().locator("button").click();
    // The reader's frame is sandboxed without scripts; its text is there once the message is rendered.
    await page.frameLocator("iframe[title=message]").locator("body").filter({ hasText: /\S/ }).waitFor();
    const open = performance.now() - openStarted;
    steps = 0;
    const deepStarted = performance.now();
    await reach(page, DEEP);
    const deep = performance.now() - deepStarted;
    const nodesAtDeep = await count(page, "document.getElementsByTagName('*').length");
    const rowsAtDeep = await count(page, "document.querySelectorAll('.list li').length");
    const deepSteps = steps;
    let last = Number.NaN;
    let nodesAtLast = Number.NaN;
    if ((await page.locator(".list .rows").count()) > 0) {
      const lastStarted = performance.now();
      await reach(page, settings.messages);
      last = performance.now() - lastStarted;
      nodesAtLast = await count(page, "document.getElementsByTagName('*').length");
    }
    return {
      firstRows,
      nodesAtFirst,
      rowsAtFirst,
      open,
      deep,
      nodesAtDeep,
      rowsAtDeep,
      steps: deepSteps,
      last,
      nodesAtLast,
    };
  } finally {
    await context.close();
  }
}

/**
 * Brings the `depth`-th message row into the DOM as a user would: a list with a "More" button is
 * extended until it has that many rows; a scrolling list is scrolled to the row.
 */
async function reach(page: Page, depth: number): Promise<void> {
  const rows = page.locator(".list li");
  const more = page.getByRole("button", { name: "More", exact: true });
  if ((await page.locator(".list .rows").count()) > 0) {
    const height = await rows.first().evaluate((element) => element.getBoundingClientRect().height);
    await page.locator(".list .rows").evaluate(
      (element, top) => {
        element.scrollTop = top;
      },
      (depth - 1) * height,
    );
    await page.locator(`.list li[data-index="${depth - 1}"]`).waitFor();
    return;
  }
  for (;;) {
    const shown = await rows.count();
    if (shown >= depth) return;
    if ((await more.count()) === 0) throw new Error(`the list stops at ${shown} rows and offers no more`);
    await more.click();
    await page.locator(".list li").nth(shown).waitFor();
  }
}

function table(label: string, runs: Round[]): Record<keyof Round, number> & { label: string } {
  const of = (key: keyof Round) => {
    const values = runs.map((run) => run[key]).filter((value) => !Number.isNaN(value));
    return median(values);
  };
  return {
    label,
    firstRows: of("firstRows"),
    nodesAtFirst: of("nodesAtFirst"),
    rowsAtFirst: of("rowsAtFirst"),
    open: of("open"),
    deep: of("deep"),
    nodesAtDeep: of("nodesAtDeep"),
    rowsAtDeep: of("rowsAtDeep"),
    steps: of("steps"),
    last: of("last"),
    nodesAtLast: of("nodesAtLast"),
  };
}

function report(results: ReturnType<typeof table>[], loads: number[]): string {
  const cpus = os.cpus();
  const [load1, load5] = os.loadavg();
  const lines = [
    "# Webmail on a large mailbox: results",
    "",
    `Written by \`node --import tsx bench/webmail/run.ts${settings.before ? " --before DIR" : ""}\`: medians of ${settings.repetitions} rounds per webmail, interleaved, in headless Chromium (${clients.chromium.binary}), 1280×800.`,
    "",
    `- Mailbox: ${settings.messages} messages (bench/jmap/corpus.ts, seed ${SEED}) in the inbox; loaded in ${loads.map((s) => `${formatNumber(s, 1)} s`).join(" and ")}`,
    `- Machine: ${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, load average ${formatNumber(load1 ?? 0, 1)} / ${formatNumber(load5 ?? 0, 1)} at the end`,
    `- "first rows": from the click on Log in to the first message row in the DOM; "open": from the click on the newest message to its text in the reader; "to row ${DEEP}": from there until the ${DEEP}th row is in the DOM (More clicks, or one scroll); "to the last": then until the ${settings.messages}th is (n/a: the list cannot get there)`,
    "",
    `| webmail | first rows (ms) | elements at first rows | rows in DOM | open (ms) | to row ${DEEP} (ms) | Email/query calls | elements at row ${DEEP} | rows in DOM | to the last (ms) | elements there |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.label} | ${formatNumber(r.firstRows)} | ${formatNumber(r.nodesAtFirst)} | ${formatNumber(r.rowsAtFirst)} | ${formatNumber(r.open)} | ${formatNumber(r.deep)} | ${formatNumber(r.steps)} | ${formatNumber(r.nodesAtDeep)} | ${formatNumber(r.rowsAtDeep)} | ${formatNumber(r.last)} | ${formatNumber(r.nodesAtLast)} |`,
    ),
  ];
  const [after, before] = results;
  if (after && before) {
    lines.push(
      "",
      `Ratios this ÷ before: first rows ${formatRatio(after.firstRows, before.firstRows)}, open ${formatRatio(after.open, before.open)}, to row ${DEEP} ${formatRatio(after.deep, before.deep)}, elements at row ${DEEP} ${formatRatio(after.nodesAtDeep, before.nodesAtDeep)}.`,
    );
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  const webmails = [{ label: "this checkout", dist: path.join(REPO_ROOT, "web", "dist") }];
  if (settings.before) webmails.push({ label: "before", dist: settings.before });
  const servers: MailroomInstance[] = [];
  let browser: Browser | null = null;
  try {
    for (const webmail of webmails) {
      process.stderr.write(`bench: compiling and loading mailroom for ${webmail.label}\n`);
      const server = await startMailroom({
        address: ADDRESS,
        password: PASSWORD,
        messages: threadedCorpus(settings.messages, SEED),
        mode: "build",
        http: true,
        webDist: webmail.dist,
      });
      servers.push(server);
      const http = server.http;
      if (http === undefined) throw new Error("mailroom started without its http listener");
      await waitForPort(server.host, http.port, 30_000, "mailroom http");
    }
    browser = await chromium.launch({ executablePath: clients.chromium.binary, headless: true });
    const bases = servers.map((server) => `http://${server.host}:${server.http?.port}`);
    const runs: Round[][] = webmails.map(() => []);
    // One round each unmeasured first: Chromium's and the server's caches warm alike.
    for (const base of bases) await round(browser, base);
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const order = repetition % 2 === 0 ? bases.map((_, i) => i) : bases.map((_, i) => i).reverse();
      for (const i of order) {
        const result = await round(browser, bases[i] as string);
        runs[i]?.push(result);
        process.stderr.write(
          `bench: ${webmails[i]?.label} round ${repetition + 1}: first rows ${formatNumber(result.firstRows)} ms, open ${formatNumber(result.open)} ms, to row ${DEEP} ${formatNumber(result.deep)} ms, ${result.nodesAtDeep} elements\n`,
        );
      }
    }
    const results = webmails.map((webmail, i) => table(webmail.label, runs[i] ?? []));
    await writeReport(
      settings.out,
      report(
        results,
        servers.map((server) => server.loadSeconds),
      ),
    );
  } finally {
    await browser?.close();
    for (const server of servers) await server.stop();
  }
}

await main();
