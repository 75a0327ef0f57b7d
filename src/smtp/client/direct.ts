// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, equal preferences in
// random order, the domain itself when it has no MX, and nowhere when it publishes a null MX (RFC 7505).

import type { Resolver } from "node:dns/promises";
import { isIP } from "node:net";

export interface MailHost {
  /** The MX name (for TLS server names and messages). */
  name: string;
  /** Its IPv4 and IPv6 addresses, in that order. */
  addresses: string[];
}

export type DomainRoute =
  | { kind: "hosts"; hosts: MailHost[] }
  | { kind: "unroutable"; temporary: boolean; message: string };

/** DNS failures that say the answer does not exist, as opposed to "could not ask". */
const NO_DATA = new Set(["ENODATA", "ENOTFOUND"]);

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

async function addressesOf(name: string, resolver: Resolver): Promise<string[] | { temporary: string }> {
  if (isIP(name) !== 0) return [name];
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const found = [
    ...(v4.status === "fulfilled" ? v4.value : []),
    ...(v6.status === "fulfilled" ? v6.value : []),
  ];
  if (found.length > 0) return found;
  const failure = [v4, v6].find(
    (result): result is PromiseRejectedResult =>
      result.status === "rejected" && !NO_DATA.has(errorCode(result.reason)),
  );
  return failure ? { temporary: errorCode(failure.reason) } : [];
}

export async function routeDomain(domain: string, resolver: Resolver): Promise<DomainRoute> {
  let names: string[];
  try {
    const records = await resolver.resolveMx(domain);
    // RFC 7505 §3: a single MX with the root as its exchange means "this domain takes no mail".
    if (records.length === 1 && (records[0]?.exchange === "" || records[0]?.exchange === ".")) {
      return {
        kind: "unroutable",
        temporary: false,
        message: `${domain} does not accept mail (it publishes a null MX record, RFC 7505)`,
      };
    }
    const byPreference = new Map<number, string[]>();
    for (const record of records) {
      if (record.exchange === "" || record.exchange === ".") continue;
      byPreference.set(record.priority, [...(byPreference.get(record.priority) ?? []), record.exchange]);
    }
    names = [...byPreference.keys()]
      .sort((a, b) => a - b)
      .flatMap((preference) => shuffle(byPreference.get(preference) ?? []));
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOTFOUND") {
      return {
        kind: "unroutable",
        temporary: false,
        message: `${domain} does not exist (DNS says NXDOMAIN); check the address`,
      };
    }
    if (code !== "ENODATA") {
      return {
        kind: "unroutable",
        temporary: true,
        message: `DNS lookup of MX for ${domain} failed (${code}); try again later`,
      };
    }
    // RFC 5321 §5.1: no MX records — the domain itself is the implicit MX.
    names = [domain];
  }
  const hosts: MailHost[] = [];
  let dnsFailure: string | null = null;
  for (const name of names) {
    const addresses = await addressesOf(name, resolver);
    if (Array.isArray(addresses)) {
      if (addresses.length > 0) hosts.push({ name, addresses });
    } else {
      dnsFailure = `DNS lookup of ${name} failed (${addresses.temporary})`;
    }
  }
  if (hosts.length > 0) return { kind: "hosts", hosts };
  if (dnsFailure) return { kind: "unroutable", temporary: true, message: `${dnsFailure}; try again later` };
  return {
    kind: "unroutable",
    temporary: false,
    message: `no mail server for ${domain}: ${names.join(", ")} ${names.length === 1 ? "has" : "have"} no address`,
  };
}
