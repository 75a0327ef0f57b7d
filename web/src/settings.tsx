// Settings: the vacation response (RFC 8621 §8, the one "singleton" object), the identities mail
// is sent as (§6: a name and a signature; the account's own default identity cannot be changed here, so
// a named one is added beside it), and — through the admin API's self-service part, as JMAP has no such
// objects — the account's password and its app passwords; and the filters (filters-page.tsx).

import { useEffect, useState } from "preact/hooks";
import { FiltersForm } from "./filters-page.js";
import type { AccountAnswer, AppPassword, Identity, Jmap } from "./jmap.js";
import { explain, Notices, type SetError } from "./notices.js";

interface Vacation {
  isEnabled: boolean;
  fromDate: string | null;
  toDate: string | null;
  subject: string | null;
  textBody: string | null;
}

/** The first refusal of a /set response, in words. */
function refusal(result: Record<string, unknown> | undefined): string {
  const errors = ["notCreated", "notUpdated", "notDestroyed"].flatMap((key) =>
    Object.values((result?.[key] ?? {}) as Record<string, SetError>),
  );
  const first = errors[0];
  return first ? explain(first) : "";
}

/** A UTCDate as a date field shows it, and back: the day starts at midnight UTC. */
const dayOf = (date: string | null) => (date ? date.slice(0, 10) : "");
const dateOf = (day: string) => (day ? `${day}T00:00:00Z` : null);

export function Settings({ jmap, close }: { jmap: Jmap; close: () => void }) {
  return (
    <section class="settings" aria-label="Settings">
      <div class="toolbar">
        <button type="button" onClick={close}>
          Close
        </button>
      </div>
      <h2>Settings</h2>
      <VacationForm jmap={jmap} />
      <Identities jmap={jmap} />
      <PasswordForm jmap={jmap} />
      <AppPasswords jmap={jmap} />
      <FiltersForm jmap={jmap} />
    </section>
  );
}

function VacationForm({ jmap }: { jmap: Jmap }) {
  const [vacation, setVacation] = useState<Vacation | null>(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    jmap
      .call([["VacationResponse/get", { ids: ["singleton"] }]])
      .then(([result]) => setVacation(((result?.list ?? []) as Vacation[])[0] ?? null))
      .catch((e: Error) => setError(e.message));
  }, [jmap]);
  if (!vacation) return error ? <p class="error">{error}</p> : null;
  const save = async (event: Event) => {
    event.preventDefault();
    setStatus("");
    const [result] = await jmap.call([["VacationResponse/set", { update: { singleton: vacation } }]]);
    const refused = refusal(result);
    setError(refused);
    if (!refused) setStatus("Vacation response saved");
  };
  const change = (fields: Partial<Vacation>) => setVacation({ ...vacation, ...fields });
  return (
    <form class="settings-form" onSubmit={save} aria-labelledby="vacation-heading">
      <h3 id="vacation-heading">Vacation response</h3>
      <label class="inline">
        <input
          type="checkbox"
          checked={vacation.isEnabled}
          onChange={(event) => change({ isEnabled: event.currentTarget.checked })}
        />
        Answer incoming mail automatically
      </label>
      <label>
        From (optional)
        <input
          type="date"
          value={dayOf(vacation.fromDate)}
          onInput={(event) => change({ fromDate: dateOf(event.currentTarget.value) })}
        />
      </label>
      <label>
        Until (optional)
        <input
          type="date"
          value={dayOf(vacation.toDate)}
          onInput={(event) => change({ toDate: dateOf(event.currentTarget.value) })}
        />
      </label>
      <label>
        Subject
        <input
          type="text"
          value={vacation.subject ?? ""}
          onInput={(event) => change({ subject: event.currentTarget.value || null })}
        />
      </label>
      <label>
        Reply text
        <textarea
          value={vacation.textBody ?? ""}
          onInput={(event) => change({ textBody: event.currentTarget.value || null })}
        />
      </label>
      <button type="submit">Save vacation response</button>
      <Notices error={error} status={status} />
    </form>
  );
}

