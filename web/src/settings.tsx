// Settings: the vacation response (RFC 8621 §8, the one "singleton" object) and the identities mail
// is sent as (§6: a name and a signature; the account's own default identity cannot be changed here, so
// a named one is added beside it); and the filters (filters-page.tsx).

import { useEffect, useState } from "preact/hooks";
import { FiltersForm } from "./filters-page.js";
import type { Identity, Jmap } from "./jmap.js";
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
