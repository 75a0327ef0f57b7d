// Per-client failure throttle. Each failed authentication from an address is answered late, the delay
// doubling with every recent failure (capped), and past a limit within a sliding window the address is
// refused without a password check until enough of its failures have aged out of the window.
// Memory is bounded: failures older than the window are dropped, and at most maxTrackedClients
// addresses are remembered (the least recently failing are forgotten first).

import { isIPv4, isIPv6 } from "node:net";

export interface ThrottleOptions {
  /** Milliseconds: the delay after a first failure; doubles for each further recent failure. */
  failureDelay: number;
  /** Failures in the window after which the address is refused outright. */
  maxFailuresPerIp: number;
  /** Milliseconds over which failures are counted. */
  failureWindow: number;
  /** The delay never exceeds failureDelay × this. Default 10. */
  maxDelayFactor?: number;
  /** Default 10 000. */
  maxTrackedClients?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class FailureThrottle {
  /** Client key → failure times, oldest first. Map order is least recently failing first. */
  private readonly failures = new Map<string, number[]>();
  private readonly maxDelayFactor: number;
  private readonly maxTrackedClients: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ThrottleOptions) {
    this.maxDelayFactor = options.maxDelayFactor ?? 10;
    this.maxTrackedClients = options.maxTrackedClients ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Failures from this client still inside the window. */
  recentFailures(remoteAddress: string): number {
    return this.current(clientKey(remoteAddress)).length;
  }

  /** True when this client must be refused without checking its credentials. */
  isThrottled(remoteAddress: string): boolean {
    return this.recentFailures(remoteAddress) >= this.options.maxFailuresPerIp;
  }

  /** Counts a failure and returns how many milliseconds to wait before answering it. */
  recordFailure(remoteAddress: string): number {
    const key = clientKey(remoteAddress);
    const times = this.current(key);
    times.push(this.now());
    // Nothing past the limit changes the outcome, so one client costs at most maxFailuresPerIp numbers.
    if (times.length > Math.max(1, this.options.maxFailuresPerIp)) times.shift();
    this.failures.delete(key);
    this.failures.set(key, times);
    this.enforceCap();
    return this.delayFor(times.length);
  }

  /** Milliseconds to wait before answering the failure that brought a client's count to `failures`. */
  delayFor(failures: number): number {
    const factor = Math.min(2 ** (Math.max(1, failures) - 1), this.maxDelayFactor);
    return this.options.failureDelay * factor;
  }

  /** Records a failure and resolves once its delay has passed. */
  async penalize(remoteAddress: string): Promise<void> {
    const delay = this.recordFailure(remoteAddress);
    if (delay > 0) await this.sleep(delay);
  }

  /** Number of clients currently remembered (for tests and metrics). */
  get trackedClients(): number {
    return this.failures.size;
  }

  private current(key: string): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const cutoff = this.now() - this.options.failureWindow;
    while (times.length > 0 && times[0]! <= cutoff) times.shift();
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  private enforceCap(): void {
    if (this.failures.size <= this.maxTrackedClients) return;
    const cutoff = this.now() - this.options.failureWindow;
    // Map order is by latest failure, so the expired entries are all at the front.
    for (const [key, times] of this.failures) {
      if ((times.at(-1) ?? 0) > cutoff) break;
      this.failures.delete(key);
    }
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.maxTrackedClients) break;
      this.failures.delete(key);
    }
  }
}

/**
 * The unit that is throttled: an IPv4 address (also when IPv4-mapped), or an IPv6 /64, since one
 * IPv6 host usually holds a whole /64 and could otherwise rotate addresses to escape the count.
 */
export function clientKey(remoteAddress: string): string {
  const address = remoteAddress.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(":")}::/64`;
}

function expandIPv6(address: string): string[] {
  const withoutZone = address.split("%")[0]!;
  const [head = "", tail] = withoutZone.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(Math.max(0, missing)).fill("0"), ...right].map((g) =>
    g.includes(".") ? g : Number.parseInt(g, 16).toString(16),
  );
}
