// `mailroom queue …`: looking at and steering the outbound queue. Changes are made in the store; a
// running server sees them at its next poll, except after `retry`, which wakes the server on this
// machine at once (SIGUSR1 to the pid in <data-dir>/serve.pid).

import { readFile } from "node:fs/promises";
import path from "node:path";
import type { QueueListing } from "../admin/service.js";
import { createDnsResolver } from "../queue/dns.js";
import { previousUtcDay, sendTlsReports } from "../queue/tls-reporter.js";
import { LOCK_FILE_NAME } from "../server/instance-lock.js";
import { withAdmin } from "./admin.js";
import { expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { localDate } from "./mail.js";

const HELP_COMMAND = "mailroom queue --help";

const HELP = `Usage: mailroom queue <action> [options]

Look at and steer the outbound queue (mail waiting to be relayed to other domains).

Actions:
  list          list queued entries: id, sender, recipient, attempts, next try, last error
  show ID       one entry in full, with its DSN parameters and the message's header
  retry [ID]    make one entry (or every waiting entry) due now and tell the server running on this
                data dir to send it at once; PostgreSQL nodes on other machines take it at their
                next poll
  delete ID     remove an entry without delivering it (the sender is not notified)
  tls-report    queue the TLS reports (RFC 8460) of one UTC day now, rather than at the server's
                hourly check; a day is reported once, whoever sends it

Options:
  --json          list, show: print JSON instead of text
  --force         delete: also remove an entry that is being delivered right now
  --day DAY       tls-report: the UTC day, YYYY-MM-DD (default: yesterday)
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help
`;

const queueOptions = {
  ...storeOptions,
  json: { type: "boolean" },
  force: { type: "boolean" },
  day: { type: "string" },
} as const;

export type { QueueListing };

/** Control characters from a remote's reply or a header could drive the terminal; show them inert. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "\uFFFD");
}

export function formatQueueTable(entries: QueueListing[]): string {
  const rows = entries.map((entry) => ({
    id: entry.id,
    sender: printable(entry.sender === "" ? "<>" : entry.sender),
    recipient: printable(entry.recipient),
    attempts: String(entry.attempts),
    next: entry.state === "delivering" ? "delivering" : localDate(entry.nextAttemptAt),
    error: printable((entry.lastError ?? "").replace(/\s+/g, " ")),
  }));
  const header = {
    id: "ID",
    sender: "SENDER",
    recipient: "RECIPIENT",
    attempts: "ATTEMPTS",
    next: "NEXT TRY",
    error: "LAST ERROR",
  };
  const all = [header, ...rows];
  const width = (key: keyof typeof header): number => Math.max(...all.map((row) => [...row[key]].length));
  const pad = (text: string, size: number): string => text + " ".repeat(Math.max(0, size - [...text].length));
  const line = (row: typeof header): string =>
    [
      pad(row.id, width("id")),
      pad(row.sender, width("sender")),
      pad(row.recipient, width("recipient")),
      row.attempts.padStart(width("attempts")),
      pad(row.next, width("next")),
      row.error,
    ]
      .join("  ")
      .trimEnd();
  return `${all.map(line).join("\n")}\n`;
}

/** What became of the attempt to wake the server that holds a data directory's serve.pid. */
export type WakeOutcome =
  | { kind: "told"; pid: number }
  | { kind: "none" }
  | { kind: "denied"; pid: number; reason: string };

/**
 * The pid in serve.pid may be stale (the server was killed) and since reused by an unrelated process,
 * for which SIGUSR1 means "terminate". Where /proc exists, only a process started with a `serve`
 * argument is signalled; elsewhere a live pid in a lock file the server removes on exit is trusted.
 */
async function looksLikeServer(pid: number): Promise<boolean> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return argv.includes("serve");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return true;
    // No such process, or no /proc on this system at all.
    return readFile("/proc/self/cmdline").then(
      () => false,
      () => true,
    );
  }
}

/** Sends SIGUSR1 to the `mailroom serve` holding dataDir's lock, which then runs a queue pass at once. */
export async function wakeQueueServer(dataDir: string): Promise<WakeOutcome> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, LOCK_FILE_NAME), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
    const reason = error instanceof Error ? error.message : String(error);
    return { kind: "denied", pid: 0, reason: `cannot read ${LOCK_FILE_NAME}: ${reason}` };
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return { kind: "none" };
  if (!(await looksLikeServer(pid))) return { kind: "none" };
  try {
    process.kill(pid, "SIGUSR1");
    return { kind: "told", pid };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return { kind: "none" };
    const reason = code === "EPERM" ? "it runs as another user" : String(code ?? error);
    return { kind: "denied", pid, reason };
  }
}

