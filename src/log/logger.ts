// One logger for the whole process: JSON lines for log collectors, or human-readable lines for a person
// watching a terminal.

import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogConfig } from "../config/types.js";

export type { Logger } from "pino";

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as NodeJS.WritableStream & { isTTY?: boolean }).isTTY === true;
}

/** Logs to `destination` (standard output when omitted). */
export function createLogger(config: LogConfig, destination: NodeJS.WritableStream = process.stdout): Logger {
  const wantsPretty = config.format === "pretty" || (config.format === "auto" && isTty(destination));
  const options = {
    level: config.level,
    // pid and hostname on every line are noise for a single process; the startup line names them once.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!wantsPretty) {
    // Level names ("info") rather than pino's numbers, so the lines read well in any collector.
    return pino({ ...options, formatters: { level: (label) => ({ level: label }) } }, destination);
  }
  const stream = pretty({
    destination,
    colorize: isTty(destination),
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
    sync: true,
  });
  return pino(options, stream);
}
