// The failure throttle of a node that may share its users with other nodes. Behind a load balancer each
// node sees only part of a client's attempts, so counting in memory alone would give a password guesser
// the allowance once per node. When the store keeps a shared record of failures (PostgreSQL: the
// UNLOGGED table auth_failures, which a crash may empty; that only forgets recent failures, so it is not
// worth a write-ahead log entry per failed login), every failure is recorded both here and there, and a
// client is refused as soon as either count reaches the limit. The in-memory count answers first: a
// client already over the limit on this node is refused without a database round trip.

import type { AuthFailureStore } from "../store/types.js";
import { clientKey, FailureThrottle, type ThrottleOptions } from "./throttle.js";

export interface ClusterThrottleOptions extends ThrottleOptions {
  /** The store's shared failure record; without it the count stays per node. */
  shared?: AuthFailureStore;
  /**
   * Told when a failure could not be recorded in the shared log; that failure then counts on this node
   * only (the attempt has already failed, so its answer does not change).
   */
  onSharedError?: (error: unknown) => void;
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class ClusterThrottle {
  private readonly local: FailureThrottle;
  private readonly shared: AuthFailureStore | null;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ClusterThrottleOptions) {
    this.local = new FailureThrottle(options);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.shared = options.shared ?? null;
  }

  /**
   * True when this client must be refused without checking its credentials. Rejects when the shared
   * log cannot be read: the store that would check the credentials is then unreachable too.
   */
  async isThrottled(remoteAddress: string): Promise<boolean> {
    if (this.local.isThrottled(remoteAddress)) return true;
    if (this.shared === null) return false;
    const since = new Date(this.now() - this.options.failureWindow);
    const failures = await this.shared.recent(clientKey(remoteAddress), since);
    return failures >= this.options.maxFailuresPerIp;
  }

  /** Counts a failure here and in the shared log; resolves after the delay the larger count earns. */
  async penalize(remoteAddress: string): Promise<void> {
    this.local.recordFailure(remoteAddress);
    let failures = this.local.recentFailures(remoteAddress);
    if (this.shared !== null) {
      try {
        const at = new Date(this.now());
        const shared = await this.shared.record(clientKey(remoteAddress), at, this.options.failureWindow);
        failures = Math.max(failures, shared);
      } catch (error) {
        this.options.onSharedError?.(error);
      }
    }
    const delay = this.local.delayFor(failures);
    if (delay > 0) await this.sleep(delay);
  }
}
