// The IMAP concurrent mix (issue 19's "10-client mix"): ten clients on one mailbox at once, each looping
// over FETCH, STORE and APPEND picked at random, for a fixed time, against mailroom and a throwaway
// Dovecot loaded with the same generated messages; one server at a time, alternating which goes first.
// Every answer is checked, and an answer that is wrong counts as an error, not as work done:
//   - `UID FETCH a:a+9 (RFC822.SIZE BODY.PEEK[])`: ten messages, each literal as long as its RFC822.SIZE;
//   - `UID STORE a:a+9 ±FLAGS ($mixK)`: an answer for every message it changed, each answer with the
//     client's own keyword set or cleared as asked (each client has its own keyword, so the others'
//     STOREs cannot change it, and it knows which messages hold it);
//   - `APPEND INBOX` of 4,096 octets: OK; at the end STATUS counts the corpus plus every APPEND.
// Writes bench/imap/RESULTS-mix.md (or --out).
//
//   node --import tsx bench/imap/mix.ts [--quick] [--messages N] [--clients N] [--seconds N]
//                                       [--repetitions N] [--cpu-prof DIR] [--out FILE]
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { positiveIntegers } from "../lib/args.js";
import { busyMachineWarning, writeReport } from "../lib/report.js";
import { formatNumber, formatRatio, median, percentile } from "../lib/stats.js";
import { createRandom, generateCorpus, messageOfSize } from "../pop3/corpus.js";
import { REPO_ROOT } from "../pop3/mailroom.js";
import { fetchResponses, ImapClient } from "./client.js";
import { type DovecotInstance, startDovecot } from "./dovecot.js";
import { type MailroomInstance, startMailroom } from "./mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const SEED = 19;
const RANGE = 10;
const APPEND_SIZE = 4096;
/** The share of each operation among a client's picks. */
const WEIGHTS = { fetch: 0.5, store: 0.25, append: 0.25 } as const;
type Operation = keyof typeof WEIGHTS;
const OPERATIONS = Object.keys(WEIGHTS) as Operation[];

type ServerName = "mailroom" | "dovecot";
const LABEL: Record<ServerName, string> = { mailroom: "mailroom", dovecot: "Dovecot" };
const SERVERS: readonly ServerName[] = ["mailroom", "dovecot"];

function usage(): never {
  process.stderr.write(
    "usage: node --import tsx bench/imap/mix.ts [--quick] [--messages N] [--clients N] [--seconds N] [--repetitions N] [--cpu-prof DIR] [--out FILE]\n",
  );
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      messages: { type: "string" },
      clients: { type: "string", default: "10" },
      seconds: { type: "string" },
      repetitions: { type: "string" },
      "cpu-prof": { type: "string" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "imap", "RESULTS-mix.md") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) usage();
  const positive = positiveIntegers(usage);
  return {
    quick: values.quick,
    messages: positive(values.messages, values.quick ? 1000 : 10_000),
    clients: positive(values.clients, 10),
    seconds: positive(values.seconds, values.quick ? 5 : 30),
    repetitions: positive(values.repetitions, values.quick ? 1 : 3),
    cpuProfileDir: values["cpu-prof"],
    out: values.out,
  };
}

const settings = options();

function pick(next: () => number): Operation {
  let roll = next();
  for (const operation of OPERATIONS) {
    roll -= WEIGHTS[operation];
    if (roll < 0) return operation;
  }
  return "fetch";
}

interface RunResult {
  done: Record<Operation, number>;
  /** Milliseconds each checked operation took, by kind. */
  latencies: Record<Operation, number[]>;
  errors: string[];
  seconds: number;
}

function countsOf<T>(make: () => T): Record<Operation, T> {
  return { fetch: make(), store: make(), append: make() };
}