function Identities({ jmap }: { jmap: Jmap }) {
  const [identities, setIdentities] = useState<Identity[]>([]);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    jmap
      .call([["Identity/get", { ids: null }]])
      .then(([result]) => setIdentities((result?.list ?? []) as Identity[]))
      .catch((e: Error) => setError(e.message));
  }, [jmap, tick]);
  const set = async (args: Record<string, unknown>) => {
    const [result] = await jmap.call([["Identity/set", args]]);
    setError(refusal(result));
    setTick((n) => n + 1);
  };
  const own = identities.find((identity) => !identity.mayDelete);
  return (
    <div class="settings-form">
      <h3>Identities</h3>
      <ul class="identities">
        {identities.map((identity) => (
          <li key={identity.id}>
            {identity.mayDelete ? (
              <IdentityForm
                identity={identity}
                save={(fields) => set({ update: { [identity.id]: fields } })}
                remove={() => set({ destroy: [identity.id] })}
              />
            ) : (
              <p>{identity.email} (the account's own address, always there)</p>
            )}
          </li>
        ))}
      </ul>
      {own && (
        <IdentityForm
          identity={{ ...own, id: "", name: "", textSignature: "" }}
          save={(fields) => set({ create: { identity: { ...fields, email: own.email } } })}
        />
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function IdentityForm({
  identity,
  save,
  remove,
}: {
  identity: Identity;
  save: (fields: { name: string; textSignature: string }) => Promise<void>;
  remove?: () => Promise<void>;
}) {
  const adding = identity.id === "";
  const [name, setName] = useState(identity.name);
  const [signature, setSignature] = useState(identity.textSignature);
  const what = adding ? "new identity" : `identity ${identity.name || identity.email}`;
  return (
    <form
      class="identity"
      aria-label={adding ? "Add an identity" : `Identity ${identity.name || identity.email}`}
      onSubmit={(event) => {
        event.preventDefault();
        save({ name, textSignature: signature }).then(() => {
          if (adding) {
            setName("");
            setSignature("");
          }
        });
      }}
    >
      <label>
        Name of the {what}
        <input type="text" value={name} onInput={(event) => setName(event.currentTarget.value)} />
      </label>
      <label>
        Signature of the {what}
        <textarea value={signature} onInput={(event) => setSignature(event.currentTarget.value)} />
      </label>
      <div class="toolbar">
        <button type="submit">{adding ? "Add identity" : "Save identity"}</button>
        {remove && (
          <button type="button" onClick={remove}>
            Delete identity
          </button>
        )}
      </div>
    </form>
  );
}

/** A failed self-service answer in words: the problem's detail, or the status. */
function failure(answer: AccountAnswer): string {
  const detail = answer.body.detail;
  return typeof detail === "string" ? detail : `the server answered ${answer.status}`;
}

function PasswordForm({ jmap }: { jmap: Jmap }) {
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const next = String(fields.get("new-password") ?? "");
    setStatus("");
    if (next !== String(fields.get("new-password-again") ?? "")) {
      setError("The two new passwords differ");
      return;
    }
    const answer = await jmap.changePassword(
      String(fields.get("current-password") ?? ""),
      next,
      fields.get("revoke") === "on",
    );
    if (answer.status === 204) {
      form.reset();
      setError("");
      setStatus("Password changed");
    } else if (answer.status === 401) {
      setError("The current password is wrong");
    } else {
      setError(failure(answer));
    }
  };
  return (
    <form class="settings-form" onSubmit={submit} aria-labelledby="password-heading">
      <h3 id="password-heading">Password</h3>
      {/* For password managers: the account these fields belong to. */}
      <input type="hidden" name="username" autocomplete="username" value={jmap.username} />
      <label>
        Current password
        <input name="current-password" type="password" autocomplete="current-password" required />
      </label>
      <label>
        New password
        <input name="new-password" type="password" autocomplete="new-password" minLength={8} required />
      </label>
      <label>
        New password again
        <input name="new-password-again" type="password" autocomplete="new-password" minLength={8} required />
      </label>
      <label class="inline">
        <input name="revoke" type="checkbox" />
        Also revoke every app password
      </label>
      <p class="hint">
        Other clients still using the old password are refused at their next login; mail apps already
        connected stay connected until they log in again. App passwords keep working unless revoked.
      </p>
      <button type="submit">Change password</button>
      <Notices error={error} status={status} />
    </form>
  );
}

function AppPasswords({ jmap }: { jmap: Jmap }) {
  const [list, setList] = useState<AppPassword[]>([]);
  const [error, setError] = useState("");
  /** The app password just made: shown this once, as the server never shows it again. */
  const [made, setMade] = useState<{ name: string; token: string } | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    jmap
      .account("GET", "/app-passwords")
      .then((answer) => {
        if (answer.status === 200) setList((answer.body.tokens ?? []) as AppPassword[]);
        else setError(failure(answer));
      })
      .catch((e: Error) => setError(e.message));
  }, [jmap, tick]);
  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = String(new FormData(form).get("name") ?? "").trim();
    const answer = await jmap.account("POST", "/app-passwords", { name });
    if (answer.status === 201) {
      form.reset();
      setError("");
      setMade({ name, token: String(answer.body.token) });
    } else {
      setError(failure(answer));
    }
    setTick((n) => n + 1);
  };
  const revoke = async (password: AppPassword) => {
    const answer = await jmap.account("DELETE", `/app-passwords/${encodeURIComponent(password.id)}`, {});
    setError(answer.status === 204 ? "" : failure(answer));
    if (made && made.name === password.name) setMade(null);
    setTick((n) => n + 1);
  };
  return (
    <div class="settings-form">
      <h3 id="app-passwords-heading">App passwords</h3>
      <p class="hint">
        One per mail app or device, used in place of your password (IMAP, POP3, SMTP, JMAP), each revoked on
        its own.
      </p>
      {list.length > 0 && (
        <ul class="app-passwords" aria-labelledby="app-passwords-heading">
          {list.map((password) => (
            <li key={password.id}>
              {password.name} · created {new Date(password.createdAt).toLocaleString()}{" "}
              <button type="button" onClick={() => revoke(password)}>
                Revoke {password.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="identity" onSubmit={create} aria-label="Create an app password">
        <label>
          Name of the new app password
          <input name="name" type="text" maxLength={100} required placeholder="phone" />
        </label>
        <button type="submit">Create app password</button>
      </form>
      {made && (
        <p class="made" role="status">
          App password for {made.name}: <code class="secret">{made.token}</code> — copy it now; it is not
          shown again.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
