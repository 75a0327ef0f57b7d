// SMTP load generator: N concurrent connections, each saying EHLO once and then running transactions
// back to back (MAIL, RCPT, DATA; pipelined per RFC 2920 when the server advertises PIPELINING) until a
// message count or a deadline is reached. Counts only final 250 replies as accepted; every other reply
// is tallied by stage and text so a failing server shows up in the report instead of as a low number.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { formatNumber, percentile } from "../lib/stats.js";
import { describeReply, type Reply, SmtpConnection } from "./connection.js";
import { type MessageTemplate, messageTemplate } from "./message.js";

export interface LoadOptions {
  host: string;
  port: number;
  concurrency: number;
  /** Stop starting transactions after this many milliseconds (measured from when all sessions are ready). */
  durationMs?: number;
  /** Or stop after this many transactions in total. One of the two is required. */
  messages?: number;
  messageSize: number;
  /** Send these bytes (CRLF line ends, no final dot) as every message instead of a generated one. */
  message?: Buffer;
  from: string;
  to: string;
  ehloName?: string;
  replyTimeoutMs?: number;
  /**
   * One message per connection (QUIT after each, a new connection and EHLO for the next, timed), as
   * Postfix's smtp-source does without -d; otherwise every connection stays open for all its messages.
   */
  connectionPerMessage?: boolean;
}

export interface LoadResult {
  concurrency: number;
  messageSize: number;
  /** Final-dot replies with code 250. */
  accepted: number;
  /** Transactions that ended in anything but 250 (including connection failures mid-transaction). */
  failed: number;
  /** "stage: reply" → count, e.g. "RCPT: 450 4.2.0 mailbox busy" or "DATA: connection closed". */
  problems: Record<string, number>;
  elapsedMs: number;
  acceptedPerSecond: number;
  /** Milliseconds from writing the final "." to reading its reply, over accepted messages. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  pipelining: boolean;
  reconnects: number;
}

const DEFAULT_REPLY_TIMEOUT_MS = 60_000;

class TransactionFailed extends Error {
  constructor(
    readonly stage: string,
    readonly reply: Reply,
  ) {
    super(`${stage}: ${describeReply(reply)}`);
  }
}

interface Session {
  connection: SmtpConnection;
  pipelining: boolean;
}

interface RunState {
  options: LoadOptions;
  template: MessageTemplate;
  started: number;
  deadline: number;
  issued: number;
  accepted: number;
  failed: number;
  reconnects: number;
  latencies: number[];
  problems: Map<string, number>;
}

function note(state: RunState, problem: string): void {
  state.problems.set(problem, (state.problems.get(problem) ?? 0) + 1);
}

async function openSession(options: LoadOptions): Promise<Session> {
  const connection = await SmtpConnection.connect(
    options.host,
    options.port,
    options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS,
  );
  try {
    const greeting = await connection.readReply();
    if (greeting.code !== 220) throw new TransactionFailed("greeting", greeting);
    const ehlo = await connection.command(`EHLO ${options.ehloName ?? "loadgen.bench.test"}`);
    if (ehlo.code !== 250) throw new TransactionFailed("EHLO", ehlo);
    const pipelining = ehlo.lines.slice(1).some((line) => /^PIPELINING\b/i.test(line));
    return { connection, pipelining };
  } catch (error) {
    connection.destroy();
    throw error;
  }
}

function takeTicket(state: RunState): number | null {
  const { messages } = state.options;
  if (messages !== undefined && state.issued >= messages) return null;
  if (state.options.durationMs !== undefined && performance.now() >= state.deadline) return null;
  state.issued += 1;
  return state.issued;
}

/**
 * After a refused envelope the server may still hold a transaction; RSET clears it (RFC 5321 §4.1.1.5).
 * Not after 421: the server is closing the session (RFC 5321 §3.8).
 */
async function resetAfter(session: Session, refusal: Reply): Promise<void> {
  if (refusal.code === 421 || session.connection.closed) return;
  const reply = await session.connection.command("RSET");
  if (reply.code !== 250) throw new TransactionFailed("RSET", reply);
}

async function transaction(session: Session, state: RunState, n: number): Promise<void> {
  const { connection } = session;
  const { from, to } = state.options;
  let mail: Reply;
  let rcpt: Reply;
  let data: Reply;
  if (session.pipelining) {
    // RFC 2920 §3.1: MAIL, RCPT and DATA may be sent as one group; DATA is the last in it.
    await connection.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    mail = await connection.readReply();
    rcpt = await connection.readReply();
    data = await connection.readReply();
  } else {
    mail = await connection.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) {
      await resetAfter(session, mail);
      throw new TransactionFailed("MAIL", mail);
    }
    rcpt = await connection.command(`RCPT TO:<${to}>`);
    if (rcpt.code !== 250 && rcpt.code !== 251) {
      await resetAfter(session, rcpt);
      throw new TransactionFailed("RCPT", rcpt);
    }
    data = await connection.command("DATA");
  }
  if (data.code === 354) {
    await connection.write(state.template.render(n));
    const sent = performance.now();
    await connection.write(".\r\n");
    const final = await connection.readReply();
    if (final.code !== 250) throw new TransactionFailed("final dot", final);
    state.latencies.push(performance.now() - sent);
    // A server that takes the body although MAIL or RCPT was refused is worth knowing about.
    if (mail.code !== 250) note(state, `MAIL refused but body accepted: ${describeReply(mail)}`);
    return;
  }
  // DATA refused: the transaction is over on the server's side only if MAIL failed too.
  const stage = mail.code !== 250 ? "MAIL" : rcpt.code !== 250 && rcpt.code !== 251 ? "RCPT" : "DATA";
  const reply = stage === "MAIL" ? mail : stage === "RCPT" ? rcpt : data;
  if (mail.code === 250 && data.code !== 421) await resetAfter(session, reply);
  throw new TransactionFailed(stage, reply);
}