/** One client's loop; what it got right goes into `result`, what it got wrong into its errors. */
async function worker(
  host: string,
  port: number,
  index: number,
  seed: number,
  deadline: number,
  result: RunResult,
  /** The UIDs holding this client's keyword on this server, kept across runs. */
  keywordSet: Set<number>,
): Promise<void> {
  // Seeded, so both servers see the same sequence of picks.
  const next = createRandom(seed);
  const keyword = `$mix${index}`;
  const message = messageOfSize(SEED + 1, index, APPEND_SIZE);
  let client: ImapClient | null = null;
  while (performance.now() < deadline) {
    try {
      if (client === null) {
        client = await ImapClient.connect(host, port);
        await client.ok(`LOGIN "${ADDRESS}" "${PASSWORD}"`);
        await client.ok("SELECT INBOX");
      }
      const operation = pick(next);
      const first = 1 + Math.floor(next() * (settings.messages - RANGE));
      const range = `${first}:${first + RANGE - 1}`;
      const inRange = (uid: number) => uid >= first && uid < first + RANGE;
      const started = performance.now();
      let problem: string | null = null;
      if (operation === "fetch") {
        // Other sessions' STOREs arrive as unsolicited FETCHes (FLAGS, no body) among the answers.
        const bodies = new Map<number, boolean>();
        for (const answer of fetchResponses(
          await client.ok(`UID FETCH ${range} (RFC822.SIZE BODY.PEEK[])`),
        )) {
          const uid = uidOf(answer.text);
          if (!inRange(uid) || answer.literals.length === 0) continue;
          const size = Number(/RFC822\.SIZE (\d+)/i.exec(answer.text)?.[1]);
          bodies.set(uid, answer.literals.length === 1 && answer.literals[0]?.length === size);
        }
        const right = [...bodies.values()].filter(Boolean).length;
        if (right !== RANGE) problem = `FETCH ${range}: ${right} of ${RANGE} bodies right`;
      } else if (operation === "store") {
        const add = next() < 0.5;
        const answers = fetchResponses(
          await client.ok(`UID STORE ${range} ${add ? "+" : "-"}FLAGS (${keyword})`),
        );
        // Answers come for every message of the range (mailroom) or only for those the STORE changed
        // (Dovecot), so only a changed message must be answered. As only this client stores its
        // keyword, the last answer for a message (others' changes arrive as unsolicited FETCHes, some
        // from before this STORE) must show it as this STORE left it.
        const pattern = new RegExp(`FLAGS \\([^)]*\\${keyword}(?=[ )])`, "i");
        const last = new Map<number, string>();
        for (const answer of answers) {
          const uid = uidOf(answer.text);
          if (inRange(uid) && /\bFLAGS \(/i.test(answer.text)) last.set(uid, answer.text);
        }
        const wrong = [...last.values()].filter((text) => pattern.test(text) !== add).length;
        let unanswered = 0;
        for (let uid = first; uid < first + RANGE; uid++) {
          if (keywordSet.has(uid) !== add && !last.has(uid)) unanswered++;
          if (add) keywordSet.add(uid);
          else keywordSet.delete(uid);
        }
        if (unanswered > 0 || wrong > 0)
          problem = `STORE ${range} ${add ? "+" : "-"}FLAGS: ${unanswered} changed messages unanswered, ${wrong} answers wrong`;
      } else {
        await client.ok("APPEND INBOX", message);
      }
      if (problem === null) {
        result.done[operation]++;
        result.latencies[operation].push(performance.now() - started);
      } else {
        result.errors.push(problem);
      }
    } catch (error) {
      result.errors.push(error instanceof Error ? error.message : String(error));
      client?.close();
      client = null;
    }
  }
  await client?.logout();
}

async function mixRun(
  host: string,
  port: number,
  seed: number,
  keywordSets: Set<number>[],
): Promise<RunResult> {
  const result: RunResult = {
    done: countsOf(() => 0),
    latencies: countsOf(() => [] as number[]),
    errors: [],
    seconds: settings.seconds,
  };
  const started = performance.now();
  const deadline = started + settings.seconds * 1000;
  await Promise.all(
    Array.from({ length: settings.clients }, (_, index) =>
      worker(host, port, index, seed * 1000 + index, deadline, result, keywordSets[index] as Set<number>),
    ),
  );
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

async function inboxCount(host: string, port: number): Promise<number> {
  const client = await ImapClient.connect(host, port);
  try {
    await client.ok(`LOGIN "${ADDRESS}" "${PASSWORD}"`);
    const status = await client.ok("STATUS INBOX (MESSAGES)");
    return Number(status.untagged.map((line) => /MESSAGES (\d+)/i.exec(line.text)?.[1]).find(Boolean));
  } finally {
    await client.logout();
  }
}

const uidOf = (text: string) => Number(/\bUID (\d+)/i.exec(text)?.[1]);

const rate = (result: RunResult, operation: Operation) => result.done[operation] / result.seconds;

function report(
  runs: Record<ServerName, RunResult[]>,
  counts: Record<ServerName, { expected: number; found: number }>,
  facts: string[],
  loadStart: number[],
): string {
  const all = (name: ServerName) => runs[name];
  const rateRow = (operation: Operation) => {
    const mailroom = median(all("mailroom").map((result) => rate(result, operation)));
    const dovecot = median(all("dovecot").map((result) => rate(result, operation)));
    return `| ${operation.toUpperCase()} per second | ${formatNumber(mailroom, 1)} | ${formatNumber(dovecot, 1)} | ${formatRatio(mailroom, dovecot)} | higher |`;
  };
  const latencyRow = (operation: Operation, p: number) => {
    const at = (name: ServerName) =>
      median(all(name).map((result) => percentile(result.latencies[operation], p)));
    return `| ${operation.toUpperCase()} p${p}, ms | ${formatNumber(at("mailroom"), 1)} | ${formatNumber(at("dovecot"), 1)} | ${formatRatio(at("mailroom"), at("dovecot"))} | lower |`;
  };
  const each = (name: ServerName) =>
    runs[name]
      .map(
        (result, index) =>
          `| ${LABEL[name]} | ${index + 1} | ${formatNumber(result.seconds, 1)} | ${OPERATIONS.map((operation) => formatNumber(rate(result, operation), 1)).join(" | ")} | ${result.errors.length} |`,
      )
      .join("\n");
  const errors = SERVERS.flatMap((name) =>
    runs[name].flatMap((result, index) =>
      [...new Set(result.errors)].slice(0, 5).map((error) => `- ${LABEL[name]}, run ${index + 1}: ${error}`),
    ),
  );
  const countLines = SERVERS.map(
    (name) =>
      `- ${LABEL[name]}: INBOX holds ${counts[name].found} messages at the end, ${counts[name].expected} expected (the corpus plus every APPEND answered OK)${counts[name].found === counts[name].expected ? "" : " — **a mismatch**"}.`,
  );
  return `# IMAP concurrent mix: mailroom and Dovecot side by side

Generated by \`node --import tsx bench/imap/mix.ts${settings.quick ? " --quick" : ""}\` (see bench/imap/README.md).

${facts.join("\n")}
- Mailbox: ${settings.messages} generated messages (bench/pop3/corpus.ts, seed ${SEED}), the same bytes in both.
- ${settings.clients} clients at once, each logged in with INBOX selected, looping for ${settings.seconds} s over a random pick (the same seeded sequence for both servers): FETCH (${WEIGHTS.fetch * 100}%), STORE (${WEIGHTS.store * 100}%), APPEND (${WEIGHTS.append * 100}%). FETCH is \`UID FETCH a:a+${RANGE - 1} (RFC822.SIZE BODY.PEEK[])\`, STORE \`UID STORE a:a+${RANGE - 1} +FLAGS or -FLAGS ($mixK)\` with the client's own keyword, APPEND ${APPEND_SIZE.toLocaleString("en-US")} octets to INBOX; a random a within the corpus.
- An operation counts only when its answer is right (FETCH: ${RANGE} messages, each literal as long as its RFC822.SIZE; STORE: a FETCH answer for each message it changed, every answer for the range with the keyword set or cleared as asked; APPEND: OK); anything else, or a NO, BAD or dropped connection, is an error.
- ${settings.repetitions} runs per server, one server at a time, alternating which goes first; rates are per run, medians over the runs.
${busyMachineWarning(loadStart)}
## Medians of ${settings.repetitions} runs

| | mailroom | Dovecot | mailroom/Dovecot | better |
|---|---:|---:|---:|---|
${OPERATIONS.map(rateRow).join("\n")}
${OPERATIONS.map((operation) => latencyRow(operation, 50)).join("\n")}
${OPERATIONS.map((operation) => latencyRow(operation, 95)).join("\n")}
| errors, all runs | ${all("mailroom").reduce((sum, result) => sum + result.errors.length, 0)} | ${all("dovecot").reduce((sum, result) => sum + result.errors.length, 0)} | | lower |

## Every run

| server | run | seconds | FETCH/s | STORE/s | APPEND/s | errors |
|---|---:|---:|---:|---:|---:|---:|
${each("mailroom")}
${each("dovecot")}

## Checks

${countLines.join("\n")}

${errors.length === 0 ? "No errors." : `Errors (up to five distinct per run):\n\n${errors.join("\n")}`}
`;
}

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  let dovecot: DovecotInstance | null = null;
  let mailroom: MailroomInstance | null = null;
  const stopAll = async () => {
    await Promise.all([dovecot?.stop(), mailroom?.stop()].map((stop) => stop?.catch(() => undefined)));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stderr.write(
      `bench: writing Dovecot's Maildir (${settings.messages} messages) and starting it\n`,
    );
    dovecot = await startDovecot({
      user: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
    });
    process.stderr.write("bench: compiling and loading mailroom\n");
    mailroom = await startMailroom({
      address: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
      mode: "build",
      cpuProfileDir: settings.cpuProfileDir,
    });
    const servers = { mailroom, dovecot };
    // Dovecot indexes its Maildir on the first SELECT; neither server's first look is measured.
    for (const name of SERVERS) await inboxCount(servers[name].host, servers[name].port);
    const runs: Record<ServerName, RunResult[]> = { mailroom: [], dovecot: [] };
    const keywordSets = {
      mailroom: Array.from({ length: settings.clients }, () => new Set<number>()),
      dovecot: Array.from({ length: settings.clients }, () => new Set<number>()),
    };
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const order = repetition % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      for (const name of order) {
        const result = await mixRun(
          servers[name].host,
          servers[name].port,
          repetition + 1,
          keywordSets[name],
        );
        runs[name].push(result);
        process.stderr.write(
          `bench: ${LABEL[name]} run ${repetition + 1}: ${OPERATIONS.map((operation) => `${operation} ${formatNumber(rate(result, operation), 1)}/s`).join(", ")}, ${result.errors.length} errors\n`,
        );
      }
    }
    const counts = {} as Record<ServerName, { expected: number; found: number }>;
    for (const name of SERVERS) {
      const appended = runs[name].reduce((sum, result) => sum + result.done.append, 0);
      counts[name] = {
        expected: settings.messages + appended,
        found: await inboxCount(servers[name].host, servers[name].port),
      };
    }
    const cpus = os.cpus();
    const loads = (values: number[]) => values.map((load) => load.toFixed(2)).join(" / ");
    const facts = [
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}); load average (1/5/15 min) at start ${loads(loadStart)}, at end ${loads(os.loadavg())}`,
      `- Node ${process.version}; mailroom compiled with tsc, \`mailroom serve\`, SQLite store; Dovecot ${dovecot.version}, Maildir`,
      "- Clients: one Node process on the same machine (it competes for the same cores).",
    ];
    await writeReport(settings.out, report(runs, counts, facts, loadStart));
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
