// The IMAP benchmark (issue 6): LOGIN+SELECT, a header FETCH of the whole mailbox, full-body FETCH
// throughput, five SEARCHes, STORE on the whole mailbox and the APPEND rate, for mailroom and a
// throwaway Dovecot loaded with the same generated messages, in one run. One untimed first pass per
// server (Dovecot indexes its Maildir; a third of the messages get \Seen so UNSEEN selects something),
// then timed sessions alternating which server goes first. Peak memory is sampled throughout. Writes
// bench/imap/RESULTS.md (or --out).
//
//   node --import tsx bench/imap/run.ts [--quick] [--messages N] [--repetitions N] [--appends N]
//                                       [--chunk N] [--window N] [--mode build|tsx] [--cpu-prof DIR]
//                                       [--out FILE]
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { positiveIntegers } from "../lib/args.js";
import type { GroupMemory } from "../lib/proc.js";
import { busyMachineWarning, writeReport } from "../lib/report.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { generateCorpus, messageOfSize } from "../pop3/corpus.js";
import { REPO_ROOT } from "../pop3/mailroom.js";
import { fetchResponses, fetchUid, ImapClient, searchResults } from "./client.js";
import { type DovecotInstance, startDovecot } from "./dovecot.js";
import { type MailroomInstance, type MailroomMode, startMailroom } from "./mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const SEED = 6;
const MB = 1_000_000;
const MiB = 1024 * 1024;
const LARGER_THAN = 50_000;
const SUBJECT_WORD = "quarterly";
/**
 * In about 3% of the corpus's bodies (the pair of words in about 19%, the letter after in a seventh of
 * those): selective, as a search a person types is, so the substring index has something to rule out.
 */
const BODY_STRING = "quarterly budget w";
/**
 * One correspondent's address, in about 1% of the messages (From: and Return-Path:): a word the others
 * lack, as most of what people search for is, where the corpus's bodies draw on 90 words only.
 */
const TEXT_STRING = "sender42";

type ServerName = "mailroom" | "dovecot";
const LABEL: Record<ServerName, string> = { mailroom: "mailroom", dovecot: "Dovecot" };
const SERVERS: readonly ServerName[] = ["mailroom", "dovecot"];

const SEARCHES = [
  { key: "subject", criteria: `SUBJECT "${SUBJECT_WORD}"`, label: `UID SEARCH SUBJECT "${SUBJECT_WORD}"` },
  { key: "unseen", criteria: "UNSEEN", label: "UID SEARCH UNSEEN" },
  { key: "larger", criteria: `LARGER ${LARGER_THAN}`, label: `UID SEARCH LARGER ${LARGER_THAN}` },
  { key: "body", criteria: `BODY "${BODY_STRING}"`, label: `UID SEARCH BODY "${BODY_STRING}"` },
  { key: "text", criteria: `TEXT "${TEXT_STRING}"`, label: `UID SEARCH TEXT "${TEXT_STRING}"` },
] as const;
type SearchKey = (typeof SEARCHES)[number]["key"];

function usage(): never {
  process.stderr.write(
    "usage: node --import tsx bench/imap/run.ts [--quick] [--messages N] [--repetitions N] [--appends N] [--chunk N] [--window N] [--mode build|tsx] [--dovecot-scheme SCHEME] [--cpu-prof DIR] [--out FILE]\n",
  );
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      messages: { type: "string" },
      repetitions: { type: "string", default: "3" },
      appends: { type: "string" },
      chunk: { type: "string", default: "250" },
      window: { type: "string", default: "2" },
      mode: { type: "string", default: "build" },
      "dovecot-scheme": { type: "string", default: "PLAIN" },
      "cpu-prof": { type: "string" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "imap", "RESULTS.md") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) usage();
  const positive = positiveIntegers(usage);
  const mode = values.mode;
  if (mode !== "build" && mode !== "tsx") usage();
  const checkedMode: MailroomMode = mode;
  return {
    quick: values.quick,
    messages: positive(values.messages, values.quick ? 1000 : 10_000),
    repetitions: positive(values.repetitions, 3),
    appends: positive(values.appends, values.quick ? 200 : 500),
    chunk: positive(values.chunk, 250),
    window: positive(values.window, 2),
    mode: checkedMode,
    dovecotScheme: values["dovecot-scheme"],
    cpuProfileDir: values["cpu-prof"],
    out: values.out,
  };
}

