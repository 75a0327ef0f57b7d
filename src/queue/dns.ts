// The DNS resolver every lookup of this server shares the shape of: one server setting ([relay]
// resolver: "host:port", or the system's), and answers cached per name and type, so a burst of mail
// from or to one domain costs one set of queries, not several per message. The relay's MX lookups
// (mx.ts) and the inbound SPF/DKIM/DMARC checks (trust/) both resolve through it. How long each answer
// is kept:
// - A/AAAA: their own TTL (node:dns gives it with {ttl: true}), capped at maxTtl.
// - MX, TXT and the rest: node:dns does not give their TTL (c-ares parses it, Node drops it; only
//   resolve4 and resolve6 take {ttl: true}), and ANY queries, which would carry it, are deprecated
//   (RFC 8482). So they are kept for a fixed mxTtl (5 minutes): short next to common TTLs, long next to a
//   burst.
// - NXDOMAIN and NODATA: RFC 2308 §5 ties negative caching to the zone's SOA, which node:dns does not
//   hand back with the error either, so they are kept for a short fixed negativeTtl (1 minute).
// - SERVFAIL, timeouts, refused: never cached; the next lookup asks again.
// Entries are bounded (least recently used go first), and concurrent lookups of one name share a query.

import { Resolver } from "node:dns/promises";

export interface DnsCacheOptions {
  /** Names × types remembered at once; the least recently used are forgotten first. */
  maxEntries?: number;
  /** Milliseconds; no answer is kept longer, whatever its TTL. */
  maxTtl?: number;
  /** Milliseconds an answer other than A/AAAA (MX, TXT …) is kept: node:dns does not report their TTL. */
  mxTtl?: number;
  /** Milliseconds an NXDOMAIN or NODATA answer is kept. */
  negativeTtl?: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
export const DNS_CACHE_DEFAULTS: Required<DnsCacheOptions> = {
  maxEntries: 10_000,
  maxTtl: 60 * MINUTE,
  mxTtl: 5 * MINUTE,
  negativeTtl: MINUTE,
};

/** What a query settled on; temporary failures are thrown instead and never stored. */
type Answer<T> = { kind: "found"; value: T } | { kind: "negative"; code: "ENOTFOUND" | "ENODATA" };

interface CacheEntry {
  expires: number;
  answer: Answer<unknown>;
}

/** A time-bounded, size-bounded map of DNS answers that also merges concurrent identical queries. */
class DnsCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<Answer<unknown>>>();

  constructor(
    private readonly options: Required<DnsCacheOptions>,
    private readonly now: () => number,
  ) {}

  /** The cached answer for `key`, or the result of `query` (with its lifetime in ms), kept if lasting. */
  lookup<T>(key: string, query: () => Promise<{ answer: Answer<T>; ttl: number }>): Promise<Answer<T>> {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      if (entry.expires > this.now()) {
        this.entries.set(key, entry);
        return Promise.resolve(entry.answer as Answer<T>);
      }
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending as Promise<Answer<T>>;
    const started = query().then(
      ({ answer, ttl }) => {
        this.inFlight.delete(key);
        this.store(key, answer, Math.min(ttl, this.options.maxTtl));
        return answer;
      },
      (error: unknown) => {
        this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, started);
    return started;
  }

  negative(code: "ENOTFOUND" | "ENODATA"): { answer: Answer<never>; ttl: number } {
    return { answer: { kind: "negative", code }, ttl: this.options.negativeTtl };
  }

  private store(key: string, answer: Answer<unknown>, ttl: number): void {
    if (ttl <= 0 || this.options.maxEntries <= 0) return;
    this.entries.set(key, { expires: this.now() + ttl, answer });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
  }
}

interface DnsFailure {
  code?: string;
}

export const NO_DATA = new Set(["ENODATA", "ENOTFOUND"]);

export function dnsCode(err: unknown): string {
  return (err as DnsFailure | null)?.code ?? "UNKNOWN";
}

/** A cached negative answer, thrown the way node:dns reports it. */
export function negativeError(code: string): Error {
  return Object.assign(new Error(`DNS answered ${code}`), { code });
}

/**
 * Lookups in node:dns's shapes (resolve4 and resolve6 give addresses, resolveTxt chunk lists, resolveMx
 * {exchange, priority}), cached. Negative answers are thrown as node:dns throws them (code ENOTFOUND or
 * ENODATA), so callers written for node:dns — mailauth among them — need no changes.
 */
export type CachedResolve = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsResolverOptions {
  /** "host:port" of the DNS server; null for the system's. */
  server: string | null;
  timeout?: number;
  cache?: DnsCacheOptions;
  /** Milliseconds since the epoch; replaceable so tests can move time past a TTL. */
  now?: () => number;
}

/** A resolver asking `server` ("host:port"; null for the system's), uncached: `mailroom doctor` asks afresh. */
export function createResolver(server: string | null, timeout = 5000): Resolver {
  const resolver = new Resolver({ timeout, tries: 2 });
  if (server !== null) resolver.setServers([server]);
  return resolver;
}

export function createDnsResolver(options: DnsResolverOptions): CachedResolve {
  const resolver = createResolver(options.server, options.timeout);
  const settings = { ...DNS_CACHE_DEFAULTS, ...options.cache };
  const cache = new DnsCache(settings, options.now ?? Date.now);

  /** NXDOMAIN and NODATA become answers; anything else (SERVFAIL, timeout) is thrown, uncached. */
  const settle = async <T>(
    query: () => Promise<T>,
    ttlOf: (value: T) => number,
  ): Promise<{ answer: Answer<T>; ttl: number }> => {
    try {
      const value = await query();
      return { answer: { kind: "found", value }, ttl: ttlOf(value) };
    } catch (err) {
      const code = dnsCode(err);
      if (code === "ENOTFOUND" || code === "ENODATA") return cache.negative(code);
      throw err;
    }
  };

  const addressTtl = (records: Array<{ ttl: number }>): number =>
    records.length === 0 ? 0 : Math.min(...records.map((record) => record.ttl)) * SECOND;

  const query = (name: string, type: string): Promise<{ answer: Answer<unknown>; ttl: number }> => {
    if (type === "A") return settle(() => resolver.resolve4(name, { ttl: true }), addressTtl);
    if (type === "AAAA") return settle(() => resolver.resolve6(name, { ttl: true }), addressTtl);
    return settle(
      () => resolver.resolve(name, type),
      () => settings.mxTtl,
    );
  };

  return async (name, rrtype) => {
    const type = rrtype.toUpperCase();
    const key = name.toLowerCase();
    const answer = await cache.lookup(`${type} ${key}`, () => query(key, type));
    if (answer.kind === "negative") throw negativeError(answer.code);
    if (type === "A" || type === "AAAA") {
      return (answer.value as Array<{ address: string }>).map((record) => record.address);
    }
    return answer.value;
  };
}
