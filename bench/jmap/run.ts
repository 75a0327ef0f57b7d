import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import zlib from "node:zlib";
import WebSocket from "ws";
import { ImapClient, type ImapResponse } from "../imap/client.js";

type Imap = ImapClient;

import { type DovecotInstance, startDovecot } from "../imap/dovecot.js";
import { type MailroomInstance, type MailroomMode, startMailroom } from "../imap/mailroom.js";
import { positiveIntegers } from "../lib/args.js";
import { waitForPort } from "../lib/net.js";
import { writeReport } from "../lib/report.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { REPO_ROOT } from "../pop3/mailroom.js";
import { receivedAt, THREAD_LENGTH, threadedCorpus } from "./corpus.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const SEED = 6;
const PAGE = 50;
const FLAG_CHANGES = 100;
const TEXT_WORD = "quarterly";

const STEPS = ["list", "threads", "text", "changes"] as const;
type Step = (typeof STEPS)[number];
type Timings = Record<Step, number>;

const STEP_LABEL: Record<Step, [string, string]> = {
  list: [
    `Email/query newest ${PAGE} + Email/get with preview`,
    `UID SORT (REVERSE ARRIVAL) + UID FETCH ${PAGE}`,
  ],
  threads: [`the same, collapseThreads`, `UID THREAD REFERENCES + UID FETCH ${PAGE}`],
  text: [`Email/query text "${TEXT_WORD}", newest ${PAGE} + total`, `UID SORT (REVERSE ARRIVAL) … TEXT`],
  changes: [
    `Email/changes + Email/get keywords after ${FLAG_CHANGES} flag changes`,
    "UID FETCH 1:* (FLAGS) (CHANGEDSINCE)",
  ],
};

function usage(): never {
  process.stderr.write(
    "usage: node --import tsx bench/jmap/run.ts [--quick] [--messages N] [--repetitions N] [--mode build|tsx] [--cpu-prof DIR] [--out FILE]\n",
  );
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      messages: { type: "string" },
      repetitions: { type: "string" },
      mode: { type: "string", default: "build" },
      "cpu-prof": { type: "string" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "jmap", "RESULTS.md") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) usage();
  const positive = positiveIntegers(usage);
  const mode = values.mode;
  if (mode !== "build" && mode !== "tsx") usage();
  const checkedMode: MailroomMode = mode;
  return {
    messages: positive(values.messages, values.quick ? 1000 : 10_000),
    repetitions: positive(values.repetitions, values.quick ? 3 : 7),
    mode: checkedMode,
    cpuProfileDir: values["cpu-prof"],
    out: values.out,
  };
}

const settings = options();

/** What one step answered, reduced to what both servers must agree on. */
interface Answer {
  subjects: string[];
  total?: number;
}

type Round = { timings: Timings; answers: Record<Step, Answer> };

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await work();
  return [performance.now() - started, value];
}

// ---- mailroom over JMAP ----

type Invocation = [string, Record<string, unknown>, string];

/**
 * One keep-alive connection through node:http, asking for gzip as fetch does over plain HTTP and
 * inflating the answer in one call, as the IMAP side reads its socket directly. fetch (undici) spent
 * more of each round trip in the client than the server took for some steps — most on the gzipped
 * answers, which it inflates through web streams — and competed with the server for the two cores;
 * the README has the figures. The requests, the answers compared and the server's work are the same.
 */
