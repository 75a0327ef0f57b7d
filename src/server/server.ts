// The `mailroom serve` process: prepares the data directory, takes the single-instance lock, loads TLS,
// opens the store, starts one listener per enabled protocol, and shuts all of it down in reverse order.

import { mkdir, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { createAdminApi } from "../admin/api.js";
import { createAdminService, type ServerRuntime } from "../admin/service.js";
import { createAuthenticator, forProtocol } from "../auth/authenticator.js";
import { captureAgent } from "../capture/agent.js";
import { CATCH_ALL_ADDRESS, createProvisioner, type Provisioner } from "../capture/provision.js";
import { createCaptureTransport } from "../capture/transport.js";
import {
  DEFAULT_TRACE_RETENTION,
  defaultHttpConfig,
  IMPLICIT_TLS_LISTENERS,
  LISTENER_NAMES,
  LISTENER_PROTOCOLS,
} from "../config/defaults.js";
import { unqualifiedHostnameWarning } from "../config/hostname.js";
import { ConfigError } from "../config/load.js";
import type { Config, ListenerName } from "../config/types.js";
import { createDeliveryAgent } from "../delivery/agent.js";
import { createLocalRelease } from "../delivery/release.js";
import { startTracePruner } from "../delivery/trace.js";
import { type RunningPushSender, startPushSender } from "../http/push-sender.js";
import type { RecentEvents } from "../log/recent.js";
import { createMetrics, type Metrics } from "../metrics/metrics.js";
import { timedStore } from "../metrics/store.js";
import { type Listener, startListener } from "../net/listener.js";
import { loadTls } from "../net/tls.js";
import type { ProtocolHandler } from "../net/types.js";
import { type QueueRunner, startQueueRunner } from "../queue/scheduler.js";
import { openStore } from "../store/open.js";
import { tightenDataDir } from "../store/private-dir.js";
import type { Store } from "../store/types.js";
import { createRspamdClient } from "../trust/rspamd.js";
import { withJunkTraining } from "../trust/training.js";
import { type ControlSocket, startControlSocket } from "./control.js";
import type { ProtocolFactory, ServiceDeps } from "./deps.js";
import { acquireInstanceLock, type InstanceLock, InstanceLockError } from "./instance-lock.js";
import { version } from "./version.js";

export interface RunningServer {
  addresses: Partial<Record<ListenerName, { host: string; port: number }>>;
  /** What /metrics shows; an embedding program may read it directly. */
  metrics: Metrics;
  /** Graceful shutdown; resolves once everything is closed. Calling it again returns the same promise. */
  stop(): Promise<void>;
}

/** The data directory cannot be created or written (permissions, a file in the way, a full disk). */
export class DataDirError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DataDirError";
  }
}

function dataDirError(dataDir: string, error: unknown): DataDirError {
  const code = (error as NodeJS.ErrnoException).code ?? "error";
  let message: string;
  switch (code) {
    case "EACCES":
    case "EPERM":
    case "EROFS":
      message = `data directory ${dataDir} is not writable (${code}); choose another with --data-dir or fix its permissions`;
      break;
    case "ENOSPC":
    case "EDQUOT":
      message = `data directory ${dataDir} is on a full disk (${code}); free some space or choose another with --data-dir`;
      break;
    case "ENOTDIR":
    case "EEXIST":
      message = `data directory ${dataDir} cannot be created (${code}: part of the path is a file, not a directory); choose another with --data-dir`;
      break;
    default:
      message = `data directory ${dataDir} cannot be used (${code}); choose another with --data-dir`;
  }
  return new DataDirError(message, code, { cause: error });
}

