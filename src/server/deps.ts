// What the server process gives each protocol when it builds that protocol's handler.

import type { SecureContext } from "node:tls";
import type { Logger } from "pino";
import type { ServerRuntime } from "../admin/service.js";
import type { Authenticator } from "../auth/types.js";
import type { Provisioner } from "../capture/provision.js";
import type { Config, ListenerName } from "../config/types.js";
import type { PushSender } from "../jmap/push-subscription.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ProtocolHandler } from "../net/types.js";
import type { Store } from "../store/types.js";

export interface ServiceDeps {
  config: Config;
  store: Store;
  logger: Logger;
  authenticator: Authenticator;
  /** The server's TLS identity, for STARTTLS upgrades and implicit-TLS listeners. */
  tls: SecureContext;
  /** Asks this node's queue runner to look at the queue now (new remote recipients were committed). */
  wakeQueue?: () => void;
  /** POSTs to JMAP PushSubscription URLs; without it PushSubscription/get and /set are not offered. */
  push?: PushSender;
  /** Capture mode (`mailroom dev`): present only then; every protocol takes any address and login. */
  capture?: { provisioner: Provisioner };
  /** What the process counts for /metrics; handlers built without it (unit tests) count nothing. */
  metrics?: Metrics;
  /** When the process started and which listeners it has open, for the web admin's status. */
  runtime?: ServerRuntime;
}

/** Builds the handler for one listener; listeners whose protocol has no factory are not opened. */
export type ProtocolFactory = (listener: ListenerName, deps: ServiceDeps) => ProtocolHandler;
