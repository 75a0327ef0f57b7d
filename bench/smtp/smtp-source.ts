// Postfix's own load generator, smtp-source(1) from Debian's postfix package, as a second opinion on
// bench/smtp/load.ts: a C program that costs the shared cores less than a Node client, speaks no
// PIPELINING, and by default opens one connection per message (-d keeps a connection for all of a
// session's messages). It aborts at the first reply that is not the expected positive one, so a run
// that exits 0 had every final dot answered 250; -c prints a running count of completed DATA commands,
// which tells how far a failed run got.
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

export const SMTP_SOURCE = "/usr/sbin/smtp-source";

export interface SourceOptions {
  host: string;
  port: number;
  /** Parallel sessions (-s). */
  concurrency: number;
  /** Messages in total (-m). */
  messages: number;
  /** Payload octets after smtp-source's own few header lines (-l). */
  messageSize: number;
  from: string;
  to: string;
  /** -d: all of a session's messages over one connection. */
  keepAlive: boolean;
  /** -F: send this file (LF line ends: smtp-source appends CRLF to each line) instead of its own message. */
  messageFile?: string;
  timeoutMs?: number;
}

export interface SourceResult {
  accepted: number;
  failed: number;
  elapsedMs: number;
  acceptedPerSecond: number;
  /** smtp-source's complaint when it stopped early (its stderr, last line). */
  problem: string | null;
}

export function runSmtpSource(options: SourceOptions): Promise<SourceResult> {
  const args = [
    "-c",
    "-s",
    String(options.concurrency),
    "-m",
    String(options.messages),
    ...(options.messageFile !== undefined
      ? ["-F", options.messageFile]
      : ["-l", String(options.messageSize)]),
    "-f",
    options.from,
    "-t",
    options.to,
    "-M",
    "source.bench.test",
    ...(options.keepAlive ? ["-d"] : []),
    `${options.host}:${options.port}`,
  ];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(SMTP_SOURCE, args, { stdio: ["ignore", "pipe", "pipe"] });
    let counter = "";
    let errors = "";
    child.stdout.setEncoding("latin1");
    child.stderr.setEncoding("latin1");
    // The counter is rewritten in place with carriage returns: keep only the tail.
    child.stdout.on("data", (chunk: string) => {
      counter = (counter + chunk).slice(-64);
    });
    child.stderr.on("data", (chunk: string) => {
      errors = (errors + chunk).slice(-4096);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${SMTP_SOURCE}: ${error.message} (is Debian's postfix installed?)`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - started;
      const counts = counter.match(/\d+/g);
      const completed = counts ? Number(counts[counts.length - 1]) : 0;
      const ok = code === 0;
      const accepted = ok ? options.messages : Math.min(completed, options.messages);
      const lastError = errors.trim().split("\n").pop() ?? "";
      resolve({
        accepted,
        failed: options.messages - accepted,
        elapsedMs,
        acceptedPerSecond: ok ? (accepted * 1000) / elapsedMs : 0,
        problem: ok ? null : lastError || `exited with ${code ?? signal}`,
      });
    });
  });
}
