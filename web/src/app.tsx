import { useCallback, useEffect, useState } from "preact/hooks";
import { Compose } from "./compose.js";
import {
  type Draft,
  forwardAsAttachmentDraft,
  forwardDraft,
  newDraft,
  replyDraft,
  resumedDraft,
} from "./draft.js";
import {
  type Address,
  type EmailFull,
  type EmailSummary,
  type Identity,
  Jmap,
  type Mailbox,
} from "./jmap.js";
import { sanitizedHtml, textDocument } from "./message.js";
import { searchFilter } from "./search.js";
import { Settings } from "./settings.js";
import { useShortcuts } from "./shortcuts.js";

const PAGE = 50;
const SUMMARY = [
  ...["id", "blobId", "threadId", "from", "subject", "preview", "receivedAt", "keywords", "mailboxIds"],
];
/** Where the list's "Conversations" choice is kept between visits (a preference, no secret). */
const THREADS_KEY = "mailroom.conversations";
const FULL = [
  ...SUMMARY,
  ...["to", "cc", "bcc", "replyTo", "sentAt", "messageId", "inReplyTo", "references"],
  ...["htmlBody", "textBody", "attachments", "bodyValues", "size"],
];

/** What the right-hand pane shows besides a message: a message being written, or the settings. */
type Pane = { kind: "compose"; draft: Draft; draftId: string | null; key: number } | { kind: "settings" };

export function App() {
  const [jmap, setJmap] = useState<Jmap | null>(null);
  return jmap ? <Mail jmap={jmap} logout={() => setJmap(null)} /> : <Login onLogin={setJmap} />;
}

