// `mailroom status`: what the running server says of itself — version, store, uptime, listeners, the
// queue, its recent errors — read from its control socket (src/server/control.ts), which answers with
// the admin API's own GET /admin/api/status: the web admin's status and this command are one code path.
// With no server answering, what the store alone can tell (counts, the queue) is printed through the
// same admin service, with the news that the server is down and the exit code 69 for scripts.

import http from "node:http";
import { createAdminService, type ServerStatus, type StoreStatus } from "../admin/service.js";
import type { RecentEvent } from "../log/recent.js";
import { CONTROL_SOCKET_NAME, controlSocketPath, MAX_SOCKET_PATH, STATUS_PATH } from "../server/control.js";
import { liveLockHolder } from "../server/instance-lock.js";
import { version } from "../server/version.js";
import { expectPositionals, parseCommandArgs, storeOptions } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { loadCommandConfig, withStore } from "./context.js";

const HELP = `Usage: mailroom status [--json] [--config FILE] [--data-dir DIR]

Prints the running server's status: version, host, store, uptime, the listeners with the addresses they
are bound to, domains, users and aliases, the queue, and the server's recent warnings and errors (the
last [log] recent_errors of them, newest first). It asks the server through the control socket in its
data directory (${CONTROL_SOCKET_NAME}), so run it as the user that runs 'mailroom serve', with the same
--config/--data-dir. With PostgreSQL each node answers for itself: uptime, listeners and recent errors
are this machine's server's; the counts and the queue are the shared store's.

When no server answers, what the store holds (counts, the queue) is printed with the news that the
server is not running, and the exit code is 69.

Options:
  --json           print JSON: the admin API's GET /admin/api/status answer, with "running"
  --config FILE    read settings from this TOML file (also: MAILROOM_CONFIG=FILE)
  --data-dir DIR   the server's data directory (default ./data)
  -h, --help       show this text
`;

const TIMEOUT_MS = 5000;

type Asked =
  | { kind: "answered"; status: ServerStatus }
  /** Nothing listens there: no socket file, or one a dead server left. */
  | { kind: "down"; why: string };

/** GET /admin/api/status over the control socket. */
function askServer(socketPath: string): Promise<Asked> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    return Promise.resolve({
      kind: "down",
      why: `the data directory's path is too long for a control socket (${socketPath}), so a server there cannot be asked`,
    });
  }
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: STATUS_PATH, timeout: TIMEOUT_MS }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.once("end", () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(
            new CliError(
              `the server at ${socketPath} answered something that is not JSON`,
              ExitCode.software,
            ),
          );
          return;
        }
        if (response.statusCode !== 200) {
          const detail = (body as { detail?: unknown } | null)?.detail;
          reject(
            new CliError(
              `the server at ${socketPath} could not give its status (${response.statusCode}${typeof detail === "string" ? `: ${detail}` : ""})`,
              ExitCode.software,
            ),
          );
          return;
        }
        resolve({ kind: "answered", status: body as ServerStatus });
      });
      response.once("error", reject);
    });
    request.once("timeout", () => {
      request.destroy();
      reject(
        new CliError(
          `the server at ${socketPath} did not answer within ${TIMEOUT_MS / 1000} s; it may be overloaded or stuck (see its log)`,
          ExitCode.tempFail,
        ),
      );
    });
    request.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        resolve({ kind: "down", why: `nothing answers at ${socketPath}` });
      } else if (error.code === "EACCES" || error.code === "EPERM") {
        reject(
          new CliError(
            `cannot reach the server's control socket ${socketPath} (${error.code}); run 'mailroom status' as the user that runs 'mailroom serve'`,
            ExitCode.failure,
          ),
        );
      } else if (error instanceof CliError) {
        reject(error);
      } else {
        reject(
          new CliError(`cannot reach the server at ${socketPath}: ${error.message}`, ExitCode.unavailable),
        );
      }
    });
  });
}

