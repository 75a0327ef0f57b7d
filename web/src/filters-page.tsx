// Settings, Filters: simple rules (if From, To, Subject or a header contains, is or matches a text, then
// move, mark read, flag, discard, redirect, stop), compiled to Sieve by filters.ts and kept on the server
// as one JMAP Sieve script (RFC 9661): uploaded as a blob, written and made the active script with one
// SieveScript/set. A script of that name that this editor did not write, as it stands, is shown
// read-only: it was edited elsewhere, and rewriting it here would lose that.

import { useEffect, useState } from "preact/hooks";
import { compileRules, emptyRule, parseRules, type Rule, ruleProblem, SCRIPT_NAME } from "./filters.js";
import type { Jmap } from "./jmap.js";
import { explain, Notices, type SetError } from "./notices.js";

interface Script {
  id: string;
  name: string;
  blobId: string;
  isActive: boolean;
}

type Loaded =
  | { kind: "rules"; scriptId: string | null; rules: Rule[]; otherActive: string | null }
  | { kind: "foreign"; source: string };

const SIEVE_TYPE = "application/sieve";

/** Mailbox paths as fileinto names them ("Lists/Dev"), sorted. */
function mailboxPaths(list: { id: string; name: string; parentId: string | null }[]): string[] {
  const byId = new Map(list.map((mailbox) => [mailbox.id, mailbox]));
  const path = (mailbox: { name: string; parentId: string | null }): string => {
    const parent = mailbox.parentId === null ? undefined : byId.get(mailbox.parentId);
    return parent ? `${path(parent)}/${mailbox.name}` : mailbox.name;
  };
  return list.map(path).sort();
}

async function load(jmap: Jmap): Promise<{ loaded: Loaded; mailboxes: string[] }> {
  const [scripts, boxes] = await jmap.call([
    ["SieveScript/get", { ids: null }],
    ["Mailbox/get", { ids: null, properties: ["name", "parentId"] }],
  ]);
  const list = (scripts?.list ?? []) as Script[];
  const mailboxes = mailboxPaths(
    (boxes?.list ?? []) as { id: string; name: string; parentId: string | null }[],
  );
  const ours = list.find((script) => script.name === SCRIPT_NAME);
  const active = list.find((script) => script.isActive);
  const otherActive = active && active !== ours ? active.name : null;
  if (!ours) return { loaded: { kind: "rules", scriptId: null, rules: [], otherActive }, mailboxes };
  const source = await (await jmap.download(ours.blobId, "filters.sieve", SIEVE_TYPE)).text();
  const rules = parseRules(source);
  const loaded: Loaded =
    rules === null ? { kind: "foreign", source } : { kind: "rules", scriptId: ours.id, rules, otherActive };
  return { loaded, mailboxes };
}

