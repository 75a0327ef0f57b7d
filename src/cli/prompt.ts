// Getting a new password from the person at the terminal (typed twice, not echoed) or from a script
// (the first line of stdin).

import { StringDecoder } from "node:string_decoder";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, newPasswordProblem } from "../auth/new-password.js";
import { CliError, type CliIo, ExitCode } from "./command.js";

/** The exit code of a process ended by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Reads a new password: prompted twice without echo when stdin is a terminal (unless `fromStdin`),
 * else the first line of stdin. Refuses an empty one, one shorter than MIN_PASSWORD_LENGTH and one
 * SASLprep prohibits (no client could log in with it).
 */
export async function readNewPassword(io: CliIo, fromStdin: boolean): Promise<string> {
  let password: string;
  if (!fromStdin && io.stdin.isTTY && typeof io.stdin.setRawMode === "function") {
    const [first, second] = await promptHidden(io, ["Password: ", "Again: "]);
    if (first !== second) throw new CliError("the two passwords differ; nothing was changed, try again");
    password = first ?? "";
  } else {
    password = await readFirstLine(io.stdin, MAX_PASSWORD_LENGTH);
  }
  if (password === "") {
    throw new CliError(
      fromStdin || !io.stdin.isTTY
        ? "empty password refused: the first line of stdin was empty; put the password on it"
        : "empty password refused; type at least one character",
    );
  }
  const problem = newPasswordProblem(password);
  if (problem !== null) {
    const advice =
      [...password].length < MIN_PASSWORD_LENGTH
        ? "choose a longer one (a few words make a good one)"
        : "choose another";
    throw new CliError(`password refused: ${problem}; nothing was changed, ${advice}`);
  }
  return password;
}

/**
 * Shows each prompt on stderr and reads one line per prompt with the terminal in raw mode, so nothing
 * typed is echoed. Backspace and Ctrl-U edit; Ctrl-C aborts (exit 130); cursor keys are ignored.
 */
export function promptHidden(io: CliIo, prompts: string[]): Promise<string[]> {
  const stdin = io.stdin;
  const setRawMode = stdin.setRawMode?.bind(stdin);
  if (!setRawMode) return Promise.reject(new CliError("stdin is not a terminal; use --password-stdin"));
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    const lines: string[] = [];
    let current: string[] = [];
    // Inside an escape sequence (arrow keys send ESC [ A): skip until its final byte.
    let escapeState: "none" | "start" | "body" = "none";

    const finish = (error: Error | null): void => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      setRawMode(false);
      stdin.pause();
      io.stderr.write("\n");
      if (error) reject(error);
      else resolve(lines);
    };

    const onEnd = (): void => finish(new CliError("no password given: the terminal closed the input"));

    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (escapeState !== "none") {
          if (escapeState === "start" && (ch === "[" || ch === "O")) escapeState = "body";
          else if (escapeState === "start" || (ch >= "@" && ch <= "~")) escapeState = "none";
          continue;
        }
        if (ch === "\r" || ch === "\n") {
          lines.push(current.join(""));
          current = [];
          if (lines.length === prompts.length) {
            finish(null);
            return;
          }
          io.stderr.write(`\n${prompts[lines.length]}`);
        } else if (ch === "\x03") {
          finish(new CliError("aborted; nothing was changed", EXIT_INTERRUPTED));
          return;
        } else if (ch === "\x04") {
          if (current.length === 0) {
            finish(new CliError("no password given; nothing was changed"));
            return;
          }
        } else if (ch === "\x7f" || ch === "\b") {
          current.pop();
        } else if (ch === "\x15") {
          current = [];
        } else if (ch === "\x1b") {
          escapeState = "start";
        } else if (ch >= " " && current.length < MAX_PASSWORD_LENGTH) {
          current.push(ch);
        }
      }
    };

    // Raw mode first: a key typed as soon as the prompt shows must not be echoed.
    setRawMode(true);
    io.stderr.write(prompts[0] ?? "");
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}

/**
 * The first line of a stream (without its CR LF or LF), or everything when no newline comes before
 * the end. Reads no further than the newline's chunk and stops at `maxBytes`.
 */
export function readFirstLine(stream: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;

    const done = (error: Error | null, line?: string): void => {
      stream.removeListener("data", onData);
      stream.removeListener("end", onEnd);
      stream.removeListener("error", onError);
      stream.pause();
      if (error) reject(error);
      else resolve(line ?? "");
    };

    const lineOf = (bytes: Buffer): string => bytes.toString("utf8").replace(/\r$/, "");

    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      const newline = bytes.indexOf(0x0a);
      const take = newline === -1 ? bytes : bytes.subarray(0, newline);
      chunks.push(take);
      length += take.length;
      if (length > maxBytes) {
        done(new CliError(`the password on stdin is longer than ${maxBytes} bytes; nothing was changed`));
      } else if (newline !== -1) {
        done(null, lineOf(Buffer.concat(chunks)));
      }
    };
    const onEnd = (): void => done(null, lineOf(Buffer.concat(chunks)));
    const onError = (error: Error): void =>
      done(new CliError(`cannot read the password from stdin: ${error.message}`, ExitCode.ioError));

    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.resume();
  });
}
