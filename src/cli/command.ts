// How every `mailroom` subcommand is shaped, so the dispatcher (main.ts) can list, route and run them
// the same way, and tests can run a command with their own streams.

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  /** The word after `mailroom`. */
  name: string;
  /** Full text for `mailroom <name> --help`. */
  help: string;
  /** Resolves to the process exit code (see ExitCode). */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** A command as the dispatcher lists it; its module is loaded only to show its help or run it. */
export interface CliCommandEntry {
  name: string;
  /** One line for `mailroom --help`. */
  summary: string;
  load(): Promise<CliCommand>;
}

/** sysexits(3)-style codes, so scripts can tell "you typed it wrong" from "it failed". */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataError: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  cantCreate: 73,
  ioError: 74,
  tempFail: 75,
  config: 78,
} as const;

/**
 * An error meant for the person at the terminal: the dispatcher prints `mailroom: <message>` and exits
 * with `exitCode`, without a stack trace. Say what went wrong and what to do about it.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = "CliError";
  }
}