class JmapClient implements JmapCaller {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  call(calls: Invocation[]): Promise<Invocation[]> {
    const body = JSON.stringify({
      using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
      methodCalls: calls,
    });
    return new Promise((resolve, reject) => {
      const request = http.request(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(body)),
            "accept-encoding": "gzip, deflate",
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            try {
              resolve(answerOf(response.statusCode ?? 0, response.headers["content-encoding"], chunks));
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What a round needs of a JMAP transport. */
interface JmapCaller {
  call(calls: Invocation[]): Promise<Invocation[]>;
  close(): void;
}

/**
 * JMAP over WebSocket (RFC 8887): one connection, authenticated once at the handshake, each request a
 * "Request" message answered by a "Response" with its id — a session, as IMAP's is.
 */
class JmapWebSocket implements JmapCaller {
  private next = 0;
  private readonly waiting = new Map<
    string,
    { resolve(calls: Invocation[]): void; reject(error: Error): void }
  >();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString("utf8")) as {
        "@type": string;
        requestId?: string;
        methodResponses?: Invocation[];
      };
      const waiter = message.requestId === undefined ? undefined : this.waiting.get(message.requestId);
      if (waiter === undefined) return;
      this.waiting.delete(message.requestId as string);
      if (message["@type"] !== "Response") {
        waiter.reject(new Error(`JMAP over WebSocket answered ${data.toString("utf8")}`));
        return;
      }
      try {
        waiter.resolve(checked(message.methodResponses ?? []));
      } catch (error) {
        waiter.reject(error as Error);
      }
    });
    socket.on("close", () => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error("the JMAP WebSocket closed"));
      this.waiting.clear();
    });
  }

  static async open(url: string, token: string): Promise<JmapWebSocket> {
    const socket = new WebSocket(url, ["jmap"], { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    return new JmapWebSocket(socket);
  }

  call(calls: Invocation[]): Promise<Invocation[]> {
    const id = String(++this.next);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(
        JSON.stringify({
          "@type": "Request",
          id,
          using: ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
          methodCalls: calls,
        }),
      );
    });
  }

  close(): void {
    this.socket.close();
  }
}

function checked(responses: Invocation[]): Invocation[] {
  for (const [name, args] of responses) {
    if (name === "error") throw new Error(`JMAP method error: ${JSON.stringify(args)}`);
  }
  return responses;
}

function answerOf(status: number, encoding: string | undefined, chunks: Buffer[]): Invocation[] {
  const raw = Buffer.concat(chunks);
  const text = (
    encoding === "gzip"
      ? zlib.gunzipSync(raw)
      : encoding === "deflate"
        ? zlib.inflateSync(raw)
        : encoding === "br"
          ? zlib.brotliDecompressSync(raw)
          : raw
  ).toString("utf8");
  if (status !== 200) throw new Error(`JMAP request answered ${status}: ${text}`);
  return checked((JSON.parse(text) as { methodResponses: Invocation[] }).methodResponses);
}

const LIST_PROPERTIES = ["id", "threadId", "keywords", "from", "subject", "receivedAt", "size", "preview"];

function subjectsOf(response: Invocation | undefined): string[] {
  const list = (response?.[1].list ?? []) as Array<{ subject: string }>;
  return list.map((email) => email.subject);
}

let accountId = "";

async function mailroomRound(jmap: JmapCaller, inbox: string, other: Imap): Promise<Round> {
  const page = (filter: Record<string, unknown>, collapseThreads: boolean, calculateTotal: boolean) =>
    jmap.call([
      [
        "Email/query",
        {
          accountId,
          filter,
          sort: [{ property: "receivedAt", isAscending: false }],
          collapseThreads,
          limit: PAGE,
          calculateTotal,
        },
        "q",
      ],
      [
        "Email/get",
        {
          accountId,
          "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
          properties: LIST_PROPERTIES,
        },
        "g",
      ],
    ]);
  const timings = {} as Timings;
  const answers = {} as Record<Step, Answer>;
  const [listMs, list] = await timed(() => page({ inMailbox: inbox }, false, false));
  timings.list = listMs;
  answers.list = { subjects: subjectsOf(list[1]) };
  const [threadsMs, threads] = await timed(() => page({ inMailbox: inbox }, true, false));
  timings.threads = threadsMs;
  answers.threads = { subjects: subjectsOf(threads[1]) };
  const [textMs, text] = await timed(() => page({ inMailbox: inbox, text: TEXT_WORD }, false, true));
  timings.text = textMs;
  answers.text = { subjects: subjectsOf(text[1]), total: text[0]?.[1].total as number };
  const before = await jmap.call([["Email/get", { accountId, ids: [] }, "s"]]);
  const state = before[0]?.[1].state as string;
  await flagHundred(other);
  const [changesMs, changes] = await timed(() =>
    jmap.call([
      ["Email/changes", { accountId, sinceState: state }, "c"],
      [
        "Email/get",
        {
          accountId,
          "#ids": { resultOf: "c", name: "Email/changes", path: "/updated" },
          properties: ["keywords"],
        },
        "k",
      ],
    ]),
  );
  timings.changes = changesMs;
  answers.changes = { subjects: [], total: ((changes[1]?.[1].list ?? []) as unknown[]).length };
  return { timings, answers };
}

