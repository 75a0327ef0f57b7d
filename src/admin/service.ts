// The admin operations (issue 16), one code path for the `mailroom domain|user|alias|queue` commands and
// the web admin's /admin/api: domains with the DNS records they need, users, aliases and catch-alls,
// the outbound queue with each message's delivery trace, and the server's status. Checks that the
// store would make anyway are made here first, so each refusal says what is wrong in words; the
// store's own codes still decide races (someone adding a user between a check and a removal).
// Errors carry a neutral message and, apart, what to do about it in CLI words: the CLI prints both,
// the HTTP API only the message.

import type { Resolver } from "node:dns/promises";
import { newPasswordProblem } from "../auth/new-password.js";
import { hashPassword } from "../auth/password.js";
import { newToken } from "../auth/tokens.js";
import { resolveRecipient } from "../delivery/route.js";
import { loadTrace, type MessageTrace } from "../delivery/trace.js";
import { checkDomain, checkHost, type Finding } from "../dns/checks.js";
import { gatherDomain, gatherHost } from "../dns/gather.js";
import { type DnsRecordToPublish, domainRecords } from "../dns/records.js";
import type { RecentEventsSnapshot } from "../log/recent.js";
import { type DkimAlgorithm, generateDkimKey, selectorFor } from "../mail/dkim.js";
import { readHeaderBlock } from "../mail/headers.js";
import { userName } from "../store/input-checks.js";
import { type QueueEntry, type Store, StoreError, type User } from "../store/types.js";
import { ADDRESS_EXAMPLE, aliasSource, DOMAIN_EXAMPLE, domainName, mailAddress } from "./names.js";

/** The parts the admin operations touch, and the store's kind for the status. */
export type AdminStore = Pick<Store, "kind" | "directory" | "queue" | "blobs" | "traces" | "quotas">;

export type AdminErrorCode =
  /** The input is not what the operation takes (a bad name, a weak password). */
  | "invalid"
  | "not-found"
  | "exists"
  /** The operation cannot be done in the present state (a domain still in use, an entry in delivery). */
  | "conflict"
  /** Part of it was done and part failed: the message says which. */
  | "incomplete";

export class AdminError extends Error {
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    /** What to do next, in the words of the CLI ("see 'mailroom user list'"). */
    readonly hint: string | null = null,
  ) {
    super(message);
    this.name = "AdminError";
  }
}

export interface DomainSummary {
  name: string;
  createdAt: string;
  users: number;
  aliases: number;
  /** The selector of the domain's DKIM key; null when it has none. */
  dkimSelector: string | null;
}

export interface DomainRecords {
  domain: string;
  records: DnsRecordToPublish[];
  /** False when the domain has no DKIM key (so no DKIM record is listed). */
  dkim: boolean;
}

export interface UserSummary {
  address: string;
  admin: boolean;
  /** Refused at every login; mail to the address is still delivered. */
  disabled: boolean;
  /** The display name (the default JMAP Identity's name); null when none is kept. */
  name: string | null;
  createdAt: string;
}

export interface AliasSummary {
  source: string;
  destination: string;
  /** The source is "@domain": mail for the domain's addresses that match no user or alias. */
  catchAll: boolean;
}

export interface QueueListing {
  id: string;
  messageId: string;
  sender: string;
  recipient: string;
  state: string;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  lastError: string | null;
  /** RFC 4865 future release: not tried before this time; null when not held. */
  holdUntil: string | null;
}

export interface QueueEntryDetail {
  entry: QueueListing & {
    claimedUntil: string | null;
    dsn: QueueEntry["dsn"];
    envelopeDsn: QueueEntry["envelopeDsn"];
    delayNotified: boolean;
  };
  /** The stored message's header block; "" when it could not be read (`headerError` says why). */
  header: string;
  headerError: string | null;
  /** The message's delivery trace; null when the store has none (pruned, or from before traces). */
  trace: MessageTrace | null;
}

/** What only the running server knows; the status of a CLI without a server has none of it. */
export interface ServerRuntime {
  startedAt: Date;
  /** The listeners open now, with the addresses they are bound to. */
  listeners(): Array<{ name: string; host: string; port: number }>;
  /** The machine and process this is: with PostgreSQL several nodes answer, each for itself. */
  node?: { host: string; pid: number };
  /** This process's ring of recent warn and error log events; absent when its logger keeps none. */
  recentErrors?: () => RecentEventsSnapshot;
}