function describeWake(outcome: WakeOutcome, count: number, storeKind: string): string {
  const them = count === 1 ? "it" : "them";
  // Nodes on other machines share a PostgreSQL database but not this data directory's serve.pid.
  const others =
    storeKind === "postgres" ? `; other nodes sharing the database take ${them} at their next poll` : "";
  switch (outcome.kind) {
    case "told":
      return `told the server (pid ${outcome.pid})${others}`;
    case "denied":
      return `could not tell the server${outcome.pid > 0 ? ` (pid ${outcome.pid})` : ""} (${outcome.reason}); it takes ${them} at its next poll${others}`;
    case "none":
      return storeKind === "postgres"
        ? `no server running on this data dir; a node sharing the database takes ${them} at its next poll`
        : `no server running here, ${them === "it" ? "it goes" : "they go"} out when the server starts`;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, queueOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...args] = positionals;
  switch (action) {
    case "list": {
      expectPositionals(args, [], [], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const entries = await admin.listQueue();
        if (values.json) io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else if (entries.length === 0) io.stderr.write("the queue is empty\n");
        else io.stdout.write(formatQueueTable(entries));
        return ExitCode.ok;
      });
    }
    case "show": {
      expectPositionals(args, ["ID"], [], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const { entry, header, headerError } = await admin.showQueueEntry(args[0] ?? "");
        if (headerError !== null) io.stderr.write(`warning: ${headerError}\n`);
        if (values.json) {
          const { claimedUntil: _, ...shown } = entry;
          io.stdout.write(`${JSON.stringify({ ...shown, header }, null, 2)}\n`);
          return ExitCode.ok;
        }
        const lines = [
          `id:              ${entry.id}`,
          `message:         ${entry.messageId}`,
          `sender:          ${printable(entry.sender === "" ? "<>" : entry.sender)}`,
          `recipient:       ${printable(entry.recipient)}`,
          `state:           ${entry.state}${entry.claimedUntil ? ` (lease until ${entry.claimedUntil})` : ""}`,
          `created:         ${entry.createdAt}`,
          `attempts:        ${entry.attempts}`,
          `next attempt:    ${entry.nextAttemptAt}`,
          ...(entry.holdUntil ? [`held until:      ${entry.holdUntil} (future release)`] : []),
          `last error:      ${printable(entry.lastError ?? "-")}`,
          `delay notified:  ${entry.delayNotified ? "yes" : "no"}`,
          `NOTIFY:          ${entry.dsn.notify?.join(",") ?? "(default: FAILURE,DELAY)"}`,
          `ORCPT:           ${printable(entry.dsn.orcpt ?? "-")}`,
          `RET:             ${entry.envelopeDsn.ret ?? "(default)"}`,
          `ENVID:           ${printable(entry.envelopeDsn.envid ?? "-")}`,
          "",
          printable(header.replace(/\r\n/g, "\n")).trimEnd(),
        ];
        io.stdout.write(`${lines.join("\n")}\n`);
        return ExitCode.ok;
      });
    }
    case "retry": {
      expectPositionals(args, [], ["ID"], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin, config, store }) => {
        const count = await admin.retryQueue(args[0]);
        if (count === 0) {
          io.stdout.write(
            "0 entries are due now: nothing is waiting (entries being delivered are left alone)\n",
          );
          return ExitCode.ok;
        }
        const what = count === 1 ? "1 entry is" : `${count} entries are`;
        const outcome = await wakeQueueServer(config.dataDir);
        io.stdout.write(`${what} due now; ${describeWake(outcome, count, store.kind)}\n`);
        return ExitCode.ok;
      });
    }
    case "delete": {
      expectPositionals(args, ["ID"], [], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const entry = await admin.deleteQueueEntry(args[0] ?? "", { force: values.force === true });
        io.stdout.write(
          `removing queue entry ${entry.id}: ${entry.sender === "" ? "<>" : entry.sender} -> ${entry.recipient} (${entry.attempts} attempts, last error: ${entry.lastError ?? "none"})\n`,
        );
        return ExitCode.ok;
      });
    }
    case "tls-report": {
      expectPositionals(args, [], [], HELP_COMMAND);
      const day = typeof values.day === "string" ? values.day : previousUtcDay(new Date());
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
        throw usageError(`--day '${day}' is not a date as YYYY-MM-DD`, HELP_COMMAND);
      }
      return withStore(values, io, async ({ config, store, logger }) => {
        const run = await sendTlsReports(
          {
            store,
            resolve: createDnsResolver({ server: config.relay.resolver }),
            hostname: config.hostname,
            deliver: (input) => store.messages.deliver(input),
            logger,
            now: () => new Date(),
          },
          day,
        );
        if (!run.claimed) {
          io.stdout.write(`the TLS reports of ${day} were already sent (by the server or an earlier run)\n`);
          return ExitCode.ok;
        }
        for (const sent of run.sent) {
          io.stdout.write(
            `${sent.policyDomain}: report queued for ${sent.to.join(", ")} (message ${sent.messageId})\n`,
          );
        }
        for (const skipped of run.skipped)
          io.stdout.write(`${skipped.policyDomain}: not reported: ${skipped.reason}\n`);
        if (run.sent.length + run.skipped.length === 0)
          io.stdout.write(`no TLS sessions were counted on ${day}\n`);
        if (run.sent.length > 0) {
          const outcome = await wakeQueueServer(config.dataDir);
          io.stdout.write(`${describeWake(outcome, run.sent.length, store.kind)}\n`);
        }
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (list, show, retry, delete or tls-report)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

export const queueCommand: CliCommand = {
  name: "queue",
  help: HELP,
  run,
};
