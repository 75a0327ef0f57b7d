import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pino } from "pino";
import type { CliCommandEntry, CliIo } from "../../src/cli/command.js";
import { main } from "../../src/cli/main.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/types.js";

export interface CliRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface FakeTty {
  /** Chunks typed at the terminal, each sent once the previous prompt appeared. */
  keystrokes: string[];
  rawModes: boolean[];
}

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  return () => Buffer.concat(chunks);
}

/**
 * Runs main() in-process with in-memory streams. `stdin` is piped input, or a fake terminal whose
 * keystrokes are "typed" one chunk per prompt written to stderr.
 */
export async function runCli(
  argv: string[],
  options: {
    stdin?: string | Buffer;
    tty?: FakeTty;
    env?: NodeJS.ProcessEnv;
    commands?: readonly CliCommandEntry[];
  } = {},
): Promise<CliRun> {
  const stdin = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    setRawMode?: (mode: boolean) => unknown;
  };
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const tty = options.tty;
  if (tty) {
    stdin.isTTY = true;
    stdin.setRawMode = (mode: boolean) => {
      tty.rawModes.push(mode);
      return stdin;
    };
    const pending = [...tty.keystrokes];
    stderr.on("data", (chunk: Buffer) => {
      if (/(Password|Again): $/.test(chunk.toString()) && pending.length > 0) {
        const keys = pending.shift() ?? "";
        setImmediate(() => stdin.write(keys));
      }
    });
  } else {
    stdin.end(options.stdin ?? "");
  }
  const io: CliIo = { stdin, stdout, stderr, env: options.env ?? {} };
  const code = await main(argv, io, options.commands);
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: out(), stderr: err().toString("utf8") };
}

/** A fresh data directory with an empty store in it, made by `mailroom init`. */
export async function makeDataDir(): Promise<{ dataDir: string; cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-cli-"));
  const init = await runCli(["init", "--data-dir", dataDir]);
  if (init.code !== 0) throw new Error(`mailroom init failed: ${init.stderr}`);
  return { dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

/** Opens the data dir's store for a check, and closes it after. */
export async function withTestStore<T>(dataDir: string, action: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}
