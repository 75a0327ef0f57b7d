// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, or the domain itself
// when it publishes no MX, or nowhere when it publishes a null MX (RFC 7505).
//
// Answers are cached per name and type, so a burst of mail to one domain costs one set of queries, not
// three per message. How long each answer is kept:
// - A/AAAA: their own TTL (node:dns gives it with {ttl: true}), capped at maxTtl.
// - MX: node:dns does not give the TTL of MX records (c-ares parses it, Node drops it; only resolve4 and
//   resolve6 take {ttl: true}), and ANY queries, which would carry it, are deprecated (RFC 8482). So MX
//   answers are kept for a fixed mxTtl (5 minutes): short next to common MX TTLs, long next to a burst.
// - NXDOMAIN and NODATA: RFC 2308 §5 ties negative caching to the zone's SOA, which node:dns does not
//   hand back with the error either, so they are kept for a short fixed negativeTtl (1 minute).
// - SERVFAIL, timeouts, refused: never cached; the next delivery asks again.
// Entries are bounded (least recently used go first), and concurrent lookups of one name share a query.

import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";

export interface MxHost {
  /** The exchange's name (or the domain itself for the implicit MX). */
  name: string;
  preference: number;
  /** IPv4 then IPv6 addresses to try, in the order DNS gave them. */
  addresses: string[];
}

/** Why a domain cannot be reached; `permanent` failures are bounced, the rest retried. */
export class RouteError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** RFC 3463 enhanced status code for the DSN. */
    readonly status: string,
  ) {
    super(message);
    this.name = "RouteError";
  }
}

export type MxLookup = (domain: string) => Promise<MxHost[]>;

export interface DnsCacheOptions {
  /** Names × types remembered at once; the least recently used are forgotten first. */
  maxEntries?: number;
  /** Milliseconds; no answer is kept longer, whatever its TTL. */
  maxTtl?: number;
  /** Milliseconds an MX answer is kept (node:dns does not report MX TTLs). */
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

const NO_DATA = new Set(["ENODATA", "ENOTFOUND"]);

function dnsCode(err: unknown): string {
  return (err as DnsFailure | null)?.code ?? "UNKNOWN";
}

/** A cached negative answer, thrown the way node:dns reports it. */
function negativeError(code: string): Error {
  return Object.assign(new Error(`DNS answered ${code}`), { code });
}

/** Fisher–Yates, with the random source injectable so tests can pin the order. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

/** A resolver asking the relay's DNS server ("host:port", or null for the system's): one place for both. */
export function createResolver(server: string | null, timeout = 5000): Resolver {
  const resolver = new Resolver({ timeout, tries: 2 });
  if (server !== null) resolver.setServers([server]);
  return resolver;
}

export function createMxLookup(options: {
  /** "host:port" of the DNS server; null for the system's. */
  server: string | null;
  timeout?: number;
  random?: () => number;
  cache?: DnsCacheOptions;
  /** Milliseconds since the epoch; replaceable so tests can move time past a TTL. */
  now?: () => number;
}): MxLookup {
  const resolver = createResolver(options.server, options.timeout);
  const random = options.random ?? Math.random;
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

  const family = (type: "A" | "AAAA", name: string): Promise<string[]> =>
    cache
      .lookup(`${type} ${name}`, () =>
        settle(
          () =>
            type === "A" ? resolver.resolve4(name, { ttl: true }) : resolver.resolve6(name, { ttl: true }),
          addressTtl,
        ),
      )
      .then((answer) => {
        if (answer.kind === "negative") throw negativeError(answer.code);
        return answer.value.map((record) => record.address);
      });

  const mxRecords = async (domain: string): Promise<Array<{ exchange: string; priority: number }>> => {
    const answer = await cache.lookup(`MX ${domain}`, () =>
      settle(
        () => resolver.resolveMx(domain),
        () => settings.mxTtl,
      ),
    );
    if (answer.kind === "negative") throw negativeError(answer.code);
    return answer.value;
  };

  // Both families are asked; one failing while the other answers still gives a usable host.
  const addressesOf = async (name: string): Promise<{ addresses: string[]; nxdomain: boolean }> => {
    if (isIP(name)) return { addresses: [name], nxdomain: false };
    const key = name.toLowerCase();
    const [v4, v6] = await Promise.allSettled([family("A", key), family("AAAA", key)]);
    const addresses = [
      ...(v4.status === "fulfilled" ? v4.value : []),
      ...(v6.status === "fulfilled" ? v6.value : []),
    ];
    const failures = [v4, v6]
      .filter((each) => each.status === "rejected")
      .map((each) => dnsCode(each.reason));
    if (addresses.length === 0 && failures.some((code) => !NO_DATA.has(code))) {
      throw new RouteError(`DNS lookup of ${name} failed (${failures.join(", ")})`, false, "4.4.3");
    }
    return { addresses, nxdomain: failures.includes("ENOTFOUND") };
  };

  return async (domain: string): Promise<MxHost[]> => {
    let records: Array<{ exchange: string; priority: number }>;
    try {
      records = await mxRecords(domain.toLowerCase());
    } catch (err) {
      const code = dnsCode(err);
      if (code === "ENOTFOUND") {
        throw new RouteError(`the domain ${domain} does not exist (DNS: NXDOMAIN)`, true, "5.1.2");
      }
      if (code !== "ENODATA") {
        throw new RouteError(`DNS MX lookup for ${domain} failed (${code})`, false, "4.4.3");
      }
      records = [];
    }
    const isNull = (exchange: string): boolean => exchange === "" || exchange === ".";
    // RFC 7505 §3: a single MX of "." says the domain accepts no mail at all.
    if (records.length > 0 && records.every((record) => isNull(record.exchange))) {
      throw new RouteError(
        `the domain ${domain} does not accept mail (it publishes a null MX, RFC 7505)`,
        true,
        "5.1.10",
      );
    }
    const usable = records.filter((record) => !isNull(record.exchange));
    if (usable.length === 0) {
      // RFC 5321 §5.1: with no MX, the domain itself is the only host, at preference 0.
      const implicit = await addressesOf(domain);
      if (implicit.addresses.length === 0) {
        throw new RouteError(`the domain ${domain} has no MX and no address record`, true, "5.1.2");
      }
      return [{ name: domain, preference: 0, addresses: implicit.addresses }];
    }
    // RFC 5321 §5.1: lowest preference first; equal preferences in random order to spread the load.
    const byPreference = new Map<number, string[]>();
    for (const record of usable) {
      const names = byPreference.get(record.priority) ?? [];
      if (!names.includes(record.exchange.toLowerCase())) names.push(record.exchange.toLowerCase());
      byPreference.set(record.priority, names);
    }
    const ordered = [...byPreference.entries()]
      .sort(([a], [b]) => a - b)
      .flatMap(([preference, names]) => shuffle(names, random).map((name) => ({ name, preference })));
    const hosts: MxHost[] = [];
    let lastError: RouteError | null = null;
    for (const { name, preference } of ordered) {
      try {
        const { addresses } = await addressesOf(name);
        if (addresses.length > 0) hosts.push({ name, preference, addresses });
      } catch (err) {
        lastError = err as RouteError;
      }
    }
    if (hosts.length === 0) {
      // A broken MX name may be a passing DNS fault: retry rather than bounce.
      throw (
        lastError ?? new RouteError(`none of the MX hosts of ${domain} has an address record`, false, "4.4.3")
      );
    }
    return hosts;
  };
}
