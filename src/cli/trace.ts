// `mailroom trace …`: why did (or didn't) a message arrive? Prints a message's delivery trace — the
// session that brought it, each recipient's verdict and route, the mailboxes it landed in, every relay
// attempt, the bounce and the DSN it caused — by the id of its 250 reply, or the traces of the messages
// to (and from) an address. The trace as data comes from delivery/trace.ts, shared with the web admin.

import { DEFAULT_TRACE_RETENTION } from "../config/defaults.js";
import { parseDuration } from "../config/units.js";
import { loadTrace, type MessageTrace, searchTraces } from "../delivery/trace.js";
import {
  addressArgument,
  expectPositionals,
  parseCommandArgs,
  storeOptions,
  stringOption,
  usageError,
} from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { printable } from "./queue.js";

const HELP_COMMAND = "mailroom trace --help";

/** Traces a search prints when --limit is not given. */
export const DEFAULT_TRACE_LIMIT = 20;
/** The most a search prints: each trace is read whole. */
export const MAX_TRACE_LIMIT = 1000;

const HELP = `Usage: mailroom trace ID [--json]
       mailroom trace --to ADDRESS [--from ADDRESS] [--since 1h] [--limit N] [--json]

Print a message's delivery trace: the session that brought it (client address, HELO, TLS, user,
listener), each recipient's verdict and route (alias, catch-all, +tag, Sieve), the mailboxes it went
into, every relay attempt (MX, TLS, the remote's reply), deferrals with the next try, the delivery or
bounce, and the delivery notice (DSN) it caused, with that notice's own id. One line per event, then
where each recipient's copy ended up.

ID is the id in the server's "250 2.0.0 Ok: queued as ID" reply and in its log lines.

Options:
  --to ADDRESS    the messages with this recipient (as the sender wrote it, or where it was routed)
  --from ADDRESS  only messages with this sender ("<>" for delivery notices)
  --since TIME    only messages with an event in the last TIME (e.g. 30m, 1h, 2d)
  --limit N       at most N messages, newest first (default ${DEFAULT_TRACE_LIMIT}, at most ${MAX_TRACE_LIMIT})
  --json          print JSON instead of text
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help

Traces are kept for [trace] retention after a message's last event (30 days unless configured).
`;

const traceOptions = {
  ...storeOptions,
  to: { type: "string" },
  from: { type: "string" },
  since: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
} as const;

const KIND_WIDTH = 9;

/** A trace as text: a heading, one line per event, then one line per recipient. Pure. */
export function formatTrace(trace: MessageTrace): string {
  const sender = trace.sender === null ? "unknown sender" : `from <${trace.sender}>`;
  const lines = [`message ${trace.messageId} ${printable(sender)}`];
  for (const event of trace.events) {
    lines.push(`  ${event.at.toISOString()}  ${event.kind.padEnd(KIND_WIDTH)}  ${printable(event.text)}`);
  }
  if (trace.recipients.length > 0) {
    lines.push("recipients:");
    const width = Math.max(...trace.recipients.map((each) => [...each.address].length));
    const stateWidth = Math.max(...trace.recipients.map((each) => each.state.length));
    for (const each of trace.recipients) {
      const dsn = each.dsn === null ? "" : `; reported in DSN ${each.dsn}`;
      lines.push(
        `  ${printable(each.address.padEnd(width))}  ${each.state.padEnd(stateWidth)}  ${printable(each.detail)}${dsn}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The JSON form: dates as ISO strings, as the web admin's API will give them. */
function asJson(trace: MessageTrace): unknown {
  return {
    ...trace,
    events: trace.events.map((event) => ({ ...event, at: event.at.toISOString() })),
  };
}

function sinceArgument(value: string | undefined, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) {
    throw usageError(
      `--since '${value}' is not a duration (expected something like 30m, 1h or 2d)`,
      HELP_COMMAND,
    );
  }
  return new Date(now.getTime() - ms);
}

function limitArgument(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TRACE_LIMIT;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > MAX_TRACE_LIMIT) {
    throw usageError(`--limit '${value}' must be a whole number from 1 to ${MAX_TRACE_LIMIT}`, HELP_COMMAND);
  }
  return limit;
}

function senderArgument(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === "<>" || value === "") return "";
  return addressArgument(value, HELP_COMMAND);
}

function retentionText(retention: number): string {
  const day = 86_400_000;
  return retention % day === 0 ? `${retention / day}d` : `${Math.round(retention / 60_000)}m`;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, traceOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  expectPositionals(positionals, [], ["ID"], HELP_COMMAND);
  const id = positionals[0];
  const to = stringOption(values, "to");
  const from = stringOption(values, "from");
  const searching = to !== undefined || from !== undefined;
  if (id !== undefined && (searching || values.since !== undefined || values.limit !== undefined)) {
    throw usageError(
      "give a message ID or search options (--to, --from, --since, --limit), not both",
      HELP_COMMAND,
    );
  }
  if (id === undefined && !searching) {
    throw usageError("missing ID (the id in '250 … queued as ID') or --to ADDRESS", HELP_COMMAND);
  }
  const now = new Date();
  const recipient = to === undefined ? undefined : addressArgument(to, HELP_COMMAND);
  const sender = senderArgument(from);
  const since = sinceArgument(stringOption(values, "since"), now);
  const limit = limitArgument(stringOption(values, "limit"));

  return withStore(values, io, async ({ store, config }) => {
    const retention = retentionText(config.trace?.retention ?? DEFAULT_TRACE_RETENTION);
    if (id !== undefined) {
      const trace = await loadTrace(store, id);
      if (trace === null) {
        throw new CliError(
          `no trace of a message '${printable(id)}': the id is the one in "250 2.0.0 Ok: queued as ID" (or the server's log), and traces are kept ${retention} after the last event; search with 'mailroom trace --to ADDRESS'`,
          ExitCode.noInput,
        );
      }
      io.stdout.write(values.json ? `${JSON.stringify(asJson(trace), null, 2)}\n` : formatTrace(trace));
      return ExitCode.ok;
    }
    const found = await searchTraces(store, {
      ...(recipient !== undefined ? { recipient } : {}),
      ...(sender !== undefined ? { sender } : {}),
      ...(since !== undefined ? { since } : {}),
      limit,
    });
    if (values.json) io.stdout.write(`${JSON.stringify(found.map(asJson), null, 2)}\n`);
    else io.stdout.write(found.map(formatTrace).join("\n"));
    if (found.length === 0) {
      const what = [
        recipient !== undefined ? `to <${recipient}>` : "",
        sender !== undefined ? `from <${sender}>` : "",
        since !== undefined ? `since ${since.toISOString()}` : "",
      ]
        .filter(Boolean)
        .join(" ");
      io.stderr.write(
        `no traced message ${what}; traces are kept ${retention} after the last event, and a message refused for every recipient leaves none (see the server's log)\n`,
      );
      return ExitCode.noInput;
    }
    return ExitCode.ok;
  });
}

export const traceCommand: CliCommand = {
  name: "trace",
  help: HELP,
  run,
};