/** What the store says, with or without a running server (`mailroom status` when it is down). */
export interface StoreStatus {
  version: string;
  hostname: string;
  store: string;
  counts: { domains: number; users: number; aliases: number; queued: number };
  /** When the oldest queued entry was queued; null when the queue is empty. */
  oldestQueuedAt: string | null;
}

export interface ServerStatus extends StoreStatus {
  startedAt: string;
  uptimeSeconds: number;
  listeners: Array<{ name: string; host: string; port: number }>;
  /** The node that answered; null when the runtime does not say (a server built in a unit test). */
  node: { host: string; pid: number } | null;
  /**
   * The answering node's recent warn and error events, newest first; other nodes on the same
   * PostgreSQL database keep their own. Null when this server's logger keeps none (an embedding
   * program's own logger).
   */
  recentErrors: (RecentEventsSnapshot & { node: string | null }) | null;
}

/** The admin on whose behalf an API request acts; the CLI acts for the operator, with none. */
export interface AdminActor {
  userId: number;
  address: string;
}

export interface TokenSummary {
  id: string;
  name: string;
  createdAt: string;
}

export interface QuotaSummary {
  address: string;
  /** Octets; null when the user has no limit. */
  limit: number | null;
  used: number;
}

export interface AdminServiceOptions {
  store: AdminStore;
  /** How live DNS is read for checkDomainDns (the relay's resolver); without one that check is refused. */
  resolver?: Resolver;
  /** The server's hostname: the MX target and PTR name of every domain's records. */
  hostname: string;
  version: string;
  now?: () => Date;
}

export type AdminService = ReturnType<typeof createAdminService>;

function requireDomainName(value: string): string {
  const name = domainName(value);
  if (name === null)
    throw new AdminError("invalid", `'${value}' is not a valid domain name (${DOMAIN_EXAMPLE})`);
  return name;
}

function requireAddress(value: string): string {
  const address = mailAddress(value);
  if (address === null)
    throw new AdminError("invalid", `'${value}' is not a valid address (${ADDRESS_EXAMPLE})`);
  return address;
}

function requireAliasSource(value: string): string {
  const source = aliasSource(value);
  if (source === null) {
    throw new AdminError("invalid", `'${value}' is neither an address nor @domain (a catch-all)`);
  }
  return source;
}

