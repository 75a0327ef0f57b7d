import { useCallback, useEffect, useState } from "preact/hooks";
import { Notices } from "../notices.js";
import {
  AdminClient,
  type AliasSummary,
  type DomainRecords,
  type DomainSummary,
  type Finding,
  type QueueEntryDetail,
  type QueueListing,
  type QuotaSummary,
  type RecentEvent,
  type ServerStatus,
  type TokenSummary,
  type UserSummary,
} from "./api.js";

const SECTIONS = ["Status", "Domains", "Users", "Aliases", "Queue"] as const;
type Section = (typeof SECTIONS)[number];

export function AdminApp() {
  const [client, setClient] = useState<AdminClient | null>(null);
  return client ? <Admin client={client} logout={() => setClient(null)} /> : <Login onLogin={setClient} />;
}

function Login({ onLogin }: { onLogin: (client: AdminClient) => void }) {
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    try {
      onLogin(await AdminClient.login(String(form.get("username")), String(form.get("password"))));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <main>
      <form class="login" onSubmit={submit}>
        <h1>mailroom admin</h1>
        <label>
          Address
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password or app password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

/** What every section shares: the client, and a way to report the outcome of an action. */
interface SectionProps {
  client: AdminClient;
  report: (outcome: { error?: string; status?: string }) => void;
}

function Admin({ client, logout }: { client: AdminClient; logout: () => void }) {
  const [section, setSection] = useState<Section>("Status");
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  const report = useCallback((outcome: { error?: string; status?: string }) => {
    setError(outcome.error ?? "");
    setStatus(outcome.status ?? "");
  }, []);
  const props = { client, report };
  return (
    <div class="admin">
      <header class="admin-bar">
        <h1>mailroom admin</h1>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((name) => (
              <li key={name}>
                <button
                  type="button"
                  aria-current={name === section ? "page" : undefined}
                  onClick={() => {
                    report({});
                    setSection(name);
                  }}
                >
                  {name}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="link" onClick={logout}>
          Log out
        </button>
      </header>
      <main>
        <h2>{section}</h2>
        <Notices error={error} status={status} />
        {section === "Status" && <StatusSection {...props} />}
        {section === "Domains" && <DomainsSection {...props} />}
        {section === "Users" && <UsersSection {...props} />}
        {section === "Aliases" && <AliasesSection {...props} />}
        {section === "Queue" && <QueueSection {...props} />}
      </main>
    </div>
  );
}

/** Loads a list and reloads it after each action; a failed load is reported like a refused action. */
function useList<T>(load: () => Promise<T[]>, report: SectionProps["report"]) {
  const [items, setItems] = useState<T[] | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stale = false;
    load()
      .then((list) => !stale && setItems(list))
      .catch((e: Error) => !stale && report({ error: e.message }));
    return () => {
      stale = true;
    };
  }, [load, report, tick]);
  return { items, reload: () => setTick((n) => n + 1) };
}

/** Runs an action and reports it; resolves to whether it succeeded. */
async function act(report: SectionProps["report"], action: () => Promise<unknown>, done: string) {
  try {
    await action();
    report({ status: done });
    return true;
  } catch (e) {
    report({ error: (e as Error).message });
    return false;
  }
}

const formValues = (event: Event): FormData => {
  event.preventDefault();
  return new FormData(event.currentTarget as HTMLFormElement);
};

function duration(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return days > 0
    ? `${days} d ${hours} h`
    : hours > 0
      ? `${hours} h ${minutes} min`
      : `${minutes} min ${seconds % 60} s`;
}

function StatusSection({ client, report }: SectionProps) {
  const [status, setStatus] = useState<ServerStatus | null>(null);
  useEffect(() => {
    client
      .status()
      .then(setStatus)
      .catch((e: Error) => report({ error: e.message }));
  }, [client, report]);
  if (!status) return <p>Loading…</p>;
  return (
    <>
      <dl class="facts">
        <dt>Version</dt>
        <dd>{status.version}</dd>
        <dt>Hostname</dt>
        <dd>{status.hostname}</dd>
        <dt>Store</dt>
        <dd>{status.store}</dd>
        <dt>Up for</dt>
        <dd>
          {duration(status.uptimeSeconds)} (since {new Date(status.startedAt).toLocaleString()})
        </dd>
        <dt>Domains, users, aliases</dt>
        <dd>
          {status.counts.domains}, {status.counts.users}, {status.counts.aliases}
        </dd>
        <dt>Queued</dt>
        <dd>
          {status.counts.queued}
          {status.oldestQueuedAt && `, the oldest since ${new Date(status.oldestQueuedAt).toLocaleString()}`}
        </dd>
        {status.node && (
          <>
            <dt>Node</dt>
            <dd>
              {status.node.host} (pid {status.node.pid})
            </dd>
          </>
        )}
      </dl>
      <h3>Listeners</h3>
      <table class="listeners">
        <thead>
          <tr>
            <th scope="col">Listener</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {status.listeners.map((listener) => (
            <tr key={listener.name}>
              <td>{listener.name}</td>
              <td>
                {listener.host}:{listener.port}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <RecentErrors recent={status.recentErrors} />
    </>
  );
}

/** A field's value as the server gave it; an error shows its message. */
function fieldText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && "message" in value) return String(value.message);
  return JSON.stringify(value);
}

function RecentErrors({ recent }: { recent: ServerStatus["recentErrors"] }) {
  if (recent === null) {
    return (
      <>
        <h3>Recent errors</h3>
        <p>This server keeps no recent errors (its logger was made by the program embedding it).</p>
      </>
    );
  }
  const where = recent.node ? ` on ${recent.node}` : "";
  return (
    <>
      <h3>Recent errors</h3>
      <p>
        Warnings and errors{where} since it started, newest first: the last {recent.capacity} are kept
        {recent.dropped > 0 ? `, ${recent.dropped} older ones were dropped` : ""}. Each node of a shared
        database keeps its own.
      </p>
      {recent.events.length === 0 ? (
        <p>None since the start.</p>
      ) : (
        <table class="recent-errors">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Level</th>
              <th scope="col">Event</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {recent.events.map((event: RecentEvent, index) => (
              <tr key={`${event.time} ${index}`} data-level={event.level}>
                <td>{new Date(event.time).toLocaleString()}</td>
                <td>
                  <strong>{event.level}</strong>
                </td>
                <td>
                  {event.proto && <span class="proto">{event.proto}</span>} {event.message}
                </td>
                <td>
                  <dl class="fields">
                    {Object.entries(event.fields).map(([key, value]) => (
                      <div key={key}>
                        <dt>{key}</dt>
                        <dd>{fieldText(value)}</dd>
                      </div>
                    ))}
                  </dl>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function DomainsSection({ client, report }: SectionProps) {
  const load = useCallback(() => client.domains(), [client]);
  const { items, reload } = useList<DomainSummary>(load, report);
  const [shown, setShown] = useState<DomainRecords | null>(null);
  const [checked, setChecked] = useState<{ domain: string; findings: Finding[] } | null>(null);
  const check = async (name: string) => {
    report({ status: `checking the DNS of ${name}…` });
    try {
      setChecked({ domain: name, findings: await client.checkDns(name) });
      report({ status: `checked the DNS of ${name}` });
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const add = async (event: Event) => {
    const form = event.currentTarget as HTMLFormElement;
    const name = String(formValues(event).get("name"));
    try {
      const records = await client.addDomain(name);
      report({ status: `added ${records.domain}; publish the records below` });
      setShown(records);
      form.reset();
      reload();
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const show = async (name: string) => {
    try {
      setShown(await client.records(name));
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const remove = async (name: string) => {
    if (await act(report, () => client.removeDomain(name), `removed ${name}`)) {
      if (shown?.domain === name) setShown(null);
      reload();
    }
  };
  return (
    <>
      <form class="row" onSubmit={add}>
        <label>
          New domain <input name="name" required placeholder="example.org" />
        </label>
        <button type="submit">Add domain</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Domain</th>
            <th scope="col">Users</th>
            <th scope="col">Aliases</th>
            <th scope="col">DKIM selector</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((domain) => (
            <tr key={domain.name} data-domain={domain.name}>
              <td>{domain.name}</td>
              <td>{domain.users}</td>
              <td>{domain.aliases}</td>
              <td>{domain.dkimSelector ?? "none"}</td>
              <td class="actions">
                <button
                  type="button"
                  onClick={() => show(domain.name)}
                  aria-label={`Records of ${domain.name}`}
                >
                  Records
                </button>
                <button
                  type="button"
                  onClick={() => check(domain.name)}
                  aria-label={`Check DNS of ${domain.name}`}
                >
                  Check DNS
                </button>
                <button
                  type="button"
                  onClick={() => remove(domain.name)}
                  aria-label={`Remove ${domain.name}`}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items?.length === 0 && <p>No domains yet.</p>}
      {shown && <Records shown={shown} report={report} />}
      {checked && (
        <section class="findings" aria-label={`DNS check of ${checked.domain}`}>
          <h3>Live DNS of {checked.domain}</h3>
          <ul>
            {checked.findings.map((finding) => (
              <li key={finding.check} data-status={finding.status}>
                <strong>{finding.status}</strong> {finding.check}: {finding.message}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function Records({ shown, report }: { shown: DomainRecords; report: SectionProps["report"] }) {
  const copy = (text: string, what: string) =>
    act(report, () => navigator.clipboard.writeText(text), `copied the ${what} record`);
  return (
    <section class="records" aria-label={`DNS records of ${shown.domain}`}>
      <h3>DNS records of {shown.domain}</h3>
      {!shown.dkim && (
        <p>This domain has no DKIM key; create one with mailroom dkim rotate {shown.domain}.</p>
      )}
      <ul>
        {shown.records.map((record) => (
          <li key={`${record.kind} ${record.name}`} data-kind={record.kind}>
            <p>
              <strong>{record.kind}</strong> {record.note}
            </p>
            <div class="record">
              <code>{record.zoneLine}</code>
              <button
                type="button"
                onClick={() => copy(record.zoneLine, record.kind)}
                aria-label={`Copy the ${record.kind} record`}
              >
                Copy
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function UsersSection({ client, report }: SectionProps) {
  const load = useCallback(() => client.users(), [client]);
  const { items, reload } = useList<UserSummary>(load, report);
  const add = async (event: Event) => {
    const form = event.currentTarget as HTMLFormElement;
    const values = formValues(event);
    const address = String(values.get("address"));
    const added = await act(
      report,
      () => client.addUser(address, String(values.get("password")), values.get("admin") === "on"),
      `added ${address}`,
    );
    if (added) {
      form.reset();
      reload();
    }
  };
  const resetPassword = async (event: Event, address: string) => {
    const form = event.currentTarget as HTMLFormElement;
    const password = String(formValues(event).get("password"));
    if (
      await act(report, () => client.setPassword(address, password), `changed the password of ${address}`)
    ) {
      form.reset();
    }
  };
  const saveName = async (event: Event, address: string) => {
    const name = String(formValues(event).get("name") ?? "").trim();
    const done = name === "" ? `${address} has no display name now` : `${address} is now "${name}"`;
    if (await act(report, () => client.setName(address, name === "" ? null : name), done)) reload();
  };
  const [details, setDetails] = useState<string | null>(null);
  const toggleAdmin = async (user: UserSummary) => {
    const done = user.admin ? `${user.address} is no longer an admin` : `${user.address} is now an admin`;
    if (await act(report, () => client.setAdmin(user.address, !user.admin), done)) reload();
  };
  const toggleDisabled = async (user: UserSummary) => {
    const done = user.disabled
      ? `enabled ${user.address}: it may log in again`
      : `disabled ${user.address}: every login is refused; mail to it is still delivered`;
    if (await act(report, () => client.setDisabled(user.address, !user.disabled), done)) reload();
  };
  const remove = async (address: string) => {
    // The only action here that destroys mail: asked once more.
    if (!window.confirm(`Remove ${address} with all of its mailboxes and mail?`)) return;
    if (await act(report, () => client.removeUser(address), `removed ${address} and all of its mail`))
      reload();
  };
  return (
    <>
      <form class="row" onSubmit={add}>
        <label>
          Address <input name="address" required placeholder="alice@example.org" />
        </label>
        <label>
          Password{" "}
          <input name="password" type="password" autocomplete="new-password" required minLength={8} />
        </label>
        <label class="inline">
          <input name="admin" type="checkbox" /> Admin
        </label>
        <button type="submit">Add user</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Admin</th>
            <th scope="col">Logins</th>
            <th scope="col">Display name</th>
            <th scope="col">New password</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((user) => (
            <tr key={user.address} data-user={user.address}>
              <td>{user.address}</td>
              <td>{user.admin ? "yes" : "no"}</td>
              <td>{user.disabled ? "disabled" : "allowed"}</td>
              <td>
                <form class="row" onSubmit={(event) => saveName(event, user.address)}>
                  <input
                    name="name"
                    placeholder="none"
                    defaultValue={user.name ?? ""}
                    // A new field when the saved name changes, so the field shows what was saved.
                    key={user.name ?? ""}
                    aria-label={`Display name of ${user.address}`}
                  />
                  <button type="submit" aria-label={`Save the display name of ${user.address}`}>
                    Save
                  </button>
                </form>
              </td>
              <td>
                <form class="row" onSubmit={(event) => resetPassword(event, user.address)}>
                  <input
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    required
                    minLength={8}
                    aria-label={`New password for ${user.address}`}
                  />
                  <button type="submit" aria-label={`Reset the password of ${user.address}`}>
                    Reset
                  </button>
                </form>
              </td>
              <td class="actions">
                <button
                  type="button"
                  onClick={() => toggleAdmin(user)}
                  aria-label={`${user.admin ? "Revoke admin" : "Make admin"} for ${user.address}`}
                >
                  {user.admin ? "Revoke admin" : "Make admin"}
                </button>
                <button
                  type="button"
                  onClick={() => toggleDisabled(user)}
                  aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.address}`}
                >
                  {user.disabled ? "Enable" : "Disable"}
                </button>
                <button
                  type="button"
                  onClick={() => setDetails(user.address)}
                  aria-label={`Quota and app passwords of ${user.address}`}
                >
                  Quota and app passwords
                </button>
                <button
                  type="button"
                  onClick={() => remove(user.address)}
                  aria-label={`Remove ${user.address}`}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items?.length === 0 && <p>No users yet.</p>}
      {details && <UserDetails key={details} client={client} report={report} address={details} />}
    </>
  );
}

const MIB = 1024 * 1024;

/** One user's storage quota and app passwords (tokens); a new token is shown once, here. */
function UserDetails({ client, report, address }: SectionProps & { address: string }) {
  const [quota, setQuota] = useState<QuotaSummary | null>(null);
  const [tokens, setTokens] = useState<TokenSummary[]>([]);
  const [made, setMade] = useState<string | null>(null);
  const reload = useCallback(() => {
    client.quota(address).then(setQuota, (e: Error) => report({ error: e.message }));
    client.tokens(address).then(setTokens, (e: Error) => report({ error: e.message }));
  }, [client, address, report]);
  useEffect(reload, [reload]);
  const saveQuota = async (event: Event) => {
    const text = String(formValues(event).get("limit") ?? "").trim();
    const limit = text === "" ? null : Math.round(Number(text) * MIB);
    if (limit !== null && !(limit > 0))
      return report({ error: "a quota is a number of MiB above 0, or empty for none" });
    const saved = await act(
      report,
      () => client.setQuota(address, limit),
      limit === null ? `${address} has no quota now` : `${address} may use ${text} MiB`,
    );
    if (saved) reload();
  };
  const create = async (event: Event) => {
    const form = event.currentTarget as HTMLFormElement;
    const name = String(formValues(event).get("name") ?? "");
    try {
      const token = await client.createToken(address, name);
      setMade(token.token);
      report({ status: `created the app password "${token.name}"; copy it now, it is not shown again` });
      form.reset();
      reload();
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const revoke = async (token: TokenSummary) => {
    if (await act(report, () => client.revokeToken(address, token.id), `revoked "${token.name}"`)) reload();
  };
  return (
    <section class="user-details" aria-label={`Quota and app passwords of ${address}`}>
      <h3>{address}</h3>
      <form class="row" onSubmit={saveQuota}>
        <label>
          Quota in MiB{" "}
          <input
            name="limit"
            inputMode="decimal"
            placeholder="none"
            defaultValue={quota?.limit ? String(quota.limit / MIB) : ""}
            key={quota?.limit ?? "none"}
          />
        </label>
        <button type="submit">Save quota</button>
        {quota && (
          <span class="usage">
            {(quota.used / MIB).toFixed(1)} MiB in use
            {quota.limit ? ` of ${(quota.limit / MIB).toFixed(1)}` : ""}
          </span>
        )}
      </form>
      <h4>App passwords</h4>
      <ul class="tokens">
        {tokens.map((token) => (
          <li key={token.id} data-token={token.id}>
            {token.name} <small>({new Date(token.createdAt).toLocaleString()})</small>{" "}
            <button type="button" onClick={() => revoke(token)} aria-label={`Revoke ${token.name}`}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
      {tokens.length === 0 && <p>No app passwords.</p>}
      <form class="row" onSubmit={create}>
        <label>
          New app password for <input name="name" required placeholder="phone" />
        </label>
        <button type="submit">Create</button>
      </form>
      {made && (
        <p class="secret">
          New app password (shown once): <code data-secret>{made}</code>
        </p>
      )}
    </section>
  );
}

function AliasesSection({ client, report }: SectionProps) {
  const load = useCallback(() => client.aliases(), [client]);
  const { items, reload } = useList<AliasSummary>(load, report);
  const add = async (event: Event) => {
    const form = event.currentTarget as HTMLFormElement;
    const values = formValues(event);
    try {
      const added = await client.addAlias(String(values.get("source")), String(values.get("destination")));
      const done = `added ${added.source} → ${added.destination}`;
      report({ status: added.warning ? `${done}; but ${added.warning}` : done });
      form.reset();
      reload();
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const remove = async (alias: AliasSummary) => {
    const done = `removed ${alias.source} → ${alias.destination}`;
    if (await act(report, () => client.removeAlias(alias.source, alias.destination), done)) reload();
  };
  return (
    <>
      <p>
        A source of the form @example.org is the domain's catch-all: it takes mail for addresses there that
        match no user or alias.
      </p>
      <form class="row" onSubmit={add}>
        <label>
          Source <input name="source" required placeholder="sales@example.org or @example.org" />
        </label>
        <label>
          Destination <input name="destination" required placeholder="alice@example.org" />
        </label>
        <button type="submit">Add alias</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Destination</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((alias) => (
            <tr key={`${alias.source} ${alias.destination}`} data-alias={alias.source}>
              <td>
                {alias.source}
                {alias.catchAll && " (catch-all)"}
              </td>
              <td>{alias.destination}</td>
              <td class="actions">
                <button
                  type="button"
                  onClick={() => remove(alias)}
                  aria-label={`Remove ${alias.source} to ${alias.destination}`}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items?.length === 0 && <p>No aliases yet.</p>}
    </>
  );
}

function QueueSection({ client, report }: SectionProps) {
  const load = useCallback(() => client.queue(), [client]);
  const { items, reload } = useList<QueueListing>(load, report);
  const [open, setOpen] = useState<QueueEntryDetail | null>(null);
  const show = async (id: string) => {
    try {
      setOpen(await client.queueEntry(id));
    } catch (e) {
      report({ error: (e as Error).message });
    }
  };
  const retry = async (id: string) => {
    if (await act(report, () => client.retry(id), `entry ${id} is due now`)) reload();
  };
  const remove = async (id: string) => {
    if (await act(report, () => client.removeEntry(id), `removed entry ${id}; the sender is not notified`)) {
      if (open?.entry.id === id) setOpen(null);
      reload();
    }
  };
  return (
    <>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <table>
        <thead>
          <tr>
            <th scope="col">Sender</th>
            <th scope="col">Recipient</th>
            <th scope="col">Attempts</th>
            <th scope="col">Next try</th>
            <th scope="col">Last error</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((entry) => (
            <tr key={entry.id} data-entry={entry.id}>
              <td>{entry.sender === "" ? "<>" : entry.sender}</td>
              <td>{entry.recipient}</td>
              <td>{entry.attempts}</td>
              <td>
                {entry.state === "delivering" ? "delivering" : new Date(entry.nextAttemptAt).toLocaleString()}
              </td>
              <td>{entry.lastError ?? ""}</td>
              <td class="actions">
                <button type="button" onClick={() => show(entry.id)} aria-label={`Show entry ${entry.id}`}>
                  Show
                </button>
                <button type="button" onClick={() => retry(entry.id)} aria-label={`Retry entry ${entry.id}`}>
                  Retry
                </button>
                <button
                  type="button"
                  onClick={() => remove(entry.id)}
                  aria-label={`Delete entry ${entry.id}`}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items?.length === 0 && <p>The queue is empty.</p>}
      {open && (
        <section class="entry" aria-label={`Queue entry ${open.entry.id}`}>
          <h3>Entry {open.entry.id}</h3>
          <h4>Delivery trace</h4>
          {open.trace === null ? (
            <p>No trace is kept for this message (pruned, or from before traces).</p>
          ) : (
            <ol class="trace">
              {open.trace.events.map((event, i) => (
                <li key={i}>
                  <time dateTime={event.at}>{new Date(event.at).toLocaleString()}</time>{" "}
                  <span class="kind">{event.kind}</span> {event.text}
                </li>
              ))}
            </ol>
          )}
          <h4>Header</h4>
          {open.headerError && <p class="error">{open.headerError}</p>}
          <pre>{open.header}</pre>
        </section>
      )}
    </>
  );
}