const settings = options();

interface Expected {
  messages: number;
  octets: number;
  /** \Seen is set on messages 1..seen in the first pass. */
  seen: number;
  searches: Record<SearchKey, number>;
}

interface SessionResult {
  loginSelectMs: number;
  /** SELECT alone: LOGIN's share is mostly password verification, which differs by design (README). */
  selectMs: number;
  headerFetchMs: number;
  bodyFetchMs: number;
  bodyMessages: number;
  bodyOctets: number;
  searchMs: Record<SearchKey, number>;
  /** `UID STORE 1:* +FLAGS (\Flagged)`, every message's FETCH answer read. */
  storeMs: number;
  /** `UID STORE 1:* -FLAGS.SILENT (\Flagged)`, which puts the mailbox back as it was. */
  storeSilentMs: number;
  appendMs: number;
  appends: number;
  literalPlus: boolean;
  problems: string[];
}

async function session(
  host: string,
  port: number,
  expected: Expected,
  first: boolean,
  mailboxName: string,
): Promise<SessionResult> {
  const problems: string[] = [];
  const check = (condition: boolean, problem: string) => {
    if (!condition) problems.push(problem);
  };
  const started = performance.now();
  const client = await ImapClient.connect(host, port);
  try {
    await client.ok(`LOGIN "${ADDRESS}" "${PASSWORD}"`);
    const selectStarted = performance.now();
    const select = await client.ok("SELECT INBOX");
    const loginSelectMs = performance.now() - started;
    const selectMs = performance.now() - selectStarted;
    const exists = select.untagged
      .map((response) => /^\* (\d+) EXISTS/i.exec(response.text)?.[1])
      .find(Boolean);
    check(
      Number(exists) === expected.messages,
      `SELECT said ${exists} EXISTS, expected ${expected.messages}`,
    );
    if (first) await client.ok(`STORE 1:${expected.seen} +FLAGS.SILENT (\\Seen)`);

    let mark = performance.now();
    const headers = await client.ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])");
    const headerFetchMs = performance.now() - mark;
    const headerResponses = fetchResponses(headers);
    check(
      headerResponses.length === expected.messages,
      `header FETCH returned ${headerResponses.length} messages, expected ${expected.messages}`,
    );
    const withSubject = headerResponses.filter((response) =>
      response.literals.some((literal) => literal.includes("Subject: benchmark message")),
    ).length;
    check(
      withSubject === headerResponses.length,
      `${headerResponses.length - withSubject} header FETCHes had no Subject`,
    );
    const uids = headerResponses.map(fetchUid).sort((a, b) => a - b);
    check(!uids.some(Number.isNaN), "a header FETCH response carried no UID");

    mark = performance.now();
    let bodyMessages = 0;
    let bodyOctets = 0;
    const chunks: string[] = [];
    for (let index = 0; index < uids.length; index += settings.chunk) {
      const slice = uids.slice(index, index + settings.chunk);
      chunks.push(`${slice[0]}:${slice[slice.length - 1]}`);
    }
    const fetchChunk = async (range: string) => {
      const completion = await client.ok(`UID FETCH ${range} (BODY.PEEK[])`);
      for (const response of fetchResponses(completion)) {
        bodyMessages++;
        for (const literal of response.literals) bodyOctets += literal.length;
      }
    };
    let next = 0;
    const lane = async () => {
      while (next < chunks.length) await fetchChunk(chunks[next++] as string);
    };
    await Promise.all(Array.from({ length: settings.window }, lane));
    const bodyFetchMs = performance.now() - mark;
    check(bodyMessages === expected.messages, `body FETCH returned ${bodyMessages} messages`);
    check(
      bodyOctets === expected.octets,
      `body FETCH returned ${bodyOctets} octets, expected ${expected.octets}`,
    );

    const searchMs = {} as Record<SearchKey, number>;
    for (const search of SEARCHES) {
      mark = performance.now();
      const completion = await client.ok(`UID SEARCH ${search.criteria}`);
      searchMs[search.key] = performance.now() - mark;
      const found = searchResults(completion).length;
      check(
        found === expected.searches[search.key],
        `${search.label} found ${found}, expected ${expected.searches[search.key]}`,
      );
    }

    mark = performance.now();
    const stored = await client.ok("UID STORE 1:* +FLAGS (\\Flagged)");
    const storeMs = performance.now() - mark;
    const flagged = fetchResponses(stored).filter((response) => /\\Flagged/.test(response.text)).length;
    check(
      flagged === expected.messages,
      `STORE +FLAGS answered for ${flagged} messages, expected ${expected.messages}`,
    );
    mark = performance.now();
    await client.ok("UID STORE 1:* -FLAGS.SILENT (\\Flagged)");
    const storeSilentMs = performance.now() - mark;
    const stillFlagged = searchResults(await client.ok("UID SEARCH FLAGGED")).length;
    check(stillFlagged === 0, `${stillFlagged} messages kept \\Flagged after STORE -FLAGS.SILENT`);

    await client.ok(`CREATE ${mailboxName}`);
    const message = messageOfSize(SEED + 1, 0, 4096);
    mark = performance.now();
    for (let count = 0; count < settings.appends; count++) await client.ok(`APPEND ${mailboxName}`, message);
    const appendMs = performance.now() - mark;
    const status = await client.ok(`STATUS ${mailboxName} (MESSAGES)`);
    const appended = status.untagged
      .map((response) => /MESSAGES (\d+)/i.exec(response.text)?.[1])
      .find(Boolean);
    check(
      Number(appended) === settings.appends,
      `${mailboxName} holds ${appended} messages after ${settings.appends} APPENDs`,
    );
    await client.ok(`DELETE ${mailboxName}`);
    const literalPlus = client.capabilities.has("LITERAL+");
    await client.logout();
    return {
      loginSelectMs,
      selectMs,
      headerFetchMs,
      bodyFetchMs,
      bodyMessages,
      bodyOctets,
      searchMs,
      storeMs,
      storeSilentMs,
      appendMs,
      appends: settings.appends,
      literalPlus,
      problems,
    };
  } finally {
    client.close();
  }
}

