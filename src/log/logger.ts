// One logger for the whole process: JSON lines for log collectors, or human-readable lines for a person
// watching a terminal.

import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogConfig } from "../config/types.js";
import type { RecentEvents } from "./recent.js";

export type { Logger } from "pino";

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * Logs to `destination` (standard output when omitted). With `recent`, warn and error lines also go to
 * that ring (src/log/recent.ts), whatever the configured level: `level = "error"` keeps warnings out of
 * the log, not out of the server's status.
 */
export function createLogger(
  config: Pick<LogConfig, "level" | "format">,
  destination: NodeJS.WritableStream = process.stdout,
  recent?: RecentEvents,
): Logger {
  const wantsPretty = config.format === "pretty" || (config.format === "auto" && isTty(destination));
  const level =
    recent !== undefined && LEVELS.indexOf(config.level) > LEVELS.indexOf("warn") ? "warn" : config.level;
  const out = (stream: NodeJS.WritableStream) =>
    recent === undefined
      ? stream
      : pino.multistream([
          { level: config.level, stream },
          { level: "warn", stream: recent.stream },
        ]);
  const options = {
    level,
    // pid and hostname on every line are noise for a single process; the startup line names them once.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!wantsPretty) {
    // Level names ("info") rather than pino's numbers, so the lines read well in any collector.
    return pino({ ...options, formatters: { level: (label) => ({ level: label }) } }, out(destination));
  }
  const stream = pretty({
    destination,
    colorize: isTty(destination),
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
    sync: true,
  });
  return pino(options, out(stream));
}