/** Creates the directory and proves it takes data: a writable directory on a full disk is no better. */
async function prepareDataDir(dataDir: string, logger: Logger): Promise<void> {
  const probe = path.join(dataDir, `.write-test.${process.pid}`);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await tightenDataDir(dataDir, logger);
    const handle = await open(probe, "w", 0o600);
    try {
      await handle.write(Buffer.alloc(4096));
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw dataDirError(dataDir, error);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface OpenService {
  listener: Listener;
  handler: ProtocolHandler;
}

export interface RunServerOptions {
  /** The ring the logger feeds (createLogger's `recent`), shown in the status; without it none is. */
  recentErrors?: RecentEvents;
}

export async function runServer(
  config: Config,
  logger: Logger,
  protocols: Partial<Record<ListenerName, ProtocolFactory>>,
  options: RunServerOptions = {},
): Promise<RunningServer> {
  // What has been set up so far, undone in reverse order when a later step fails.
  const undo: Array<() => Promise<void>> = [];
  const metrics = createMetrics();
  const startedAt = new Date();
  const services: OpenService[] = [];
  let lock: InstanceLock;
  let store: Store;
  let queue: QueueRunner;
  let traces: { stop(): Promise<void> };
  let push: RunningPushSender;
  let control: ControlSocket | null = null;

  // `mailroom queue retry` sends SIGUSR1 to the pid in serve.pid for a queue pass now. The handler goes
  // in before the lock exists and comes out after it is gone: Node opens its debugger on a SIGUSR1 that
  // nothing listens for. Before the runner starts there is nothing to wake (its first pass is at start);
  // signals during a pass coalesce into one more pass (QueueRunner.wake).
  let wakeQueue: () => void = () => {};
  const onQueueSignal = (): void => {
    logger.debug("SIGUSR1: looking at the queue now");
    wakeQueue();
  };
  process.on("SIGUSR1", onQueueSignal);
  undo.push(async () => {
    process.off("SIGUSR1", onQueueSignal);
  });

  const hostnameWarning = unqualifiedHostnameWarning(config.hostname);
  // Capture mode sends nothing out, so no other server ever sees the name.
  if (hostnameWarning && !config.capture) logger.warn({ hostname: config.hostname }, hostnameWarning);

  try {
    await prepareDataDir(config.dataDir, logger);
    const heldLock = await acquireInstanceLock(config.dataDir).catch((error: unknown) => {
      throw error instanceof InstanceLockError ? error : dataDirError(config.dataDir, error);
    });
    lock = heldLock;
    undo.push(() => heldLock.release());

    const tls = await loadTls(config, logger).catch((error: unknown) => {
      throw error instanceof ConfigError ? error : dataDirError(config.dataDir, error);
    });
    const rawStore = await openStore({
      store: config.store,
      dataDir: config.dataDir,
      logger,
      ...(config.commit ? { groupCommit: config.commit } : {}),
    });
    store = rawStore;
    undo.push(() => rawStore.close());
    // Everything below sees the timed view, so store latency is measured for every caller in one place.
    const openedStore = timedStore(rawStore, metrics);
    metrics.watchQueue(rawStore.queue);

    let provisioner: Provisioner | undefined;
    if (config.capture) {
      const made = createProvisioner(openedStore, logger);
      provisioner = made;
      await made.ensureUser(CATCH_ALL_ADDRESS);
      logger.warn(
        `capture mode: mail for any address is kept in its own inbox and in ${CATCH_ALL_ADDRESS} (log in as "dev"), any password logs in, and nothing is sent out; never run it where real mail arrives`,
      );
    }

    const authenticator = createAuthenticator({
      lookupUser: (address) =>
        provisioner ? provisioner.loginUser(address) : openedStore.directory.getUser(address),
      acceptAnyPassword: provisioner !== undefined,
      lookupToken: async (id) => {
        const token = await openedStore.directory.findAppToken(id);
        const user = token ? await openedStore.directory.getUserById(token.userId) : null;
        return token && user ? { user, secretHash: token.secretHash } : null;
      },
      config: config.auth,
      logger,
      // On PostgreSQL every node counts a client's failures in one table; SQLite leaves it in memory.
      failureLog: openedStore.authFailures,
      onFailure: (proto, reason) => metrics.authFailed(proto, reason),
    });
    // Held messages' local recipients (RFC 4865) are committed at release by the agent SMTP uses.
    const releaseAgent = createDeliveryAgent({
      store: openedStore,
      logger: logger.child({ proto: "queue" }),
      hostname: config.hostname,
      onQueued: () => wakeQueue(),
      vacationPeriod: config.smtp.vacationPeriod,
    });
    const runner = startQueueRunner({
      store: openedStore,
      logger,
      config: config.relay,
      hostname: config.hostname,
      ...(provisioner
        ? { transport: createCaptureTransport({ store: openedStore, provisioner, logger }) }
        : {}),
      localDelivery: createLocalRelease({
        agent: provisioner ? captureAgent(releaseAgent, provisioner) : releaseAgent,
        logger,
      }),
      metrics,
    });
    queue = runner;
    wakeQueue = () => runner.wake();
    undo.push(() => runner.stop());
    const pruner = startTracePruner({
      store: openedStore,
      logger,
      retention: config.trace?.retention ?? DEFAULT_TRACE_RETENTION,
    });
    traces = pruner;
    undo.push(() => pruner.stop());
    const pushSender = await startPushSender({
      store: openedStore,
      logger,
      allowPrivate: (config.http ?? defaultHttpConfig()).pushAllowPrivate,
    });
    push = pushSender;
    undo.push(() => pushSender.stop());

    const recent = options.recentErrors;
    const runtime: ServerRuntime = {
      startedAt,
      listeners: () =>
        services.map(({ listener }) => ({
          name: listener.name,
          host: listener.address.host,
          port: listener.address.port,
        })),
      // The machine's own name, not config.hostname: nodes sharing one database share that one.
      node: { host: os.hostname(), pid: process.pid },
      ...(recent ? { recentErrors: () => recent.snapshot() } : {}),
    };
    const deps: ServiceDeps = {
      config,
      store: junkTraining(openedStore, config, logger),
      logger,
      authenticator,
      tls: tls.context,
      wakeQueue: () => runner.wake(),
      push: pushSender,
      ...(provisioner ? { capture: { provisioner } } : {}),
      metrics,
      runtime,
    };

    for (const name of LISTENER_NAMES) {
      const listenerConfig = config.listeners[name];
      const factory = protocols[name];
      if (!listenerConfig.enabled) continue;
      if (!factory) {
        logger.debug(`${name} is not available in this build; not listening on port ${listenerConfig.port}`);
        continue;
      }
      const proto = LISTENER_PROTOCOLS[name];
      const handler = factory(name, { ...deps, authenticator: forProtocol(authenticator, proto) });
      // The SMTP limits are the server's connection limits; each listener keeps its own counts.
      const listener = await startListener({
        name,
        config: listenerConfig,
        implicitTls: IMPLICIT_TLS_LISTENERS.has(name),
        secureContext: tls.context,
        maxConnections: config.smtp.maxConnections,
        maxConnectionsPerIp: config.smtp.maxConnectionsPerIp,
        handler,
        logger,
        metrics,
      }).catch((error: unknown) => {
        handler.destroyAll();
        throw error;
      });
      services.push({ listener, handler });
      undo.push(async () => {
        await listener.close();
        handler.destroyAll();
      });
      logger.info(`${name} listening on ${listener.address.host}:${listener.address.port}`);
    }
    const opened = await startControlSocket({
      dataDir: config.dataDir,
      api: createAdminApi({
        service: createAdminService({ store: openedStore, hostname: config.hostname, version: version() }),
        runtime,
      }),
      logger,
    });
    control = opened;
    if (opened) undo.push(() => opened.close());
    if (services.length === 0) {
      logger.warn(
        "no listener is open: every enabled listener lacks a protocol implementation in this build",
      );
    }
    logger.info(
      { pid: process.pid, hostname: config.hostname, dataDir: config.dataDir, store: openedStore.kind },
      "mailroom serve started",
    );
  } catch (error) {
    for (const step of undo.reverse()) {
      await step().catch((cleanupError: unknown) => {
        logger.warn({ err: cleanupError }, "cleanup after a failed start went wrong");
      });
    }
    throw error;
  }

  const addresses: RunningServer["addresses"] = {};
  for (const { listener } of services) addresses[listener.name] = listener.address;

  let stopping: Promise<void> | null = null;
  const shutdown = async () => {
    // First, so `mailroom status` stops calling a server that is going away "running".
    await control?.close().catch((error: unknown) => {
      logger.warn({ err: error }, "closing the control socket failed");
    });
    await Promise.all(services.map(({ listener }) => listener.close()));
    const drained = Promise.all(
      services.map(({ listener, handler }) =>
        handler.drain().catch((error: unknown) => {
          logger.warn({ listener: listener.name, err: error }, "draining connections failed");
        }),
      ),
    );
    if (!(await withTimeout(drained, config.shutdownTimeout))) {
      logger.warn(`connections still open after ${config.shutdownTimeout} ms; closing them`);
    }
    for (const { listener, handler } of services) {
      try {
        handler.destroyAll();
      } catch (error) {
        logger.warn({ listener: listener.name, err: error }, "closing connections failed");
      }
    }
    // After the sessions, so nothing queues mail behind the runner's back; before the store it needs.
    await queue.stop().catch((error: unknown) => {
      logger.error({ err: error }, "stopping the queue runner failed");
    });
    await traces.stop();
    await push.stop().catch((error: unknown) => {
      logger.error({ err: error }, "stopping push delivery failed");
    });
    await store.close().catch((error: unknown) => {
      logger.error({ err: error }, "closing the store failed");
    });
    // The lock goes last, so a new server cannot start while this one still writes to the store.
    await lock.release().catch((error: unknown) => {
      logger.error({ err: error }, "removing the instance lock failed");
    });
    process.off("SIGUSR1", onQueueSignal);
    logger.info("mailroom serve stopped");
  };

  return {
    addresses,
    metrics,
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}

/** With [filter] rspamd set, the protocols get a store whose moves into and out of Junk train rspamd. */
function junkTraining(store: Store, config: Config, logger: Logger): Store {
  const filter = config.filter;
  if (!filter || filter.rspamd === null) return store;
  const trainingLogger = logger.child({ component: "filter" });
  const rspamd = createRspamdClient({
    url: filter.rspamd,
    controllerUrl: filter.rspamdController,
    timeout: filter.rspamdTimeout,
    logger: trainingLogger,
  });
  return withJunkTraining(store, rspamd, trainingLogger);
}