// ---- Dovecot over IMAP ----

/** The UIDs of each top-level thread of a THREAD response (RFC 5256 §4), in the order given. */
function threadGroups(text: string): number[][] {
  const groups: number[][] = [];
  let depth = 0;
  let current: number[] = [];
  for (const token of text.matchAll(/\(|\)|\d+/g)) {
    const value = token[0];
    if (value === "(") {
      if (depth === 0) current = [];
      depth++;
    } else if (value === ")") {
      depth--;
      if (depth === 0) groups.push(current);
    } else if (depth > 0) current.push(Number(value));
  }
  return groups;
}

function envelopeSubjects(untagged: ImapResponse[]): Map<number, string> {
  const subjects = new Map<number, string>();
  for (const response of untagged) {
    const uid = /\bUID (\d+)/.exec(response.text);
    // The subject is the envelope's second field, a quoted string or a literal (RFC 9051 §7.5.2).
    const subject = /ENVELOPE \((?:"(?:[^"\\]|\\.)*"|NIL) (?:"((?:[^"\\]|\\.)*)"|\{(\d+)\})/.exec(
      response.text,
    );
    if (!uid || !subject) continue;
    if (subject[1] !== undefined) {
      subjects.set(Number(uid[1]), subject[1].replace(/\\(.)/g, "$1"));
    } else {
      const before = response.text.slice(0, subject.index + subject[0].length);
      const literal = response.literals[(before.match(/\{\d+\}/g)?.length ?? 1) - 1];
      if (literal) subjects.set(Number(uid[1]), literal.toString("utf8"));
    }
  }
  return subjects;
}

async function fetchPage(imap: Imap, uids: number[], preview: string): Promise<string[]> {
  const done = await imap.ok(
    `UID FETCH ${uids.join(",")} (UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE ${preview})`,
  );
  const subjects = envelopeSubjects(done.untagged);
  return uids.map((uid) => subjects.get(uid) ?? `(no subject for UID ${uid})`);
}

function sortResults(untagged: { text: string }[]): number[] {
  const line = untagged.find((response) => response.text.startsWith("* SORT"));
  return (line?.text.slice("* SORT".length).trim().split(/\s+/) ?? []).filter(Boolean).map(Number);
}

/** The IMAP side of a round, against Dovecot or against mailroom's own IMAP. */
async function imapRound(
  imap: Imap,
  other: Imap,
  preview: string,
  arrival: Map<number, number>,
): Promise<Round> {
  const timings = {} as Timings;
  const answers = {} as Record<Step, Answer>;
  const [listMs, list] = await timed(async () => {
    const sorted = sortResults((await imap.ok("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")).untagged);
    return fetchPage(imap, sorted.slice(0, PAGE), preview);
  });
  timings.list = listMs;
  answers.list = { subjects: list };
  const [threadsMs, threads] = await timed(async () => {
    const done = await imap.ok("UID THREAD REFERENCES UTF-8 ALL");
    const line = done.untagged.find((response) => response.text.startsWith("* THREAD"));
    // A thread's newest message is the one that arrived last (`arrival`: UID → position, from an
    // untimed UID SORT (ARRIVAL) before the rounds; mailroom loads in parallel, so UIDs are not in order).
    const rank = (uid: number) => arrival.get(uid) ?? -1;
    const newest = threadGroups(line?.text.slice("* THREAD".length) ?? "")
      .map((group) => group.reduce((a, b) => (rank(b) > rank(a) ? b : a)))
      .sort((a, b) => rank(b) - rank(a))
      .slice(0, PAGE);
    return fetchPage(imap, newest, preview);
  });
  timings.threads = threadsMs;
  answers.threads = { subjects: threads };
  const [textMs, text] = await timed(async () => {
    const sorted = sortResults(
      (await imap.ok(`UID SORT (REVERSE ARRIVAL) UTF-8 TEXT ${TEXT_WORD}`)).untagged,
    );
    return { subjects: await fetchPage(imap, sorted.slice(0, PAGE), preview), total: sorted.length };
  });
  timings.text = textMs;
  answers.text = text;
  const status = await other.ok("STATUS INBOX (HIGHESTMODSEQ)");
  const modseq = /HIGHESTMODSEQ (\d+)/.exec(status.untagged.map((response) => response.text).join(" "))?.[1];
  if (modseq === undefined) throw new Error("STATUS gave no HIGHESTMODSEQ");
  await flagHundred(other);
  // The session learns of the other's changes in this command, as Email/changes does in its own: the
  // answer holds them as unsolicited FETCHes besides the solicited ones, so messages count once.
  const [changesMs, changes] = await timed(() => imap.ok(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`));
  timings.changes = changesMs;
  const fetched = new Set<string>();
  for (const response of changes.untagged) {
    const number = /^\* (\d+) FETCH /.exec(response.text);
    if (number) fetched.add(number[1] as string);
  }
  answers.changes = { subjects: [], total: fetched.size };
  return { timings, answers };
}

// ---- shared ----

/** Flag operations so far per mailbox (its other session), so each one flips all 100 flags. */
const flagRounds = new Map<Imap, number>();
/** Another client flags (or, every other time on that mailbox, unflags) 100 messages spread over it. */
async function flagHundred(other: Imap): Promise<void> {
  const step = Math.max(1, Math.floor(settings.messages / FLAG_CHANGES));
  const uids = Array.from({ length: FLAG_CHANGES }, (_, index) => 1 + index * step);
  const done = flagRounds.get(other) ?? 0;
  flagRounds.set(other, done + 1);
  const sign = done % 2 === 0 ? "+" : "-";
  for (const uid of uids) await other.ok(`UID STORE ${uid} ${sign}FLAGS.SILENT (\\Flagged)`);
}

async function imapSession(host: string, port: number, condstore: boolean): Promise<Imap> {
  const imap = await ImapClient.connect(host, port);
  await imap.ok(`LOGIN "${ADDRESS}" "${PASSWORD}"`);
  await imap.ok(condstore ? "SELECT INBOX (CONDSTORE)" : "SELECT INBOX");
  return imap;
}

function compare(step: Step, mailroom: Answer, dovecot: Answer): string | null {
  if (mailroom.total !== dovecot.total) {
    return `${step}: mailroom counted ${mailroom.total}, Dovecot ${dovecot.total}`;
  }
  const differs = mailroom.subjects.findIndex((subject, index) => subject !== dovecot.subjects[index]);
  if (differs >= 0 || mailroom.subjects.length !== dovecot.subjects.length) {
    return `${step}: answers differ at ${differs}: mailroom "${mailroom.subjects[differs]}", Dovecot "${dovecot.subjects[differs]}"`;
  }
  return null;
}

async function machineFacts(dovecotVersion: string, loadStart: number[], preview: string): Promise<string[]> {
  const cpus = os.cpus();
  const loads = (values: number[]) => values.map((load) => load.toFixed(2)).join(" / ");
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}); load average (1/5/15 min) at start ${loads(loadStart)}, at end ${loads(os.loadavg())}`,
    `- Node ${process.version}; mailroom ${settings.mode === "build" ? "compiled with tsc (plain node)" : "through tsx"}, \`mailroom serve\`, SQLite store, JMAP over plain HTTP on loopback with a bearer token; Dovecot ${dovecotVersion}, Maildir, IMAP on loopback, preview as \`${preview}\``,
    `- Mailbox: ${settings.messages} messages from bench/pop3/corpus.ts (seed ${SEED}) in threads of ${THREAD_LENGTH} (In-Reply-To/References); every round's answers were compared and agreed`,
    "- Client: this script, one Node process on the same machine (node:http with one keep-alive connection and gzip, as fetch asks, for JMAP; bench/imap/client.ts for IMAP)",
  ];
}

function report(
  facts: string[],
  runs: Record<"mailroom" | "mailroomSocket" | "mailroomImap" | "dovecot", Round[]>,
): string {
  const rows = STEPS.map((step) => {
    const ours = median(runs.mailroom.map((round) => round.timings[step]));
    const theirs = median(runs.dovecot.map((round) => round.timings[step]));
    const oursSocket = median(runs.mailroomSocket.map((round) => round.timings[step]));
    const oursImap = median(runs.mailroomImap.map((round) => round.timings[step]));
    const [jmapLabel, imapLabel] = STEP_LABEL[step];
    return `| ${step} | ${jmapLabel} | ${formatNumber(ours, 1)} | ${imapLabel} | ${formatNumber(theirs, 1)} | ${formatRatio(ours, theirs)} | ${formatNumber(oursSocket, 1)} | ${formatRatio(oursSocket, theirs)} | ${formatNumber(oursImap, 1)} | ${formatRatio(oursImap, theirs)} |`;
  });
  return [
    "# JMAP: mailroom's JMAP beside Dovecot's IMAP (`bench/jmap/`)",
    "",
    "Written by `node --import tsx bench/jmap/run.ts`; medians of the timed rounds in milliseconds, from the",
    "client's first byte out to its last byte in (lower is better; the ratios are mailroom ÷ Dovecot, below 1",
    "is mailroom faster). The WebSocket columns send the same JMAP requests over one JMAP WebSocket (RFC",
    "8887), authenticated once at its handshake as an IMAP session is at LOGIN; the last two columns send",
    "mailroom's own IMAP the same commands Dovecot gets.",
    "",
    ...facts,
    `- Rounds: ${runs.mailroom.length} timed per server after one untimed first pass`,
    "",
    "| step | mailroom (JMAP) | ms | Dovecot (IMAP) | ms | ratio | mailroom (JMAP over WebSocket) ms | ratio | mailroom (IMAP) ms | ratio |",
    "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n");
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
    process.stderr.write(`bench: ${settings.messages} messages; starting Dovecot\n`);
    dovecot = await startDovecot({
      user: ADDRESS,
      password: PASSWORD,
      messages: threadedCorpus(settings.messages, SEED),
      receivedAt,
    });
    process.stderr.write(`bench: ${settings.mode === "build" ? "compiling and " : ""}loading mailroom\n`);
    mailroom = await startMailroom({
      address: ADDRESS,
      password: PASSWORD,
      messages: threadedCorpus(settings.messages, SEED),
      mode: settings.mode,
      cpuProfileDir: settings.cpuProfileDir,
      http: true,
    });
    const http = mailroom.http;
    if (http === undefined) throw new Error("mailroom started without its http listener");
    await waitForPort(mailroom.host, http.port, 30_000, "mailroom http");
    const base = `http://${mailroom.host}:${http.port}`;
    const session = (await (
      await fetch(`${base}/.well-known/jmap`, { headers: { authorization: `Bearer ${http.token}` } })
    ).json()) as {
      apiUrl: string;
      primaryAccounts: Record<string, string>;
      capabilities: Record<string, { url?: string }>;
    };
    accountId = session.primaryAccounts["urn:ietf:params:jmap:mail"] as string;
    const jmap = new JmapClient(new URL(session.apiUrl, base).toString(), http.token);
    const socketUrl = session.capabilities["urn:ietf:params:jmap:websocket"]?.url;
    if (socketUrl === undefined) throw new Error("mailroom's JMAP session offers no WebSocket");
    const jmapSocket = await JmapWebSocket.open(socketUrl, http.token);
    const mailboxes = await jmap.call([["Mailbox/query", { accountId, filter: { role: "inbox" } }, "m"]]);
    const inbox = (mailboxes[0]?.[1].ids as string[] | undefined)?.[0];
    if (inbox === undefined) throw new Error("mailroom's JMAP shows no Inbox");
    const mailroomOther = await imapSession(mailroom.host, mailroom.port, false);
    const dovecotImap = await imapSession(dovecot.host, dovecot.port, true);
    const dovecotOther = await imapSession(dovecot.host, dovecot.port, false);
    const preview = dovecotImap.capabilities.has("PREVIEW") ? "PREVIEW" : "BODY.PEEK[TEXT]<0.256>";
    // mailroom's IMAP has no PREVIEW (RFC 8970): it gets the first 256 octets of the text instead.
    const mailroomImap = await imapSession(mailroom.host, mailroom.port, true);
    const runs = {
      mailroom: [] as Round[],
      mailroomSocket: [] as Round[],
      mailroomImap: [] as Round[],
      dovecot: [] as Round[],
    };
    const runMailroom = () => mailroomRound(jmap, inbox, mailroomOther);
    const runMailroomSocket = () => mailroomRound(jmapSocket, inbox, mailroomOther);
    const arrivalOf = async (imap: Imap) =>
      new Map(
        sortResults((await imap.ok("UID SORT (ARRIVAL) UTF-8 ALL")).untagged).map((uid, i) => [uid, i]),
      );
    const dovecotArrival = await arrivalOf(dovecotImap);
    const mailroomArrival = await arrivalOf(mailroomImap);
    const runDovecot = () => imapRound(dovecotImap, dovecotOther, preview, dovecotArrival);
    const runMailroomImap = () =>
      imapRound(mailroomImap, mailroomOther, "BODY.PEEK[TEXT]<0.256>", mailroomArrival);
    await runMailroom();
    await runDovecot();
    await runMailroomSocket();
    await runMailroomImap();
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const ours = repetition % 2 === 0 ? await runMailroom() : undefined;
      const theirs = await runDovecot();
      const mine = ours ?? (await runMailroom());
      const mineSocket = await runMailroomSocket();
      const mineImap = await runMailroomImap();
      for (const step of STEPS) {
        const problem =
          compare(step, mine.answers[step], theirs.answers[step]) ??
          compare(step, mineSocket.answers[step], theirs.answers[step]) ??
          compare(step, mineImap.answers[step], theirs.answers[step]);
        if (problem) throw new Error(`round ${repetition + 1}: ${problem}`);
      }
      runs.mailroom.push(mine);
      runs.mailroomSocket.push(mineSocket);
      runs.mailroomImap.push(mineImap);
      runs.dovecot.push(theirs);
      process.stderr.write(
        `bench: round ${repetition + 1}: ${STEPS.map((step) => `${step} ${formatNumber(mine.timings[step], 1)}/${formatNumber(mineSocket.timings[step], 1)}/${formatNumber(theirs.timings[step], 1)}/${formatNumber(mineImap.timings[step], 1)} ms`).join(", ")}\n`,
      );
    }
    for (const imap of [mailroomOther, mailroomImap, dovecotImap, dovecotOther]) await imap.logout();
    jmap.close();
    jmapSocket.close();
    const text = report(await machineFacts(dovecot.version, loadStart, preview), runs);
    await writeReport(settings.out, text);
  } finally {
    await stopAll();
  }
}

await main();