export function FiltersForm({ jmap }: { jmap: Jmap }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [mailboxes, setMailboxes] = useState<string[]>([]);
  const [rules, setRules] = useState<Rule[]>([]);
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    load(jmap)
      .then((result) => {
        setLoaded(result.loaded);
        setMailboxes(result.mailboxes);
        if (result.loaded.kind === "rules") setRules(result.loaded.rules);
      })
      .catch((e: Error) => setError(e.message));
  }, [jmap, tick]);
  if (!loaded) return error ? <p class="error">{error}</p> : null;
  if (loaded.kind === "foreign") {
    return (
      <div class="settings-form">
        <h3>Filters</h3>
        <p>
          The filter script "{SCRIPT_NAME}" was edited elsewhere, so it is shown here read-only. Change it
          where it was edited.
        </p>
        <pre aria-label="The filter script">{loaded.source}</pre>
      </div>
    );
  }
  const change = (index: number, fields: Partial<Rule>) =>
    setRules(rules.map((rule, at) => (at === index ? { ...rule, ...fields } : rule)));
  const save = async (event: Event) => {
    event.preventDefault();
    setStatus("");
    const problem = rules.map(ruleProblem).findIndex((each) => each !== null);
    if (problem !== -1) {
      setError(`Filter ${problem + 1}: ${ruleProblem(rules[problem] as Rule)}`);
      return;
    }
    try {
      const source = compileRules(rules);
      const { blobId } = await jmap.upload(new Blob([source], { type: SIEVE_TYPE }));
      const args =
        loaded.scriptId === null
          ? { create: { filters: { name: SCRIPT_NAME, blobId } }, onSuccessActivateScript: "#filters" }
          : { update: { [loaded.scriptId]: { blobId } }, onSuccessActivateScript: loaded.scriptId };
      const [result] = await jmap.call([["SieveScript/set", args]]);
      const refused = ["notCreated", "notUpdated"].flatMap((key) =>
        Object.values((result?.[key] ?? {}) as Record<string, SetError>),
      )[0];
      if (refused) {
        setError(explain(refused));
        return;
      }
      setError("");
      setStatus("Filters saved; they apply to new mail");
      setTick((n) => n + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <form class="settings-form" onSubmit={save} aria-labelledby="filters-heading">
      <h3 id="filters-heading">Filters</h3>
      {loaded.otherActive !== null && (
        <p>
          The script "{loaded.otherActive}" filters your mail now; saving these filters puts them in its
          place.
        </p>
      )}
      {rules.length === 0 && <p>No filters: all mail goes to the Inbox.</p>}
      {rules.map((rule, index) => (
        <RuleFields
          // Rules have no identity of their own; their place is what the user sees.
          key={index}
          index={index}
          rule={rule}
          mailboxes={mailboxes}
          change={(fields) => change(index, fields)}
          remove={() => setRules(rules.filter((_, at) => at !== index))}
        />
      ))}
      <div class="toolbar">
        <button type="button" onClick={() => setRules([...rules, emptyRule()])}>
          Add filter
        </button>
        <button type="submit">Save filters</button>
      </div>
      <Notices error={error} status={status} />
    </form>
  );
}

function RuleFields({
  index,
  rule,
  mailboxes,
  change,
  remove,
}: {
  index: number;
  rule: Rule;
  mailboxes: string[];
  change: (fields: Partial<Rule>) => void;
  remove: () => void;
}) {
  const n = index + 1;
  // Each field's name says its filter, for screen readers; the fieldset's legend says it to the eye.
  return (
    <fieldset class="rule">
      <legend>Filter {n}</legend>
      {/* A label around a select would take the options' text into its name. */}
      <label for={`filter-${n}-field`}>
        When<span class="visually-hidden">, in filter {n}</span>
      </label>
      <select
        id={`filter-${n}-field`}
        value={rule.field}
        onChange={(event) => change({ field: event.currentTarget.value as Rule["field"] })}
      >
        <option value="from">From</option>
        <option value="to">To</option>
        <option value="subject">Subject</option>
        <option value="header">the header</option>
      </select>
      {rule.field === "header" && (
        <label>
          Header name<span class="visually-hidden">, in filter {n}</span>
          <input
            type="text"
            value={rule.header}
            onInput={(event) => change({ header: event.currentTarget.value })}
          />
        </label>
      )}
      <label for={`filter-${n}-match`}>
        Match<span class="visually-hidden">, in filter {n}</span>
      </label>
      <select
        id={`filter-${n}-match`}
        value={rule.match}
        onChange={(event) => change({ match: event.currentTarget.value as Rule["match"] })}
      >
        <option value="contains">contains</option>
        <option value="is">is</option>
        <option value="matches">matches (* and ?)</option>
      </select>
      <label>
        Text<span class="visually-hidden">, in filter {n}</span>
        <input
          type="text"
          value={rule.value}
          onInput={(event) => change({ value: event.currentTarget.value })}
        />
      </label>
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.moveTo !== null}
          onChange={(event) => change({ moveTo: event.currentTarget.checked ? (mailboxes[0] ?? "") : null })}
        />
        Move to a mailbox<span class="visually-hidden">, in filter {n}</span>
      </label>
      {rule.moveTo !== null && (
        <>
          <label for={`filter-${n}-mailbox`}>
            Mailbox<span class="visually-hidden">, in filter {n}</span>
          </label>
          <select
            id={`filter-${n}-mailbox`}
            value={rule.moveTo}
            onChange={(event) => change({ moveTo: event.currentTarget.value })}
          >
            {[...new Set([...mailboxes, rule.moveTo])].map((path) => (
              <option key={path} value={path}>
                {path}
              </option>
            ))}
          </select>
        </>
      )}
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.markRead}
          onChange={(event) => change({ markRead: event.currentTarget.checked })}
        />
        Mark as read<span class="visually-hidden">, in filter {n}</span>
      </label>
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.flag}
          onChange={(event) => change({ flag: event.currentTarget.checked })}
        />
        Flag<span class="visually-hidden">, in filter {n}</span>
      </label>
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.redirectTo !== null}
          onChange={(event) => change({ redirectTo: event.currentTarget.checked ? "" : null })}
        />
        Redirect to an address<span class="visually-hidden">, in filter {n}</span>
      </label>
      {rule.redirectTo !== null && (
        <label>
          Address<span class="visually-hidden">, in filter {n}</span>
          <input
            type="email"
            value={rule.redirectTo}
            onInput={(event) => change({ redirectTo: event.currentTarget.value })}
          />
        </label>
      )}
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.discard}
          onChange={(event) => change({ discard: event.currentTarget.checked })}
        />
        Discard<span class="visually-hidden">, in filter {n}</span>
      </label>
      <label class="inline">
        <input
          type="checkbox"
          checked={rule.stop}
          onChange={(event) => change({ stop: event.currentTarget.checked })}
        />
        Stop: no later filter applies<span class="visually-hidden">, in filter {n}</span>
      </label>
      <button type="button" onClick={remove}>
        Remove filter {n}
      </button>
    </fieldset>
  );
}
