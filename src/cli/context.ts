// What a store-backed command runs with: the configuration (file, MAILROOM_* environment, --data-dir),
// a quiet logger on stderr, and the open store — closed again however the command ends.

import type { Logger } from "pino";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/types.js";
import { createLogger } from "../log/logger.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/types.js";
import { type ParsedArgs, stringOption } from "./args.js";
import type { CliIo } from "./command.js";

export interface CliContext {
  config: Config;
  logger: Logger;
  store: Store;
}

/** Opens config and store from the --config/--data-dir values, runs `action`, and closes the store. */
export async function withStore<T>(
  values: ParsedArgs["values"],
  io: CliIo,
  action: (context: CliContext) => Promise<T>,
): Promise<T> {
  const file = stringOption(values, "config");
  const dataDir = stringOption(values, "data-dir");
  const config = await loadConfig({
    env: io.env,
    ...(file !== undefined ? { file } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    onWarning: (message) => io.stderr.write(`mailroom: warning: ${message}\n`),
  });
  // Commands talk to people; the store's info-level chatter would drown their output.
  const logger = createLogger({ ...config.log, level: "warn" }, io.stderr);
  const store = await openStore({ store: config.store, dataDir: config.dataDir, logger });
  try {
    return await action({ config, logger, store });
  } finally {
    await store.close();
  }
}
