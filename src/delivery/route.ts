// Where mail for an address goes: local users (through aliases, +tags and catch-alls) and remote
// addresses. Pure policy over the Store; it writes nothing.

import { type DeliveryInput, type Store, StoreError, type User } from "../store/types.js";

/** How many alias hops an address may take before the rest of the chain is ignored. */
export const MAX_ALIAS_DEPTH = 10;

export interface Resolution {
  /** Whether the address's own domain is served here. */
  localDomain: boolean;
  /** Local users that get a copy, each once, in the order they were reached. */
  users: User[];
  /** Addresses on other domains, each once: the address itself or alias destinations. */
  remote: string[];
  /** Addresses where an alias chain was cut for being deeper than MAX_ALIAS_DEPTH, for logs. */
  truncated: string[];
  /** How the address was rewritten on the way, in order: for the delivery trace. */
  steps: RouteStep[];
}

export interface RouteStep {
  via: "alias" | "catch-all" | "plus-tag";
  from: string;
  to: string;
}

export interface ParsedAddress {
  local: string;
  domain: string;
}

/** Splits at the last "@" (a quoted local part may itself contain "@"); null when either side is empty. */
export function splitAddress(address: string): ParsedAddress | null {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** "user+tag" → "user"; null when there is no tag or nothing before it. */
export function stripPlusTag(local: string): string | null {
  const plus = local.indexOf("+");
  if (plus <= 0) return null;
  return local.slice(0, plus);
}

export async function resolveRecipient(
  store: Pick<Store, "directory">,
  address: string,
): Promise<Resolution> {
  const resolution: Resolution = { localDomain: false, users: [], remote: [], truncated: [], steps: [] };
  const seenUsers = new Set<number>();
  const seenRemote = new Set<string>();
  // Every address (and "@domain" catch-all) is expanded at most once: this stops loops, and a
  // destination reached twice (a diamond of aliases) adds nothing new the second time.
  const expanded = new Set<string>();
  const domainCache = new Map<string, boolean>();

  const isLocalDomain = async (domain: string): Promise<boolean> => {
    const cached = domainCache.get(domain);
    if (cached !== undefined) return cached;
    const local = (await nothingIfInvalid(store.directory.getDomain(domain), null)) !== null;
    domainCache.set(domain, local);
    return local;
  };

  const addRemote = (target: string): void => {
    if (seenRemote.has(target)) return;
    seenRemote.add(target);
    resolution.remote.push(target);
  };

  /** `shownAs`: the address a catch-all took, named in the step instead of "@domain". */
  const expandAliases = async (source: string, depth: number, shownAs = source): Promise<boolean> => {
    const destinations = await nothingIfInvalid(store.directory.aliasDestinations(source), []);
    if (destinations.length === 0) return false;
    const via = source.startsWith("@") ? "catch-all" : "alias";
    for (const destination of destinations) {
      resolution.steps.push({ via, from: shownAs, to: destination.trim().toLowerCase() });
      await expand(destination, depth + 1);
    }
    return true;
  };

  // Tries one local address: exact user, then exact alias. True when it matched something.
  const tryExact = async (target: string, depth: number): Promise<boolean> => {
    const user = await nothingIfInvalid(store.directory.getUser(target), null);
    if (user) {
      if (!seenUsers.has(user.id)) {
        seenUsers.add(user.id);
        resolution.users.push(user);
      }
      return true;
    }
    return expandAliases(target, depth);
  };

  async function expand(raw: string, depth: number): Promise<void> {
    const target = raw.trim().toLowerCase();
    if (expanded.has(target)) return;
    if (depth > MAX_ALIAS_DEPTH) {
      resolution.truncated.push(target);
      return;
    }
    expanded.add(target);
    const parts = splitAddress(target);
    if (!parts) return;
    if (!(await isLocalDomain(parts.domain))) {
      addRemote(target);
      return;
    }
    if (await tryExact(target, depth)) return;
    const base = stripPlusTag(parts.local);
    if (base !== null) {
      // Plus-addressing: "user+tag@" is "user@" (then its catch-all) when nothing claims the tag itself.
      resolution.steps.push({ via: "plus-tag", from: target, to: `${base}@${parts.domain}` });
      await expand(`${base}@${parts.domain}`, depth);
      return;
    }
    const catchAll = `@${parts.domain}`;
    if (expanded.has(catchAll)) return;
    expanded.add(catchAll);
    await expandAliases(catchAll, depth, target);
  }

  const top = address.trim().toLowerCase();
  const parts = splitAddress(top);
  if (parts) resolution.localDomain = await isLocalDomain(parts.domain);
  await expand(top, 0);
  return resolution;
}

/**
 * Where a message this server writes (a delivery notice, an auto-reply) to `address` goes: the INBOX of
 * each local user it reaches, and a queue entry for each remote address. Both empty when it reaches
 * no one.
 */
export async function generatedTargets(
  store: Pick<Store, "directory" | "mailboxes">,
  address: string,
): Promise<Pick<DeliveryInput, "mailboxes" | "queue">> {
  const route = await resolveRecipient(store, address);
  const mailboxes: DeliveryInput["mailboxes"] = [];
  for (const user of route.users) {
    const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
    if (inbox) mailboxes.push({ mailboxId: inbox.id });
  }
  return { mailboxes, queue: route.remote.map((recipient) => ({ recipient })) };
}

/**
 * Whether the user may send as `address`: their own address, a +tag form of it, or an alias source
 * whose chain reaches them. Catch-alls do not count: they would hand every address of a domain to
 * whoever receives its stray mail. Another user's address is never theirs, tagged or not.
 */
export async function ownsAddress(
  store: Pick<Store, "directory">,
  address: string,
  user: { userId: number; address: string },
): Promise<boolean> {
  const target = address.trim().toLowerCase();
  const parts = splitAddress(target);
  if (!parts) return false;
  const own = user.address.trim().toLowerCase();
  const base = stripPlusTag(parts.local);
  const candidates = base === null ? [target] : [target, `${base}@${parts.domain}`];
  for (const candidate of candidates) {
    if (candidate === own) return true;
    const holder = await nothingIfInvalid(store.directory.getUser(candidate), null);
    if (holder) return holder.id === user.userId;
    const destinations = await nothingIfInvalid(store.directory.aliasDestinations(candidate), []);
    if (destinations.length === 0) continue;
    const resolution = await resolveRecipient(store, candidate);
    return resolution.users.some((reached) => reached.id === user.userId);
  }
  return false;
}

/**
 * An address the store refuses as malformed (e.g. a quoted local part, which RFC 5321 allows but the
 * store does not keep) cannot name a user or alias: for routing that is "nobody", not a failure.
 */
async function nothingIfInvalid<T>(lookup: Promise<T>, nothing: T): Promise<T> {
  try {
    return await lookup;
  } catch (err) {
    if (err instanceof StoreError && err.code === "invalid") return nothing;
    throw err;
  }
}