function duration(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min ${seconds % 60} s`;
}

function storeLines(status: StoreStatus): string[] {
  const { domains, users, aliases, queued } = status.counts;
  return [
    `domains ${domains}, users ${users}, aliases ${aliases}`,
    queued === 0
      ? "queue: empty"
      : `queue: ${queued} waiting${status.oldestQueuedAt ? `, the oldest since ${status.oldestQueuedAt}` : ""}`,
  ];
}

function fieldText(value: unknown): string {
  if (typeof value === "string") return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === "object" && "message" in value) {
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value);
}

function eventLine(event: RecentEvent): string {
  const fields = Object.entries(event.fields).map(([key, value]) => `${key}=${fieldText(value)}`);
  const proto = event.proto === null ? "" : `[${event.proto}] `;
  return `  ${event.time}  ${event.level.padEnd(5)}  ${proto}${event.message}${fields.length > 0 ? `  ${fields.join(" ")}` : ""}`;
}

export function formatStatus(status: ServerStatus): string {
  const node = status.node === null ? "" : ` on ${status.node.host} (pid ${status.node.pid})`;
  const lines = [
    `mailroom ${status.version} running${node}: hostname ${status.hostname}, store ${status.store}`,
    `up ${duration(status.uptimeSeconds)}, since ${status.startedAt}`,
    "listeners:",
  ];
  const width = Math.max(0, ...status.listeners.map((listener) => listener.name.length));
  for (const listener of status.listeners) {
    lines.push(`  ${listener.name.padEnd(width)}  ${listener.host}:${listener.port}`);
  }
  if (status.listeners.length === 0) lines.push("  none");
  lines.push(...storeLines(status));
  const recent = status.recentErrors;
  if (recent === null) {
    lines.push("recent errors: not kept by this server (its logger was made by the program embedding it)");
  } else {
    const where = recent.node === null ? "" : ` on ${recent.node}`;
    const dropped = recent.dropped > 0 ? `, ${recent.dropped} older ones dropped` : "";
    lines.push(
      recent.events.length === 0
        ? `recent errors${where}: none since the start`
        : `recent errors${where}, newest first (${recent.events.length} kept of at most ${recent.capacity}${dropped}):`,
    );
    for (const event of recent.events) lines.push(eventLine(event));
  }
  return `${lines.join("\n")}\n`;
}

export function formatDown(status: StoreStatus, why: string, shared: boolean, stopped: boolean): string {
  const others = shared ? " (other nodes on the same database may be running)" : "";
  return `${[
    stopped
      ? `mailroom is not running here: ${why}; start it with 'mailroom serve'${others}`
      : `mailroom does not answer here: ${why}`,
    `store ${status.store} (mailroom ${status.version}, hostname ${status.hostname}):`,
    ...storeLines(status).map((line) => `  ${line}`),
  ].join("\n")}\n`;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { ...storeOptions, json: { type: "boolean" } },
    "mailroom status --help",
  );
  expectPositionals(positionals, [], [], "mailroom status --help");
  const config = await loadCommandConfig(values, io);
  const socketPath = controlSocketPath(config.dataDir);
  const asked = await askServer(socketPath);
  if (asked.kind === "answered") {
    io.stdout.write(
      values.json
        ? `${JSON.stringify({ running: true, ...asked.status }, null, 2)}\n`
        : formatStatus(asked.status),
    );
    return ExitCode.ok;
  }
  const holder = await liveLockHolder(config.dataDir);
  // A live lock holder that does not answer is still starting (the socket opens after the listeners),
  // or an older mailroom without a control socket: not what "start it with mailroom serve" fixes.
  const why =
    holder === null
      ? asked.why
      : `a mailroom serve (pid ${holder}) holds ${config.dataDir}, but ${asked.why}: it may still be starting, or be an older version without a control socket; try again, or restart it`;
  const status = await withStore(values, io, ({ store }) =>
    createAdminService({ store, hostname: config.hostname, version: version() }).storeStatus(),
  );
  io.stdout.write(
    values.json
      ? `${JSON.stringify({ running: false, reason: why, ...status }, null, 2)}\n`
      : formatDown(status, why, config.store !== "sqlite", holder === null),
  );
  return ExitCode.unavailable;
}

export const statusCommand: CliCommand = {
  name: "status",
  help: HELP,
  run,
};