async function drive(initial: Session, state: RunState): Promise<void> {
  let session: Session | null = initial;
  for (let n = takeTicket(state); n !== null; n = takeTicket(state)) {
    if (!session) {
      try {
        session = await openSession(state.options);
        state.reconnects += 1;
      } catch (error) {
        state.failed += 1;
        note(state, `reconnect: ${error instanceof TransactionFailed ? error.message : String(error)}`);
        // One worker fewer is a visible result; retrying in a tight loop would only load the machine.
        return;
      }
    }
    try {
      await transaction(session, state, n);
      state.accepted += 1;
    } catch (error) {
      state.failed += 1;
      if (error instanceof TransactionFailed) {
        note(state, error.message);
        // 421 means the server is closing the session (RFC 5321 §3.8).
        if (error.reply.code === 421 || session.connection.closed) {
          session.connection.destroy();
          session = null;
        }
      } else {
        note(state, `connection: ${error instanceof Error ? error.message : String(error)}`);
        session.connection.destroy();
        session = null;
      }
    }
    if (session && state.options.connectionPerMessage) {
      await session.connection.quit();
      session = null;
    }
  }
  await session?.connection.quit();
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.durationMs === undefined && options.messages === undefined) {
    throw new Error("runLoad needs durationMs or messages");
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const fixed = options.message;
  const template: MessageTemplate =
    fixed !== undefined
      ? { size: fixed.length, render: () => fixed }
      : messageTemplate(options.messageSize, options.from, options.to);
  // Sessions are opened before the clock starts: the figure is transactions per second, not handshakes.
  const opened = await Promise.allSettled(
    Array.from({ length: options.concurrency }, () => openSession(options)),
  );
  const sessions = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const firstFailure = opened.find((result) => result.status === "rejected");
  if (sessions.length === 0 && firstFailure?.status === "rejected") {
    throw new Error(
      `could not open any SMTP session to ${options.host}:${options.port} (${String(firstFailure.reason)}); ` +
        "is the server running and listening there?",
    );
  }
  const state: RunState = {
    options,
    template,
    started: performance.now(),
    deadline: Number.POSITIVE_INFINITY,
    issued: 0,
    accepted: 0,
    failed: 0,
    reconnects: 0,
    latencies: [],
    problems: new Map(),
  };
  for (const result of opened) {
    if (result.status === "rejected") note(state, `session setup: ${String(result.reason)}`);
  }
  state.started = performance.now();
  state.deadline = state.started + (options.durationMs ?? Number.POSITIVE_INFINITY);
  await Promise.all(sessions.map((session) => drive(session, state)));
  const elapsedMs = performance.now() - state.started;
  return {
    concurrency: options.concurrency,
    messageSize: template.size,
    accepted: state.accepted,
    failed: state.failed,
    problems: Object.fromEntries(state.problems),
    elapsedMs,
    acceptedPerSecond: elapsedMs > 0 ? (state.accepted * 1000) / elapsedMs : 0,
    latencyP50Ms: percentile(state.latencies, 50),
    latencyP99Ms: percentile(state.latencies, 99),
    pipelining: sessions.some((session) => session.pipelining),
    reconnects: state.reconnects,
  };
}

export function parseSize(text: string): number {
  const match = /^(\d+)\s*(k|kb|kib)?$/i.exec(text.trim());
  if (!match?.[1])
    throw new Error(`bad size ${JSON.stringify(text)}: use bytes or a number with K, e.g. 10K`);
  return Number(match[1]) * (match[2] ? 1024 : 1);
}

function positiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const USAGE = `usage: node --import tsx bench/smtp/load.ts --port N [--host H] [--concurrency C]
       [--duration SECONDS | --messages N] [--size 1K|10K|BYTES] [--from ADDR] [--to ADDR] [--connection-per-message] [--json]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      concurrency: { type: "string", default: "10" },
      duration: { type: "string" },
      messages: { type: "string" },
      size: { type: "string", default: "1K" },
      from: { type: "string", default: "sender@bench.test" },
      to: { type: "string", default: "u@bench.test" },
      json: { type: "boolean", default: false },
      "connection-per-message": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || values.port === undefined) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 64;
    return;
  }
  const messages = positiveInteger(values.messages, "messages");
  const duration = positiveInteger(values.duration, "duration");
  const result = await runLoad({
    host: values.host,
    port: positiveInteger(values.port, "port") as number,
    concurrency: positiveInteger(values.concurrency, "concurrency") as number,
    ...(messages !== undefined ? { messages } : { durationMs: (duration ?? 10) * 1000 }),
    messageSize: parseSize(values.size),
    from: values.from,
    to: values.to,
    connectionPerMessage: values["connection-per-message"],
  });
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(
    `${result.accepted} accepted, ${result.failed} failed in ${(result.elapsedMs / 1000).toFixed(2)} s: ` +
      `${result.acceptedPerSecond.toFixed(1)} msgs/s; final dot → 250 p50 ${formatNumber(result.latencyP50Ms, 2)} ms, ` +
      `p99 ${formatNumber(result.latencyP99Ms, 2)} ms; pipelining ${result.pipelining ? "yes" : "no"}`,
  );
  for (const [problem, count] of Object.entries(result.problems)) console.log(`  ${count} × ${problem}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`load: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