function Login({ onLogin }: { onLogin: (jmap: Jmap) => void }) {
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    try {
      onLogin(await Jmap.login(String(form.get("username")), String(form.get("password"))));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <main>
      <form class="login" onSubmit={submit}>
        <h1>mailroom</h1>
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

function Mail({ jmap, logout }: { jmap: Jmap; logout: () => void }) {
  const [mailboxes, setMailboxes] = useState<Mailbox[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  /** While set, the list shows this search over all mailboxes instead of the selected mailbox. */
  const [search, setSearch] = useState("");
  const [emails, setEmails] = useState<EmailSummary[]>([]);
  /** Conversations (RFC 8621 §4.4.3 collapseThreads): one row per thread, its newest message. */
  const [threads, setThreads] = useState(() => localStorage.getItem(THREADS_KEY) === "on");
  /** Messages per thread of the listed rows, while conversations are shown. */
  const [threadSizes, setThreadSizes] = useState<Record<string, number>>({});
  const [total, setTotal] = useState(0);
  const [limit, setLimit] = useState(PAGE);
  const [open, setOpen] = useState<EmailFull | null>(null);
  /** The message the keyboard is on: j/k move it, Enter opens it, e and # act on it. */
  const [cursor, setCursor] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [pane, setPane] = useState<Pane | null>(null);
  const [identities, setIdentities] = useState<Identity[]>([]);
  /** The open message's thread, oldest first, when it has more than this one message. */
  const [conversation, setConversation] = useState<EmailSummary[]>([]);

  useEffect(() => jmap.push(() => setTick((n) => n + 1)), [jmap]);

  useEffect(() => {
    if (pane !== null) return;
    jmap
      .call([["Identity/get", { ids: null }]])
      .then(([result]) => setIdentities((result?.list ?? []) as Identity[]))
      .catch(() => {});
  }, [jmap, pane]);

  const compose = (draft: Draft, draftId: string | null = null) => {
    setOpen(null);
    setPane({ kind: "compose", draft, draftId, key: Date.now() });
  };

  // Each read below is dropped if a newer one has started: answers may come back out of order, and an
  // older one (a push arriving just before a new search, say) must not overwrite a newer.
  useEffect(() => {
    let stale = false;
    jmap
      .call([["Mailbox/get", { ids: null }]])
      .then(([result]) => {
        if (stale) return;
        const list = ((result?.list ?? []) as Mailbox[]).sort(
          (a, b) => a.sortOrder - b.sortOrder || a.name.localeCompare(b.name),
        );
        setMailboxes(list);
        setSelected((current) => current ?? list.find((m) => m.role === "inbox")?.id ?? list[0]?.id ?? null);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [jmap, tick]);

  useEffect(() => {
    const filter = search ? searchFilter(search) : selected && { inMailbox: selected };
    if (!filter) return;
    let stale = false;
    jmap
      .call([
        [
          "Email/query",
          {
            filter,
            sort: [{ property: "receivedAt", isAscending: false }],
            limit,
            calculateTotal: true,
            collapseThreads: threads,
          },
        ],
        ["Email/get", { "#ids": { resultOf: "0", name: "Email/query", path: "/ids" }, properties: SUMMARY }],
        ["Thread/get", { "#ids": { resultOf: "1", name: "Email/get", path: "/list/*/threadId" } }],
      ])
      .then(([query, get, thread]) => {
        if (stale) return;
        setTotal(Number(query?.total ?? 0));
        setEmails((get?.list ?? []) as EmailSummary[]);
        const sizes: Record<string, number> = {};
        for (const each of (thread?.list ?? []) as Array<{ id: string; emailIds: string[] }>) {
          sizes[each.id] = each.emailIds.length;
        }
        setThreadSizes(sizes);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [jmap, selected, search, limit, tick, threads]);

  const setKeyword = useCallback(
    async (id: string, keyword: string, on: boolean) => {
      await jmap.call([["Email/set", { update: { [id]: { [`keywords/${keyword}`]: on ? true : null } } }]]);
      setOpen((current) =>
        current && current.id === id
          ? { ...current, keywords: { ...current.keywords, [keyword]: on } }
          : current,
      );
      setTick((n) => n + 1);
    },
    [jmap],
  );

  const trash = mailboxes.find((mailbox) => mailbox.role === "trash");

  /** maxMailboxesPerEmail is 1 here, so a move replaces the whole set. */
  const move = useCallback(
    async (id: string, mailboxId: string) => {
      await jmap.call([["Email/set", { update: { [id]: { mailboxIds: { [mailboxId]: true } } } }]]);
      setOpen(null);
      setTick((n) => n + 1);
    },
    [jmap],
  );

  /** Delete moves to Trash; in Trash (or with no Trash) it destroys for good. */
  const remove = useCallback(
    async (email: EmailSummary) => {
      if (trash && !email.mailboxIds[trash.id]) return move(email.id, trash.id);
      await jmap.call([["Email/set", { destroy: [email.id] }]]);
      setOpen(null);
      setTick((n) => n + 1);
    },
    [jmap, trash, move],
  );

  const show = async (id: string) => {
    const [result] = await jmap.call([
      [
        "Email/get",
        {
          ids: [id],
          properties: FULL,
          fetchHTMLBodyValues: true,
          fetchTextBodyValues: true,
        },
      ],
    ]);
    const email = ((result?.list ?? []) as EmailFull[])[0];
    if (!email) return;
    setCursor(id);
    if (email.keywords.$draft) {
      compose(resumedDraft(email, identities), email.id);
      return;
    }
    setPane(null);
    setOpen(email);
    if (!email.keywords.$seen) await setKeyword(id, "$seen", true);
  };

  const openThread = open?.threadId;
  useEffect(() => {
    if (!openThread) return setConversation([]);
    let stale = false;
    jmap
      .call([
        ["Thread/get", { ids: [openThread] }],
        [
          "Email/get",
          { "#ids": { resultOf: "0", name: "Thread/get", path: "/list/*/emailIds" }, properties: SUMMARY },
        ],
      ])
      .then(([, get]) => {
        if (!stale) setConversation((get?.list ?? []) as EmailSummary[]);
      })
      .catch(() => {});
    return () => {
      stale = true;
    };
  }, [jmap, openThread, tick]);

  const archive = mailboxes.find((mailbox) => mailbox.role === "archive");
  const current = emails.findIndex((email) => email.id === cursor);
  const step = (by: number) => {
    const next = emails[current === -1 ? 0 : Math.min(Math.max(current + by, 0), emails.length - 1)];
    if (next) setCursor(next.id);
  };
  /** Acts on the message under the cursor, then moves the cursor on to the one below (or above). */
  const thenNext = (act: (email: EmailSummary) => void) => {
    const email = emails[current];
    if (!email) return;
    setCursor((emails[current + 1] ?? emails[current - 1])?.id ?? null);
    act(email);
  };
  useShortcuts({
    next: () => step(1),
    previous: () => step(-1),
    open: () => cursor && show(cursor),
    archive: () =>
      thenNext((email) => archive && !email.mailboxIds[archive.id] && move(email.id, archive.id)),
    remove: () => thenNext((email) => remove(email)),
  });
  useEffect(() => {
    if (cursor)
      document.querySelector<HTMLElement>(`.list li[data-id="${CSS.escape(cursor)}"] button`)?.focus();
  }, [cursor]);

  return (
    <main class={`layout${open || pane ? " pane-open" : ""}`}>
      <h1 class="visually-hidden">mailroom</h1>
      <nav aria-label="Mailboxes">
        <div class="toolbar">
          <button type="button" onClick={() => compose(newDraft(identities[0]))}>
            New message
          </button>
          <button type="button" onClick={() => setPane({ kind: "settings" })}>
            Settings
          </button>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </div>
        <ul>
          {mailboxes.map((mailbox) => (
            <li
              key={mailbox.id}
              class={mailbox.id === selected && !search ? "selected" : ""}
              data-role={mailbox.role ?? ""}
            >
              <button
                type="button"
                class="row"
                onClick={() => {
                  setSelected(mailbox.id);
                  setSearch("");
                  setLimit(PAGE);
                  setOpen(null);
                  setPane(null);
                }}
              >
                {mailbox.name}
                {mailbox.role && <span class="role">{mailbox.role}</span>}
                {mailbox.unreadEmails > 0 && <span class="count">{mailbox.unreadEmails}</span>}
              </button>
            </li>
          ))}
        </ul>
        <MailboxForms
          jmap={jmap}
          selected={mailboxes.find((mailbox) => mailbox.id === selected && !search)}
          changed={() => setTick((n) => n + 1)}
        />
      </nav>
      <section class="list" aria-label="Messages">
        <search>
          <form
            class="toolbar"
            onSubmit={(event) => {
              event.preventDefault();
              const query = new FormData(event.currentTarget).get("q");
              setSearch(String(query ?? "").trim());
              setLimit(PAGE);
              setOpen(null);
            }}
          >
            <input
              name="q"
              type="search"
              aria-label="Search mail"
              placeholder="from: to: subject: is:unread has:attachment before: after:"
            />
          </form>
        </search>
        <label class="conversations">
          <input
            type="checkbox"
            checked={threads}
            onChange={(event) => {
              const on = event.currentTarget.checked;
              localStorage.setItem(THREADS_KEY, on ? "on" : "off");
              setThreads(on);
              setLimit(PAGE);
            }}
          />{" "}
          Conversations
        </label>
        {search && (
          <p class="status" aria-live="polite">
            {total} found in all mailboxes
          </p>
        )}
        <ul>
          {emails.map((email) => (
            <li
              key={email.id}
              data-id={email.id}
              class={[
                email.keywords.$seen ? "" : "unread",
                open?.id === email.id ? "selected" : "",
                cursor === email.id ? "cursor" : "",
              ].join(" ")}
            >
              <button type="button" class="row" onClick={() => show(email.id)}>
                <div class="from">
                  {email.keywords.$flagged && <span class="flagged">★ </span>}
                  {sender(email)}
                  <span class="date"> · {new Date(email.receivedAt).toLocaleString()}</span>
                </div>
                <div class="subject">
                  {email.subject ?? "(no subject)"}
                  {threads && (threadSizes[email.threadId] ?? 1) > 1 && (
                    <span class="count" aria-label={`${threadSizes[email.threadId]} messages`}>
                      {" "}
                      {threadSizes[email.threadId]}
                    </span>
                  )}
                </div>
                <div class="preview">{email.preview}</div>
              </button>
            </li>
          ))}
        </ul>
        {emails.length < total && (
          <button type="button" onClick={() => setLimit((n) => n + PAGE)}>
            More
          </button>
        )}
      </section>
      {pane?.kind === "compose" ? (
        <Compose
          key={pane.key}
          jmap={jmap}
          mailboxes={mailboxes}
          identities={identities}
          initial={pane.draft}
          draftId={pane.draftId}
          close={() => {
            setPane(null);
            setTick((n) => n + 1);
          }}
        />
      ) : pane?.kind === "settings" ? (
        <Settings jmap={jmap} close={() => setPane(null)} />
      ) : open ? (
        <Reader
          key={open.id}
          jmap={jmap}
          email={open}
          mailboxes={mailboxes}
          actions={{ setKeyword, move, remove }}
          inTrash={trash !== undefined && Boolean(open.mailboxIds[trash.id])}
          reply={(all) => compose(replyDraft(open, identityFor(open, identities), all))}
          forward={(attached) =>
            compose((attached ? forwardAsAttachmentDraft : forwardDraft)(open, identityFor(open, identities)))
          }
          conversation={conversation}
          openOther={show}
          close={() => setOpen(null)}
        />
      ) : (
        <section />
      )}
    </main>
  );
}

/** Creating a mailbox at the top level, and deleting the selected one when it is empty and no role's. */
function MailboxForms({
  jmap,
  selected,
  changed,
}: {
  jmap: Jmap;
  selected: Mailbox | undefined;
  changed: () => void;
}) {
  const [error, setError] = useState("");
  const set = async (args: Record<string, unknown>) => {
    const [result] = await jmap.call([["Mailbox/set", args]]);
    const refused = Object.values({ ...(result?.notCreated ?? {}), ...(result?.notDestroyed ?? {}) })[0] as
      | { type: string; description?: string }
      | undefined;
    setError(refused ? (refused.description ?? refused.type) : "");
    changed();
  };
  return (
    <div class="mailbox-forms">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget;
          const name = String(new FormData(form).get("name") ?? "").trim();
          if (name) set({ create: { new: { name, parentId: null } } }).then(() => form.reset());
        }}
      >
        <input name="name" aria-label="New mailbox name" placeholder="New mailbox" required />
        <button type="submit">Create</button>
      </form>
      {selected && !selected.role && (
        <button type="button" onClick={() => set({ destroy: [selected.id], onDestroyRemoveEmails: false })}>
          Delete mailbox {selected.name}
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The identity a reply goes out as: the one the message was sent to, else the first. */
function identityFor(email: EmailFull, identities: Identity[]): Identity | undefined {
  const to = [...(email.to ?? []), ...(email.cc ?? [])].map((address) => address.email.toLowerCase());
  return identities.find((identity) => to.includes(identity.email.toLowerCase())) ?? identities[0];
}

function addresses(list: Address[] | null): string {
  return (list ?? [])
    .map((address) => (address.name ? `${address.name} <${address.email}>` : address.email))
    .join(", ");
}

function sender(email: EmailSummary): string {
  const from = email.from?.[0];
  return from ? from.name || from.email : "(unknown sender)";
}

interface Actions {
  setKeyword: (id: string, keyword: string, on: boolean) => Promise<void>;
  move: (id: string, mailboxId: string) => Promise<void>;
  remove: (email: EmailSummary) => Promise<void>;
}

function Reader({
  jmap,
  email,
  mailboxes,
  actions,
  inTrash,
  reply,
  forward,
  conversation,
  openOther,
  close,
}: {
  jmap: Jmap;
  email: EmailFull;
  mailboxes: Mailbox[];
  actions: Actions;
  inTrash: boolean;
  reply: (all: boolean) => void;
  /** Inline below a summary, or (attached) the whole message as message/rfc822. */
  forward: (attached: boolean) => void;
  conversation: EmailSummary[];
  openOther: (id: string) => void;
  close: () => void;
}) {
  const { setKeyword, move, remove } = actions;
  const archive = mailboxes.find((mailbox) => mailbox.role === "archive");
  const current = Object.keys(email.mailboxIds);
  const [plain, setPlain] = useState(false);
  const html = email.htmlBody.find((part) => part.type === "text/html");
  const doc =
    html?.partId && !plain
      ? sanitizedHtml(email.bodyValues[html.partId]?.value ?? "")
      : textDocument(
          email.textBody.map((part) => email.bodyValues[part.partId ?? ""]?.value ?? "").join("\n"),
        );
  const flagged = Boolean(email.keywords.$flagged);
  const save = async (blobId: string | null, name: string, type: string) => {
    if (!blobId) return;
    const url = URL.createObjectURL(await jmap.download(blobId, name, type));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section class="reader" aria-label="Message">
      <div class="toolbar">
        <button type="button" class="back" onClick={close}>
          Back
        </button>
        <button type="button" onClick={() => reply(false)}>
          Reply
        </button>
        <button type="button" onClick={() => reply(true)}>
          Reply all
        </button>
        <button type="button" onClick={() => forward(false)}>
          Forward
        </button>
        <button type="button" onClick={() => forward(true)}>
          Forward as attachment
        </button>
        <button type="button" onClick={() => setKeyword(email.id, "$flagged", !flagged)}>
          {flagged ? "Unflag" : "Flag"}
        </button>
        <button type="button" onClick={() => setKeyword(email.id, "$seen", false)}>
          Mark unread
        </button>
        {archive && !current.includes(archive.id) && (
          <button type="button" aria-keyshortcuts="e" onClick={() => move(email.id, archive.id)}>
            Archive
          </button>
        )}
        <button type="button" aria-keyshortcuts="#" onClick={() => remove(email)}>
          {inTrash ? "Delete for good" : "Delete"}
        </button>
        <select
          aria-label="Move to"
          value=""
          onChange={(event) => {
            const target = event.currentTarget.value;
            if (target) move(email.id, target);
          }}
        >
          <option value="">Move to…</option>
          {mailboxes
            .filter((mailbox) => !current.includes(mailbox.id))
            .map((mailbox) => (
              <option key={mailbox.id} value={mailbox.id}>
                {mailbox.name}
              </option>
            ))}
        </select>
      </div>
      <header>
        <h2>{email.subject ?? "(no subject)"}</h2>
        <dl class="headers">
          <dt>From</dt>
          <dd>{addresses(email.from)}</dd>
          <dt>To</dt>
          <dd>{addresses(email.to)}</dd>
          {email.cc && email.cc.length > 0 && (
            <>
              <dt>Cc</dt>
              <dd>{addresses(email.cc)}</dd>
            </>
          )}
          <dt>Date</dt>
          <dd>{new Date(email.receivedAt).toLocaleString()}</dd>
        </dl>
        {conversation.length > 1 && (
          <nav aria-label="Conversation">
            <ol class="conversation">
              {conversation.map((each) => (
                <li key={each.id} aria-current={each.id === email.id ? "true" : undefined}>
                  <button type="button" disabled={each.id === email.id} onClick={() => openOther(each.id)}>
                    {sender(each)} · {new Date(each.receivedAt).toLocaleString()}: {each.preview}
                  </button>
                </li>
              ))}
            </ol>
          </nav>
        )}
        <div class="toolbar">
          {html && (
            <button type="button" onClick={() => setPlain(!plain)}>
              {plain ? "Show HTML" : "Show plain text"}
            </button>
          )}
          <button type="button" onClick={() => save(email.blobId, "message.eml", "message/rfc822")}>
            Download source
          </button>
        </div>
        {email.attachments.length > 0 && (
          <ul class="attachments">
            {email.attachments.map((part) => (
              <li key={part.partId}>
                <button
                  type="button"
                  class="link"
                  onClick={() => save(part.blobId, part.name ?? "attachment", part.type)}
                >
                  {part.name ?? "attachment"}
                </button>{" "}
                ({Math.ceil(part.size / 1024)} KB)
              </li>
            ))}
          </ul>
        )}
      </header>
      {/* No allow-scripts: the message can run nothing; no allow-same-origin: it cannot reach us. */}
      <iframe title="message" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc={doc} />
    </section>
  );
}