const messagesPerSecond = (result: SessionResult) => result.bodyMessages / (result.bodyFetchMs / 1000);
const megabytesPerSecond = (result: SessionResult) => result.bodyOctets / MB / (result.bodyFetchMs / 1000);
const appendsPerSecond = (result: SessionResult) => result.appends / (result.appendMs / 1000);

interface Peaks {
  mailroomHwm: number;
  dovecot: GroupMemory;
}

function sampler(mailroom: MailroomInstance, dovecot: DovecotInstance): { peaks: Peaks; stop: () => void } {
  const peaks: Peaks = { mailroomHwm: 0, dovecot: { processes: 0, rss: 0, pss: 0 } };
  const sample = async () => {
    try {
      peaks.mailroomHwm = Math.max(peaks.mailroomHwm, (await mailroom.memory()).hwm);
      const group = await dovecot.memory();
      const pss = Math.max(group.pss, peaks.dovecot.pss);
      peaks.dovecot = group.rss > peaks.dovecot.rss ? { ...group, pss } : { ...peaks.dovecot, pss };
    } catch {
      // A server that exited shows up as a failed session.
    }
  };
  const timer = setInterval(() => void sample(), 250);
  return {
    peaks,
    stop: () => clearInterval(timer),
  };
}

function expectations(count: number): Expected {
  const seen = Math.floor(count / 3);
  let octets = 0;
  let subject = 0;
  let larger = 0;
  let body = 0;
  let text = 0;
  for (const message of generateCorpus(count, SEED)) {
    octets += message.length;
    if (message.length > LARGER_THAN) larger++;
    const headerEnd = message.indexOf("\r\n\r\n");
    const header = message.subarray(0, headerEnd).toString("latin1");
    if (new RegExp(`^Subject: .*${SUBJECT_WORD}`, "im").test(header)) subject++;
    // 7bit ASCII text: the body as BODY matches it, case-insensitively.
    if (
      message
        .subarray(headerEnd + 4)
        .toString("latin1")
        .toLowerCase()
        .includes(BODY_STRING)
    )
      body++;
    if (message.toString("latin1").toLowerCase().includes(TEXT_STRING)) text++;
  }
  return { messages: count, octets, seen, searches: { subject, unseen: count - seen, larger, body, text } };
}