function requirePassword(password: string): void {
  const problem = newPasswordProblem(password);
  if (problem !== null) throw new AdminError("invalid", `password refused: ${problem}; nothing was changed`);
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

function unknownDomain(name: string, hint: string = "see 'mailroom domain list'"): AdminError {
  return new AdminError("not-found", `domain ${name} is not served here`, hint);
}

function unknownUser(address: string): AdminError {
  return new AdminError("not-found", `there is no user ${address} here`, "see 'mailroom user list'");
}

function inUse(name: string, users: number, aliases: number): AdminError {
  const parts = [
    users > 0 ? `${users} user${users === 1 ? "" : "s"}` : "",
    aliases > 0 ? `${aliases} alias${aliases === 1 ? "" : "es"}` : "",
  ].filter(Boolean);
  const what = parts.length > 0 ? parts.join(" and ") : "users or aliases";
  return new AdminError(
    "conflict",
    `domain ${name} still has ${what}; remove them first`,
    `see 'mailroom user list ${name}' and 'mailroom alias list ${name}'`,
  );
}

export function queueListing(entry: QueueEntry): QueueListing {
  return {
    id: entry.id,
    messageId: entry.messageId,
    sender: entry.sender,
    recipient: entry.recipient,
    state: entry.state,
    attempts: entry.attempts,
    createdAt: entry.createdAt.toISOString(),
    nextAttemptAt: entry.nextAttemptAt.toISOString(),
    lastError: entry.lastError,
    holdUntil: entry.holdUntil?.toISOString() ?? null,
  };
}

/** Makes and stores a new DKIM key for a served domain, with a selector unlike the current one. */
export async function createDomainKey(
  store: Pick<Store, "directory">,
  domain: string,
  algorithm: DkimAlgorithm = "rsa-sha256",
): Promise<{ selector: string; privateKeyPem: string; algorithm: DkimAlgorithm }> {
  const current = await store.directory.getDkimKey(domain);
  const key = {
    selector: selectorFor(new Date(), current?.selector ?? null),
    privateKeyPem: await generateDkimKey(algorithm),
    algorithm,
  };
  await store.directory.setDkimKey(domain, key);
  return key;
}

export function createAdminService(options: AdminServiceOptions) {
  const { store, hostname } = options;
  const now = options.now ?? (() => new Date());
  const directory = store.directory;

  async function requireServedDomain(name: string, hint?: string): Promise<void> {
    if (!(await directory.getDomain(name))) throw unknownDomain(name, hint);
  }

  async function requireUser(address: string) {
    const user = await directory.getUser(address);
    if (!user) throw unknownUser(address);
    return user;
  }

  async function requireEntry(id: string): Promise<QueueEntry> {
    const entry = await store.queue.get(id);
    if (!entry)
      throw new AdminError("not-found", `there is no queue entry '${id}'`, "see 'mailroom queue list'");
    return entry;
  }

  /** The checks addUser makes before the password is needed: the CLI runs them before asking for one. */
  async function checkNewUser(value: string): Promise<string> {
    const address = requireAddress(value);
    const domain = domainOf(address);
    await requireServedDomain(domain, `add it with 'mailroom domain add ${domain}'`);
    if (await directory.getUser(address)) throw userExists(address);
    return address;
  }

  /** The user must exist; the CLI runs it before asking for a password. */
  async function checkUser(value: string): Promise<string> {
    const address = requireAddress(value);
    await requireUser(address);
    return address;
  }

  async function recordsOf(name: string, addresses: readonly string[]): Promise<DomainRecords> {
    const dkim = await directory.getDkimKey(name);
    return {
      domain: name,
      records: domainRecords({ domain: name, hostname, dkim, addresses }),
      dkim: dkim !== null,
    };
  }

  async function storeStatus(): Promise<StoreStatus> {
    const [domains, users, aliases, queue] = await Promise.all([
      directory.listDomains(),
      directory.listUsers(),
      directory.listAliases(),
      store.queue.stats(),
    ]);
    return {
      version: options.version,
      hostname,
      store: store.kind,
      counts: { domains: domains.length, users: users.length, aliases: aliases.length, queued: queue.size },
      oldestQueuedAt: queue.oldestCreatedAt?.toISOString() ?? null,
    };
  }

  return {
    hostname,

    // ---- domains ----

    async listDomains(): Promise<DomainSummary[]> {
      const [domains, users, aliases] = await Promise.all([
        directory.listDomains(),
        directory.listUsers(),
        directory.listAliases(),
      ]);
      const count = (addresses: string[], name: string) =>
        addresses.filter((address) => domainOf(address) === name).length;
      const userAddresses = users.map((user) => user.address);
      const sources = aliases.map((alias) => alias.source);
      return Promise.all(
        domains.map(async (domain) => ({
          name: domain.name,
          createdAt: domain.createdAt.toISOString(),
          users: count(userAddresses, domain.name),
          aliases: count(sources, domain.name),
          dkimSelector: (await directory.getDkimKey(domain.name))?.selector ?? null,
        })),
      );
    },

    /** Serves a new domain and gives it its first DKIM key; answers the records to publish. */
    async addDomain(value: string, addresses: readonly string[] = []): Promise<DomainRecords> {
      const name = requireDomainName(value);
      const exists = () => new AdminError("exists", `domain ${name} is already served here`);
      if (await directory.getDomain(name)) throw exists();
      try {
        await directory.addDomain(name);
      } catch (error) {
        if (error instanceof StoreError && error.code === "exists") throw exists();
        throw error;
      }
      try {
        await createDomainKey(store, name);
      } catch (error) {
        throw new AdminError(
          "incomplete",
          `added domain ${name}, but creating its DKIM key failed (${error instanceof Error ? error.message : String(error)})`,
          `run 'mailroom dkim rotate ${name}'`,
        );
      }
      return recordsOf(name, addresses);
    },

    async domainRecords(value: string, addresses: readonly string[] = []): Promise<DomainRecords> {
      const name = requireDomainName(value);
      await requireServedDomain(name);
      return recordsOf(name, addresses);
    },

    /** Refused while the domain still has users or aliases. */
    async removeDomain(value: string): Promise<void> {
      const name = requireDomainName(value);
      await requireServedDomain(name);
      const users = (await directory.listUsers(name)).length;
      const aliases = (await directory.listAliases(name)).length;
      if (users > 0 || aliases > 0) throw inUse(name, users, aliases);
      try {
        await directory.removeDomain(name);
      } catch (error) {
        // Someone added a user or alias between the check and the removal.
        if (error instanceof StoreError && error.code === "not-empty") throw inUse(name, 0, 0);
        throw error;
      }
    },

    // ---- users ----

    async listUsers(domain?: string): Promise<UserSummary[]> {
      const name = domain === undefined ? undefined : requireDomainName(domain);
      if (name !== undefined) await requireServedDomain(name);
      return (await directory.listUsers(name)).map(userSummary);
    },

    async showUser(value: string): Promise<UserSummary> {
      return userSummary(await requireUser(requireAddress(value)));
    },

    checkNewUser,

    async addUser(
      value: string,
      password: string,
      settings: { admin?: boolean; name?: string | null } = {},
    ): Promise<UserSummary> {
      const address = await checkNewUser(value);
      requirePassword(password);
      const name = requireDisplayName(settings.name ?? null);
      const credentials = await hashPassword(password);
      try {
        const user = await directory.addUser(address, credentials, { admin: settings.admin === true, name });
        return userSummary(user);
      } catch (error) {
        if (error instanceof StoreError && error.code === "exists") throw userExists(address);
        throw error;
      }
    },

    /** Sets the user's display name (the default JMAP Identity's name), or removes it with null or "". */
    async setName(value: string, name: string | null): Promise<UserSummary> {
      const address = await checkUser(value);
      await directory.setName(address, requireDisplayName(name));
      return userSummary(await requireUser(address));
    },

    checkUser,

    async setPassword(value: string, password: string): Promise<void> {
      const address = await checkUser(value);
      requirePassword(password);
      await directory.setCredentials(address, await hashPassword(password));
    },

    async setAdmin(value: string, admin: boolean, by?: AdminActor): Promise<UserSummary> {
      const address = await checkUser(value);
      if (!admin) refuseSelf(await requireUser(address), by, "take the admin role from");
      await directory.setAdmin(address, admin);
      return userSummary(await requireUser(address));
    },

    /**
     * Disables the user's logins (every protocol, passwords and app tokens alike) or enables them again.
     * Sessions already open stay open; mail to the user is still accepted and delivered.
     */
    async setDisabled(value: string, disabled: boolean, by?: AdminActor): Promise<UserSummary> {
      const address = await checkUser(value);
      if (disabled) refuseSelf(await requireUser(address), by, "disable");
      await directory.setDisabled(address, disabled);
      return userSummary(await requireUser(address));
    },

    /** Deletes the user with all of its mailboxes and mail. */
    async removeUser(value: string, by?: AdminActor): Promise<void> {
      const address = await checkUser(value);
      refuseSelf(await requireUser(address), by, "remove");
      await directory.removeUser(address);
    },

    // ---- aliases ----

    async listAliases(domain?: string): Promise<AliasSummary[]> {
      const name = domain === undefined ? undefined : requireDomainName(domain);
      if (name !== undefined) await requireServedDomain(name);
      return (await directory.listAliases(name)).map((alias) => ({
        source: alias.source,
        destination: alias.destination,
        catchAll: alias.source.startsWith("@"),
      }));
    },

    /** Adds SOURCE → DEST; `warning` says when mail to it is refused for now (DEST reaches nobody yet). */
    async addAlias(
      sourceValue: string,
      destinationValue: string,
    ): Promise<AliasSummary & { warning: string | null }> {
      const source = requireAliasSource(sourceValue);
      const destination = requireAddress(destinationValue);
      if (source === destination) {
        throw new AdminError("invalid", `an alias from ${source} to itself would loop; nothing added`);
      }
      const domain = domainOf(source);
      await requireServedDomain(domain, `add it with 'mailroom domain add ${domain}'`);
      // Routing looks for a user before an alias, so such an alias would silently never apply.
      if (!source.startsWith("@") && (await directory.getUser(source))) {
        throw new AdminError(
          "conflict",
          `${source} is a user here, and mail to it goes to that user; an alias would never apply`,
        );
      }
      try {
        await directory.addAlias(source, destination);
      } catch (error) {
        if (error instanceof StoreError && error.code === "exists") {
          throw new AdminError("exists", `the alias ${source} -> ${destination} already exists`);
        }
        throw error;
      }
      const reach = await resolveRecipient(store, destination);
      const warning =
        reach.localDomain && reach.users.length === 0 && reach.remote.length === 0
          ? `${destination} is neither a user nor an alias here yet; mail to ${source} is refused until it is`
          : null;
      return { source, destination, catchAll: source.startsWith("@"), warning };
    },

    /** Removes one destination of SOURCE, or all of them; answers the destinations removed. */
    async removeAlias(sourceValue: string, destinationValue?: string): Promise<string[]> {
      const source = requireAliasSource(sourceValue);
      const destination = destinationValue === undefined ? undefined : requireAddress(destinationValue);
      const destinations = await directory.aliasDestinations(source);
      if (destinations.length === 0) {
        throw new AdminError("not-found", `there is no alias ${source} here`, "see 'mailroom alias list'");
      }
      if (destination !== undefined && !destinations.includes(destination)) {
        throw new AdminError(
          "not-found",
          `${source} does not forward to ${destination}; it forwards to ${destinations.join(", ")}`,
        );
      }
      await directory.removeAlias(source, destination);
      return destination === undefined ? destinations : [destination];
    },

    // ---- the queue ----

    async listQueue(): Promise<QueueListing[]> {
      return (await store.queue.list()).map(queueListing);
    },

    /** One entry in full: DSN parameters, the message's header block and its delivery trace. */
    async showQueueEntry(id: string): Promise<QueueEntryDetail> {
      const entry = await requireEntry(id);
      let header = "";
      let headerError: string | null = null;
      try {
        header = (await readHeaderBlock(store.blobs.readBlob(entry.messageId))).toString("utf8");
      } catch (error) {
        headerError = `cannot read the stored message: ${error instanceof Error ? error.message : String(error)}`;
      }
      return {
        entry: {
          ...queueListing(entry),
          claimedUntil: entry.claimedUntil?.toISOString() ?? null,
          dsn: entry.dsn,
          envelopeDsn: entry.envelopeDsn,
          delayNotified: entry.delayNotified,
        },
        header,
        headerError,
        trace: await loadTrace(store, entry.messageId),
      };
    },

    /**
     * Makes one entry (or every waiting one) due now; answers how many. Waking the queue runner is the
     * caller's: the server wakes its own, the CLI signals the server on its data directory.
     */
    async retryQueue(id?: string): Promise<number> {
      if (id !== undefined) {
        const entry = await requireEntry(id);
        if (entry.state === "delivering") {
          throw new AdminError(
            "conflict",
            `queue entry ${id} is being delivered right now`,
            `see 'mailroom queue show ${id}'`,
          );
        }
      }
      return store.queue.retry(id);
    },

    /** Removes an entry without delivering it (the sender is not notified); answers what it was. */
    async deleteQueueEntry(id: string, settings: { force?: boolean } = {}): Promise<QueueListing> {
      const entry = await requireEntry(id);
      if (entry.state === "delivering" && settings.force !== true) {
        throw new AdminError(
          "conflict",
          `queue entry ${id} is being delivered right now and may still arrive`,
          "wait, or use --force to remove it anyway",
        );
      }
      await store.queue.complete(entry.id);
      return queueListing(entry);
    },

    // ---- app passwords (tokens: HTTP Basic or Bearer, JMAP and the webmail) ----

    async listTokens(value: string): Promise<TokenSummary[]> {
      const user = await requireUser(requireAddress(value));
      return (await directory.listAppTokens(user.id)).map((token) => ({
        id: token.id,
        name: token.name,
        createdAt: token.createdAt.toISOString(),
      }));
    },

    /** A new token; `token` is the only time the secret exists outside its hash. */
    async createToken(value: string, name: string): Promise<TokenSummary & { token: string }> {
      const user = await requireUser(requireAddress(value));
      const label = name.trim();
      if (label === "")
        throw new AdminError("invalid", "a token needs a name, to tell it apart when revoking");
      if (label.length > 100) throw new AdminError("invalid", "a token name has at most 100 characters");
      const made = newToken();
      const stored = await directory.createAppToken(user.id, {
        id: made.id,
        name: label,
        secretHash: made.secretHash,
      });
      return {
        id: stored.id,
        name: stored.name,
        createdAt: stored.createdAt.toISOString(),
        token: made.token,
      };
    },

    async revokeToken(value: string, id: string): Promise<void> {
      const address = requireAddress(value);
      const user = await requireUser(address);
      if (!(await directory.listAppTokens(user.id)).some((token) => token.id === id)) {
        throw new AdminError(
          "not-found",
          `${address} has no token ${id}`,
          `see 'mailroom token list ${address}'`,
        );
      }
      await directory.revokeAppToken(user.id, id);
    },

    // ---- quota ----

    async quota(value: string): Promise<QuotaSummary> {
      const address = requireAddress(value);
      const user = await requireUser(address);
      const quota = await store.quotas.getQuota(user.id);
      return { address, limit: quota.limit, used: quota.used };
    },

    /** Sets (octets) or lifts (null) the user's storage limit. */
    async setQuota(value: string, limit: number | null): Promise<QuotaSummary> {
      const address = requireAddress(value);
      const user = await requireUser(address);
      if (limit !== null && (!Number.isSafeInteger(limit) || limit < 1)) {
        throw new AdminError("invalid", "a quota is a whole number of octets above 0, or none");
      }
      await store.quotas.setQuota(user.id, limit);
      const quota = await store.quotas.getQuota(user.id);
      return { address, limit: quota.limit, used: quota.used };
    },

    // ---- live DNS ----

    /** What `mailroom doctor DOMAIN` says of the domain's records and the host name, against live DNS. */
    async checkDomainDns(value: string): Promise<Finding[]> {
      const name = requireDomainName(value);
      await requireServedDomain(name);
      if (options.resolver === undefined) {
        throw new AdminError("conflict", "this server checks no DNS here", "run 'mailroom doctor' instead");
      }
      const host = await gatherHost(options.resolver, hostname);
      const addresses = host.addresses.ok ? host.addresses.value : [];
      const dkim = await directory.getDkimKey(name);
      const expected = domainRecords({ domain: name, hostname, dkim, addresses });
      return [...checkHost(host), ...checkDomain(await gatherDomain(options.resolver, name, expected), host)];
    },

    // ---- status ----

    storeStatus,

    async status(runtime: ServerRuntime): Promise<ServerStatus> {
      const node = runtime.node ?? null;
      const recent = runtime.recentErrors?.() ?? null;
      return {
        ...(await storeStatus()),
        startedAt: runtime.startedAt.toISOString(),
        uptimeSeconds: Math.max(0, Math.floor((now().getTime() - runtime.startedAt.getTime()) / 1000)),
        listeners: runtime.listeners(),
        node,
        recentErrors: recent === null ? null : { node: node?.host ?? null, ...recent },
      };
    },
  };
}

/** The name as the store keeps it (trimmed, null when empty), or the store's reason as an AdminError. */
function requireDisplayName(name: string | null): string | null {
  try {
    return userName(name);
  } catch (error) {
    if (error instanceof StoreError) throw new AdminError("invalid", `name refused: ${error.message}`);
    throw error;
  }
}

function userSummary(user: User): UserSummary {
  return {
    address: user.address,
    admin: user.admin,
    disabled: user.disabled,
    name: user.name,
    createdAt: user.createdAt.toISOString(),
  };
}

/**
 * An admin acting through the API may not lock themselves out: disabled, demoted or removed, they could
 * not log in again to undo it, and a server whose only admin did so has no admin left. Another admin
 * may; the CLI, run by whoever holds the data directory, may too.
 */
function refuseSelf(user: User, by: AdminActor | undefined, what: string): void {
  if (by === undefined || by.userId !== user.id) return;
  throw new AdminError(
    "conflict",
    `you are logged in as ${user.address} and cannot ${what} your own account: you would lock yourself out; ask another admin, or use 'mailroom user' on the server`,
  );
}

function userExists(address: string): AdminError {
  return new AdminError(
    "exists",
    `user ${address} already exists`,
    `to change its password use 'mailroom user passwd ${address}'`,
  );
}
