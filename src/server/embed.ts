// createServer(): a whole mailroom inside another Node program, the way `mailroom serve` runs it — the
// same configuration loader, the same runServer and protocol table — without the CLI's process
// handling (signals, exit codes, stdout). The embedding program owns the process and calls stop().

import { hashPassword } from "../auth/password.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/types.js";
import { createLogger, type Logger } from "../log/logger.js";
import { createRecentEvents } from "../log/recent.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/types.js";
import { protocols } from "./protocols.js";
import { type RunningServer, runServer } from "./server.js";

export interface CreateServerOptions {
  /** Where the database, messages and generated certificate live (default ./data). */
  dataDir?: string;
  /** A mailroom.toml to read first. */
  configFile?: string;
  /** Settings shaped like mailroom.toml (snake_case keys), over the file, e.g. { listeners: { smtp: { port: 0 } } }. */
  settings?: Record<string, unknown>;
  /**
   * MAILROOM_* variables to apply over the settings. None by default: an embedded server does not
   * read the host program's environment unless it is passed here (`env: process.env`).
   */
  env?: NodeJS.ProcessEnv;
  /**
   * A pino logger; by default one made from the [log] settings, writing to stdout. The status's recent
   * errors are kept only with the default one (a logger made elsewhere cannot be fed to the ring).
   */
  logger?: Logger;
}

export interface MailroomServer extends RunningServer {
  /** The configuration the server runs with, after defaults, file, settings and environment. */
  readonly config: Config;
  /**
   * Runs `work` with a store of this server's own (a second handle on the same database, as the CLI
   * opens while the server runs), closed afterwards. For setup: domains, users, aliases.
   */
  withStore<T>(work: (store: Store) => Promise<T>): Promise<T>;
  /** Adds a user (and their domain when it is new) with a password, as `mailroom user add` does. */
  addUser(address: string, password: string): Promise<void>;
}

export async function createServer(options: CreateServerOptions = {}): Promise<MailroomServer> {
  const warnings: string[] = [];
  const config = await loadConfig({
    ...(options.configFile !== undefined ? { file: options.configFile } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.settings !== undefined ? { settings: options.settings } : {}),
    env: options.env ?? {},
    onWarning: (message) => warnings.push(message),
  });
  const recentErrors = options.logger ? undefined : createRecentEvents(config.log.recentErrors);
  const logger = options.logger ?? createLogger(config.log, process.stdout, recentErrors);
  for (const warning of warnings) logger.warn(warning);
  const running = await runServer(config, logger, protocols, recentErrors ? { recentErrors } : {});
  const withStore = async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore({
      store: config.store,
      dataDir: config.dataDir,
      logger,
      ...(config.commit ? { groupCommit: config.commit } : {}),
    });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };
  return {
    addresses: running.addresses,
    metrics: running.metrics,
    stop: () => running.stop(),
    config,
    withStore,
    async addUser(address, password) {
      const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
      const credentials = await hashPassword(password);
      await withStore(async (store) => {
        if (!(await store.directory.getDomain(domain))) await store.directory.addDomain(domain);
        await store.directory.addUser(address, credentials);
      });
    },
  };
}
