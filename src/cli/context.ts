// What a store-backed command runs with: the configuration (file, MAILROOM_* environment, --data-dir),
// a quiet logger on stderr, and the open store — closed again however the command ends. A SQLite data
// directory or a PostgreSQL database without a store is refused (only `serve` and `init` create one), so
// a command run from the wrong directory or with a mistyped --data-dir cannot start a second, empty
// installation.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/types.js";
import { createLogger } from "../log/logger.js";
import { NoStoreError } from "../store/errors.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/types.js";
import { type ParsedArgs, stringOption } from "./args.js";
import { CliError, type CliIo, ExitCode } from "./command.js";

export interface CliContext {
  config: Config;
  logger: Logger;
  store: Store;
  /** False when this command created the store (`init` only). */
  existed: boolean;
}

/** Whether the SQLite data directory holds a store; PostgreSQL is asked at open (NoStoreError). */
async function storeIsThere(config: Config): Promise<boolean> {
  if (config.store !== "sqlite") return true;
  try {
    await stat(join(config.dataDir, "mailroom.db"));
    return true;
  } catch (error) {
    // Anything else (a file where the directory should be, no permission) is for the store's open to
    // report with its own words.
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

/** The configuration a command runs with: --config, --data-dir, the environment; warnings to stderr. */
export async function loadCommandConfig(values: ParsedArgs["values"], io: CliIo): Promise<Config> {
  const file = stringOption(values, "config");
  const dataDir = stringOption(values, "data-dir");
  return loadConfig({
    env: io.env,
    ...(file !== undefined ? { file } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    onWarning: (message) => io.stderr.write(`mailroom: warning: ${message}\n`),
  });
}

/**
 * Opens config and store from the --config/--data-dir values, runs `action`, and closes the store.
 * Without `create`, a data directory that holds no store stops the command (exit 66).
 */
export async function withStore<T>(
  values: ParsedArgs["values"],
  io: CliIo,
  action: (context: CliContext) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const config = await loadCommandConfig(values, io);
  // Commands talk to people; the store's info-level chatter would drown their output.
  const logger = createLogger({ ...config.log, level: "warn" }, io.stderr);
  const create = options.create === true;
  let existed = await storeIsThere(config);
  if (!existed && !create) {
    throw new CliError(
      `no mailroom store in ${config.dataDir}; point the command at the server's data directory with --data-dir DIR, --config FILE or MAILROOM_DATA_DIR (or create a new store there with 'mailroom init')`,
      ExitCode.noInput,
    );
  }
  const open = (create: boolean) =>
    openStore({ store: config.store, dataDir: config.dataDir, logger, create });
  let store: Store;
  try {
    store = await open(existed ? false : create);
  } catch (error) {
    if (!(error instanceof NoStoreError)) throw error;
    if (!create) {
      throw new CliError(
        `${error.message}; point the command at the server's database with --config FILE or MAILROOM_STORE (or create the schema there with 'mailroom init')`,
        ExitCode.noInput,
      );
    }
    existed = false;
    store = await open(true);
  }
  try {
    return await action({ config, logger, store, existed });
  } finally {
    await store.close();
  }
}
