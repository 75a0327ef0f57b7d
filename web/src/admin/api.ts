// The web admin's client of /admin/api (README: Admin API), the only server interface the admin page
// uses. The credentials live in this object only; logging out drops it.

export interface DnsRecord {
  kind: string;
  name: string;
  type: string;
  value: string;
  zoneLine: string;
  note: string;
}

export interface DomainSummary {
  name: string;
  createdAt: string;
  users: number;
  aliases: number;
  dkimSelector: string | null;
}

export interface DomainRecords {
  domain: string;
  dkim: boolean;
  records: DnsRecord[];
}

export interface UserSummary {
  address: string;
  admin: boolean;
  /** Every login refused; mail to the address still delivered. */
  disabled: boolean;
  /** The display name, which the default JMAP identity sends as; null for none. */
  name: string | null;
  createdAt: string;
}

export interface AliasSummary {
  source: string;
  destination: string;
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
}

export interface TraceEvent {
  at: string;
  kind: string;
  recipient: string | null;
  text: string;
}

export interface QueueEntryDetail {
  entry: QueueListing;
  header: string;
  headerError: string | null;
  trace: {
    events: TraceEvent[];
    recipients: { address: string; state: string; detail: string }[];
  } | null;
}

export interface ServerStatus {
  version: string;
  hostname: string;
  store: string;
  startedAt: string;
  uptimeSeconds: number;
  listeners: { name: string; host: string; port: number }[];
  counts: { domains: number; users: number; aliases: number; queued: number };
  oldestQueuedAt: string | null;
  /** The node that answered: with PostgreSQL each node has its own uptime, listeners and errors. */
  node: { host: string; pid: number } | null;
  recentErrors: {
    node: string | null;
    capacity: number;
    total: number;
    dropped: number;
    /** Newest first. */
    events: RecentEvent[];
  } | null;
}

export interface RecentEvent {
  time: string;
  level: "warn" | "error" | "fatal";
  message: string;
  proto: string | null;
  /** Redacted by the server: never passwords, tokens or message content. */
  fields: Record<string, unknown>;
}

/** A refusal of the server, with its RFC 7807 detail as the message. */
export interface TokenSummary {
  id: string;
  name: string;
  createdAt: string;
}

export interface QuotaSummary {
  address: string;
  limit: number | null;
  used: number;
}

export interface Finding {
  status: "ok" | "warn" | "fail";
  check: string;
  message: string;
}

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class AdminClient {
  private constructor(private readonly auth: string) {}

  /** Checks the credentials and the admin role with the status resource. */
  static async login(username: string, password: string): Promise<AdminClient> {
    const bytes = new TextEncoder().encode(`${username}:${password}`);
    const client = new AdminClient(`Basic ${btoa(String.fromCharCode(...bytes))}`);
    try {
      await client.status();
    } catch (error) {
      if (error instanceof AdminApiError && error.status === 401)
        throw new Error("wrong address or password");
      if (error instanceof AdminApiError && error.status === 403) {
        throw new Error("this account is not an admin; an admin can grant the role");
      }
      throw error;
    }
    return client;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const changes = method !== "GET";
    const response = await fetch(`/admin/api${path}`, {
      method,
      headers: {
        Authorization: this.auth,
        // Every change is sent as JSON, which the API requires of them (README: Admin API).
        ...(changes ? { "Content-Type": "application/json" } : {}),
      },
      ...(changes ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    if (response.status === 204) return undefined as T;
    const json = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (!response.ok) {
      const detail =
        typeof json?.detail === "string" ? json.detail : `the server answered ${response.status}`;
      throw new AdminApiError(response.status, detail);
    }
    return json as T;
  }

  status = () => this.request<ServerStatus>("GET", "/status");
  domains = async () => (await this.request<{ domains: DomainSummary[] }>("GET", "/domains")).domains;
  addDomain = (name: string) => this.request<DomainRecords>("POST", "/domains", { name });
  records = (name: string) =>
    this.request<DomainRecords>("GET", `/domains/${encodeURIComponent(name)}/records`);
  removeDomain = (name: string) => this.request<void>("DELETE", `/domains/${encodeURIComponent(name)}`);
  users = async () => (await this.request<{ users: UserSummary[] }>("GET", "/users")).users;
  addUser = (address: string, password: string, admin: boolean) =>
    this.request<UserSummary>("POST", "/users", { address, password, admin });
  setPassword = (address: string, password: string) =>
    this.request<void>("PUT", `/users/${encodeURIComponent(address)}/password`, { password });
  setAdmin = (address: string, admin: boolean) =>
    this.request<UserSummary>("PUT", `/users/${encodeURIComponent(address)}/admin`, { admin });
  /** null or "" removes the name. */
  setName = (address: string, name: string | null) =>
    this.request<UserSummary>("PUT", `/users/${encodeURIComponent(address)}/name`, { name });
  setDisabled = (address: string, disabled: boolean) =>
    this.request<UserSummary>("PUT", `/users/${encodeURIComponent(address)}/disabled`, { disabled });
  removeUser = (address: string) => this.request<void>("DELETE", `/users/${encodeURIComponent(address)}`);
  tokens = async (address: string) =>
    (await this.request<{ tokens: TokenSummary[] }>("GET", `/users/${encodeURIComponent(address)}/tokens`))
      .tokens;
  createToken = (address: string, name: string) =>
    this.request<TokenSummary & { token: string }>("POST", `/users/${encodeURIComponent(address)}/tokens`, {
      name,
    });
  revokeToken = (address: string, id: string) =>
    this.request<void>("DELETE", `/users/${encodeURIComponent(address)}/tokens/${encodeURIComponent(id)}`);
  quota = (address: string) =>
    this.request<QuotaSummary>("GET", `/users/${encodeURIComponent(address)}/quota`);
  setQuota = (address: string, limit: number | null) =>
    this.request<QuotaSummary>("PUT", `/users/${encodeURIComponent(address)}/quota`, { limit });
  checkDns = async (name: string) =>
    (await this.request<{ findings: Finding[] }>("GET", `/domains/${encodeURIComponent(name)}/check`))
      .findings;
  aliases = async () => (await this.request<{ aliases: AliasSummary[] }>("GET", "/aliases")).aliases;
  addAlias = (source: string, destination: string) =>
    this.request<AliasSummary & { warning: string | null }>("POST", "/aliases", { source, destination });
  removeAlias = (source: string, destination: string) =>
    this.request<{ removed: string[] }>(
      "DELETE",
      `/aliases/${encodeURIComponent(source)}?destination=${encodeURIComponent(destination)}`,
    );
  queue = async () => (await this.request<{ entries: QueueListing[] }>("GET", "/queue")).entries;
  queueEntry = (id: string) => this.request<QueueEntryDetail>("GET", `/queue/${encodeURIComponent(id)}`);
  retry = (id: string) => this.request<{ due: number }>("POST", `/queue/${encodeURIComponent(id)}/retry`);
  removeEntry = (id: string) =>
    this.request<{ removed: QueueListing }>("DELETE", `/queue/${encodeURIComponent(id)}`);
}