async function machineFacts(dovecotVersion: string, loadStart: number[]): Promise<string[]> {
  const cpus = os.cpus();
  const kernel = await promisify(execFile)("uname", ["-srm"])
    .then((result) => result.stdout.trim())
    .catch(() => os.release());
  const loads = (values: number[]) => values.map((load) => load.toFixed(2)).join(" / ");
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}); load average (1/5/15 min) at start ${loads(loadStart)}, at end ${loads(os.loadavg())}`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; kernel ${kernel}`,
    `- Node ${process.version}; mailroom ${settings.mode === "build" ? "compiled with tsc (plain node)" : "through tsx"}, \`mailroom serve\`, SQLite store; Dovecot ${dovecotVersion}, Maildir`,
    "- Client: bench/imap/client.ts, one Node process on the same machine (it competes for the same cores).",
  ];
}

interface ReportInput {
  facts: string[];
  /** os.loadavg() before the run, for the busy-machine warning. */
  loadStart: number[];
  expected: Expected;
  firstPass: Record<ServerName, SessionResult>;
  runs: Record<ServerName, SessionResult[]>;
  peaks: Peaks;
  loadSeconds: number;
}

function report(input: ReportInput): string {
  const { runs, expected, peaks, firstPass } = input;
  const row = (label: string, pick: (result: SessionResult) => number, digits: number, better: string) => {
    const mailroom = median(runs.mailroom.map(pick));
    const dovecot = median(runs.dovecot.map(pick));
    return `| ${label} | ${formatNumber(mailroom, digits)} | ${formatNumber(dovecot, digits)} | ${formatRatio(mailroom, dovecot)} | ${better} |`;
  };
  const each = (name: ServerName) =>
    runs[name]
      .map(
        (result, index) =>
          `| ${LABEL[name]} | ${index + 1} | ${formatNumber(result.loginSelectMs, 1)} | ${formatNumber(result.selectMs, 1)} | ${formatNumber(result.headerFetchMs)} | ${formatNumber(messagesPerSecond(result))} | ${formatNumber(megabytesPerSecond(result), 1)} | ${SEARCHES.map((search) => formatNumber(result.searchMs[search.key], 1)).join(" | ")} | ${formatNumber(result.storeMs)} | ${formatNumber(result.storeSilentMs)} | ${formatNumber(appendsPerSecond(result))} |`,
      )
      .join("\n");
  const firstRow = (name: ServerName) => {
    const result = firstPass[name];
    return `| ${LABEL[name]} | ${formatNumber(result.loginSelectMs, 1)} | ${formatNumber(result.headerFetchMs)} | ${formatNumber(messagesPerSecond(result))} | ${SEARCHES.map((search) => formatNumber(result.searchMs[search.key], 1)).join(" | ")} | ${formatNumber(appendsPerSecond(result))} |`;
  };
  const problems = SERVERS.flatMap((name) =>
    [firstPass[name], ...runs[name]].flatMap((result) =>
      result.problems.map((problem) => `${LABEL[name]}: ${problem}`),
    ),
  );
  const literalPlus = SERVERS.map(
    (name) => `${LABEL[name]} ${firstPass[name].literalPlus ? "offered LITERAL+" : "did not offer LITERAL+"}`,
  ).join(", ");
  const schemeOption =
    settings.dovecotScheme === "PLAIN" ? "" : ` --dovecot-scheme ${settings.dovecotScheme}`;
  return `# IMAP benchmark: mailroom and Dovecot side by side

Generated by \`node --import tsx bench/imap/run.ts${settings.quick ? " --quick" : ""}${schemeOption}\` (see bench/imap/README.md).

${input.facts.join("\n")}
- Mailbox: ${expected.messages} messages, ${(expected.octets / MiB).toFixed(1)} MiB (bench/pop3/corpus.ts, seed ${SEED}), the same bytes in mailroom's store and in Dovecot's Maildir; ${expected.seen} of them \\Seen.
- Each session: LOGIN + SELECT INBOX (timed from connect), \`UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])\`, \`UID FETCH a:b (BODY.PEEK[])\` in chunks of ${settings.chunk} UIDs with ${settings.window} chunks in flight, five UID SEARCHes, \`UID STORE 1:* +FLAGS (\\Flagged)\` and \`UID STORE 1:* -FLAGS.SILENT (\\Flagged)\` (which leaves the mailbox as it was; a SEARCH FLAGGED checks it), then CREATE a mailbox and APPEND ${settings.appends} messages of 4,096 octets to it one after another (${literalPlus}; with it each APPEND is one write, without it waits for "+"), STATUS, DELETE, LOGOUT.
${settings.dovecotScheme === "PLAIN" ? `- LOGIN is not like for like: mailroom verifies an scrypt hash (ln=14, by design, about 16 MiB and tens of ms of work), the bench's Dovecot passwd-file holds the password in {PLAIN}. "SELECT INBOX alone" compares the mailbox part.` : `- LOGIN: mailroom verifies an scrypt hash (ln=14, about 16 MiB), Dovecot one made by \`doveadm pw -s ${settings.dovecotScheme}\` with that command's default cost (\`--dovecot-scheme\`).`}
- One untimed first pass per server, then ${settings.repetitions} timed sessions each, alternating which server goes first.
- Every answer was checked: message counts, the sum of body octets against the corpus, each SEARCH's hit count against the corpus, the APPENDed count.
${busyMachineWarning(input.loadStart)}
## Medians of ${settings.repetitions} sessions

| | mailroom | Dovecot | mailroom/Dovecot | better |
|---|---:|---:|---:|---|
${row("LOGIN + SELECT, ms", (result) => result.loginSelectMs, 1, "lower")}
${row("SELECT INBOX alone, ms", (result) => result.selectMs, 1, "lower")}
${row(`Header FETCH of ${expected.messages} messages, ms`, (result) => result.headerFetchMs, 0, "lower")}
${row("Full-body FETCH, messages/s", messagesPerSecond, 0, "higher")}
${row("Full-body FETCH, MB/s", megabytesPerSecond, 1, "higher")}
${SEARCHES.map((search) => row(`${search.label} (${expected.searches[search.key]} hits), ms`, (result) => result.searchMs[search.key], 1, "lower")).join("\n")}
${row(`UID STORE 1:* +FLAGS (\\Flagged) on ${expected.messages} messages, ms`, (result) => result.storeMs, 0, "lower")}
${row(`UID STORE 1:* -FLAGS.SILENT (\\Flagged) on ${expected.messages} messages, ms`, (result) => result.storeSilentMs, 0, "lower")}
${row("APPEND of 4 KB, sequential, per second", appendsPerSecond, 0, "higher")}
| Peak memory | ${(peaks.mailroomHwm / MiB).toFixed(1)} MiB (VmHWM, one process) | ${(peaks.dovecot.rss / MiB).toFixed(1)} MiB RSS / ${(peaks.dovecot.pss / MiB).toFixed(1)} MiB PSS (sum of ${peaks.dovecot.processes} processes) | ${formatRatio(peaks.mailroomHwm, peaks.dovecot.rss)} (RSS) | lower |

Dovecot's memory is summed over its master and every process it forked, sampled every 250 ms; RSS counts
shared libraries once per process, PSS divides them among the sharers. MB = 10^6 octets.

## Every timed session

| server | session | LOGIN+SELECT ms | SELECT ms | header FETCH ms | body messages/s | body MB/s | ${SEARCHES.map((search) => `${search.key} ms`).join(" | ")} | STORE ms | STORE .SILENT ms | APPEND/s |
|---|---:|---:|---:|---:|---:|---:|${"---:|".repeat(SEARCHES.length)}---:|---:|---:|
${each("mailroom")}
${each("dovecot")}

## First (untimed) pass

| server | LOGIN+SELECT ms | header FETCH ms | body messages/s | ${SEARCHES.map((search) => `${search.key} ms`).join(" | ")} | APPEND/s |
|---|---:|---:|---:|${"---:|".repeat(SEARCHES.length)}---:|
${firstRow("mailroom")}
${firstRow("dovecot")}

Loading the mailbox into mailroom's store took ${input.loadSeconds.toFixed(1)} s (createBlobWriter/finish/deliver, 32 in flight; not a benchmark figure).

## Problems

${problems.length === 0 ? "None: every command completed OK and every count and size matched the corpus." : problems.map((problem) => `- ${problem}`).join("\n")}
`;
}

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  const expected = expectations(settings.messages);
  process.stderr.write(`bench: ${expected.messages} messages, ${(expected.octets / MiB).toFixed(1)} MiB\n`);
  let dovecot: DovecotInstance | null = null;
  let mailroom: MailroomInstance | null = null;
  const stopAll = async () => {
    await Promise.all([dovecot?.stop(), mailroom?.stop()].map((stop) => stop?.catch(() => undefined)));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stderr.write("bench: writing Dovecot's Maildir and starting Dovecot\n");
    dovecot = await startDovecot({
      user: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
      passwordScheme: settings.dovecotScheme,
    });
    process.stderr.write(`bench: ${settings.mode === "build" ? "compiling and " : ""}loading mailroom\n`);
    mailroom = await startMailroom({
      address: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
      mode: settings.mode,
      cpuProfileDir: settings.cpuProfileDir,
    });
    const servers = { mailroom, dovecot };
    const memory = sampler(mailroom, dovecot);
    const firstPass = {} as Record<ServerName, SessionResult>;
    const runs: Record<ServerName, SessionResult[]> = { mailroom: [], dovecot: [] };
    let sessions = 0;
    const one = async (name: ServerName, first: boolean, what: string) => {
      const server = servers[name];
      const result = await session(
        server.host,
        server.port,
        expected,
        first,
        `bench-append-${++sessions}`,
      ).catch(async (error: unknown) => {
        throw new Error(
          `${LABEL[name]} ${what} failed: ${error instanceof Error ? error.message : error}\n${await server.logTail(10)}`,
        );
      });
      process.stderr.write(
        `bench: ${LABEL[name]} ${what}: LOGIN+SELECT ${formatNumber(result.loginSelectMs, 1)} ms, headers ${formatNumber(result.headerFetchMs)} ms, bodies ${formatNumber(messagesPerSecond(result))} msg/s ${formatNumber(megabytesPerSecond(result), 1)} MB/s, search ${SEARCHES.map((search) => formatNumber(result.searchMs[search.key], 1)).join("/")} ms, STORE ${formatNumber(result.storeMs)}/${formatNumber(result.storeSilentMs)} ms, APPEND ${formatNumber(appendsPerSecond(result))}/s${result.problems.length > 0 ? `, problems: ${result.problems.join("; ")}` : ""}\n`,
      );
      return result;
    };
    for (const name of SERVERS) firstPass[name] = await one(name, true, "first pass");
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const order = repetition % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      for (const name of order) runs[name].push(await one(name, false, `session ${repetition + 1}`));
    }
    memory.stop();
    const text = report({
      facts: await machineFacts(dovecot.version, loadStart),
      loadStart,
      expected,
      firstPass,
      runs,
      peaks: {
        ...memory.peaks,
        mailroomHwm: Math.max(memory.peaks.mailroomHwm, (await mailroom.memory()).hwm),
      },
      loadSeconds: mailroom.loadSeconds,
    });
    await writeReport(settings.out, text);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
