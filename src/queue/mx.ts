// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, or the domain itself
// when it publishes no MX, or nowhere when it publishes a null MX (RFC 7505).
//
// Lookups go through the shared cached resolver (dns.ts).

import { isIP } from "node:net";
import { type CachedResolve, createDnsResolver, type DnsCacheOptions, dnsCode, NO_DATA } from "./dns.js";

export { DNS_CACHE_DEFAULTS, type DnsCacheOptions } from "./dns.js";

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

export function createMxLookup(options: {
  /** "host:port" of the DNS server; null for the system's. */
  server: string | null;
  timeout?: number;
  random?: () => number;
  cache?: DnsCacheOptions;
  /** Milliseconds since the epoch; replaceable so tests can move time past a TTL. */
  now?: () => number;
  /** An existing cached resolver to share; otherwise one is made from the options above. */
  resolve?: CachedResolve;
}): MxLookup {
  const resolve =
    options.resolve ??
    createDnsResolver({
      server: options.server,
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
  const random = options.random ?? Math.random;

  const family = (type: "A" | "AAAA", name: string): Promise<string[]> =>
    resolve(name, type) as Promise<string[]>;

  const mxRecords = (domain: string): Promise<Array<{ exchange: string; priority: number }>> =>
    resolve(domain, "MX") as Promise<Array<{ exchange: string; priority: number }>>;

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
