import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
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
import { pagesFor, scrollToShow, stepIndex, visibleRows } from "./window.js";

/** Rows per Email/query page, fetched by position. */
const PAGE = 50;
/** A row's height in CSS pixels (style.css gives `.rows li` the same): the list's geometry follows. */
const ROW_HEIGHT = 68;
/** Rows kept in the DOM above and below the visible ones. */
const OVERSCAN = 10;
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

/** One page of the message list, as read after change number `tick` of list `list`. */
interface Page {
  list: string;
  tick: number;
  emails: EmailSummary[];
  /** Messages per thread of these rows, while conversations are shown. */
  sizes: Record<string, number>;
}

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
  /** Conversations (RFC 8621 §4.4.3 collapseThreads): one row per thread, its newest message. */
  const [threads, setThreads] = useState(() => localStorage.getItem(THREADS_KEY) === "on");
  /**
   * The pages of the list fetched so far, by page number. `list` says which list (mailbox or search,
   * conversations or not) a page is of, `tick` after which change: after a change (a push, a move) the
   * pages stay shown until each is read again as it comes into view.
   */
  const [pages, setPages] = useState<Map<number, Page>>(new Map());
  const [total, setTotal] = useState({ list: "", tick: -1, total: 0 });
  const [view, setView] = useState({ scrollTop: 0, height: 0 });
  const scroller = useRef<HTMLDivElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  /** Page reads under way, as "list#tick/page", so one is not asked for twice. */
  const reading = useRef(new Set<string>());
  const shownList = useRef("");
  const [open, setOpen] = useState<EmailFull | null>(null);
  /**
   * The message the keyboard is on (j/k move it, Enter opens it, e and # act on it), by id and by its
   * row: the id follows the message when mail arrives above it; when it leaves the list, the message
   * that takes its row takes the cursor.
   */
  const [cursor, setCursor] = useState<string | null>(null);
  const [cursorIndex, setCursorIndex] = useState<number | null>(null);
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

  const filter = search ? searchFilter(search) : selected && { inMailbox: selected };
  const list = JSON.stringify([filter, threads]);
  // What the answers below compare with: their own list may no longer be the one shown.
  shownList.current = list;
  const count = total.list === list ? total.total : 0;
  const range = visibleRows({ ...view, rowHeight: ROW_HEIGHT, total: count, overscan: OVERSCAN });
  // Before the first answer the total is unknown: the first page is read all the same.
  const wanted = count === 0 ? [0] : pagesFor(range, PAGE);

  // Another list starts at its top with nothing of the last one's.
  useLayoutEffect(() => {
    setPages(new Map());
    setCursor(null);
    setCursorIndex(null);
    if (scroller.current) scroller.current.scrollTop = 0;
    setView((current) => ({ ...current, scrollTop: 0 }));
  }, [list]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setView({ scrollTop: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // Each page in view that was not read since the last change is read: Email/query by position, the
  // summaries, and the thread sizes. An answer for a list no longer shown is dropped.
  const wantedKey = wanted.join(",");
  useEffect(() => {
    if (!filter) return;
    for (const number of wantedKey.split(",").map(Number)) {
      const page = pages.get(number);
      const inFlight = `${list}#${tick}/${number}`;
      if ((page && page.list === list && page.tick === tick) || reading.current.has(inFlight)) continue;
      reading.current.add(inFlight);
      jmap
        .call([
          [
            "Email/query",
            {
              filter,
              sort: [{ property: "receivedAt", isAscending: false }],
              position: number * PAGE,
              limit: PAGE,
              calculateTotal: true,
              collapseThreads: threads,
            },
          ],
          [
            "Email/get",
            { "#ids": { resultOf: "0", name: "Email/query", path: "/ids" }, properties: SUMMARY },
          ],
          ["Thread/get", { "#ids": { resultOf: "1", name: "Email/get", path: "/list/*/threadId" } }],
        ])
        .then(([query, get, thread]) => {
          // A late answer for a list no longer shown (Conversations toggled, another mailbox) would
          // overwrite the shown list's page and total, and a total of another list resets the scroll.
          if (shownList.current !== list) return;
          const byId = new Map(((get?.list ?? []) as EmailSummary[]).map((email) => [email.id, email]));
          const emails = ((query?.ids ?? []) as string[]).flatMap((id) => byId.get(id) ?? []);
          const sizes: Record<string, number> = {};
          for (const each of (thread?.list ?? []) as Array<{ id: string; emailIds: string[] }>) {
            sizes[each.id] = each.emailIds.length;
          }
          setPages((current) => {
            const kept = current.get(number);
            // An older read answering late must not replace a newer one.
            if (kept && kept.list === list && kept.tick > tick) return current;
            const next = new Map(current);
            next.set(number, { list, tick, emails, sizes });
            return next;
          });
          setTotal((current) =>
            current.list === list && current.tick > tick
              ? current
              : { list, tick, total: Number(query?.total ?? 0) },
          );
        })
        .catch(() => {})
        .finally(() => reading.current.delete(inFlight));
    }
  }, [jmap, list, tick, wantedKey, pages]);

  /** The summary at row `index` of the list shown, when its page has been read. */
  const rowAt = (index: number): EmailSummary | undefined => {
    const page = pages.get(Math.floor(index / PAGE));
    return page && page.list === list ? page.emails[index % PAGE] : undefined;
  };
  /** The row of a listed message, looking in the freshest pages first; -1 when none has it. */
  const indexOf = (id: string): number => {
    let found = -1;
    let freshest = -1;
    for (const [number, page] of pages) {
      if (page.list !== list) continue;
      const at = page.emails.findIndex((email) => email.id === id);
      if (at !== -1 && page.tick > freshest) {
        found = number * PAGE + at;
        freshest = page.tick;
      }
    }
    return found;
  };
  const threadSize = (email: EmailSummary, index: number): number =>
    pages.get(Math.floor(index / PAGE))?.sizes[email.threadId] ?? 1;

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

  /** Opens a message; `index` is its row in the list, when it was opened from there. */
  const show = async (id: string, index: number | null = null) => {
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
    if (index !== null) setCursorIndex(index);
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
  /** Moves the cursor by `by` rows, scrolling the row into view; its id comes when its page does. */
  const step = (by: number) => {
    const index = stepIndex(cursorIndex, by, count);
    if (index === null) return;
    setCursorIndex(index);
    setCursor(rowAt(index)?.id ?? null);
    const element = scroller.current;
    if (element) element.scrollTop = scrollToShow(index, element.scrollTop, element.clientHeight, ROW_HEIGHT);
  };
  /** Acts on the message under the cursor; the message that then takes its row takes the cursor. */
  const onCursor = (act: (email: EmailSummary) => void) => {
    const email = cursorIndex === null ? undefined : rowAt(cursorIndex);
    if (email && email.id === cursor) act(email);
  };
  // Keeps the cursor's id and row together as pages are read: the id wins while it is listed (mail
  // arrived above it), else the row (the message left the list: the next one takes its place).
  useEffect(() => {
    if (cursorIndex === null) return;
    const at = cursor === null ? -1 : indexOf(cursor);
    if (at !== -1) {
      if (at !== cursorIndex) setCursorIndex(at);
      return;
    }
    if (count === 0) return;
    const index = Math.min(cursorIndex, count - 1);
    const page = pages.get(Math.floor(index / PAGE));
    const there = page && page.list === list && page.tick === tick ? page.emails[index % PAGE] : undefined;
    if (there) {
      setCursor(there.id);
      if (index !== cursorIndex) setCursorIndex(index);
    }
  }, [pages, count, cursor, cursorIndex]);
  useShortcuts({
    next: () => step(1),
    previous: () => step(-1),
    open: () => cursor && show(cursor, cursorIndex),
    archive: () =>
      onCursor((email) => archive && !email.mailboxIds[archive.id] && move(email.id, archive.id)),
    remove: () => onCursor((email) => remove(email)),
  });
  useEffect(() => {
    if (cursor)
      document.querySelector<HTMLElement>(`.list li[data-id="${CSS.escape(cursor)}"] button`)?.focus();
  }, [cursor]);
  const rows: { email: EmailSummary; index: number }[] = [];
  for (let index = range.start; index < range.end; index++) {
    const email = rowAt(index);
    if (email) rows.push({ email, index });
  }

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
                  // The box is not bound to the search; left showing, an ended query would look live.
                  if (searchBox.current) searchBox.current.value = "";
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
              setOpen(null);
            }}
          >
            <input
              ref={searchBox}
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
            }}
          />{" "}
          Conversations
        </label>
        {search && (
          <p class="status" aria-live="polite">
            {count} found in all mailboxes
          </p>
        )}
        <div
          class="rows"
          ref={scroller}
          onScroll={(event) => {
            const element = event.currentTarget;
            setView({ scrollTop: element.scrollTop, height: element.clientHeight });
          }}
        >
          {/* Only the rows in view (and a few beyond) are in the DOM, each placed by its index and keyed
              by it: until every page in view is read again after a change, a message may show twice. */}
          <ul style={{ height: `${count * ROW_HEIGHT}px` }}>
            {rows.map(({ email, index }) => (
              <li
                key={index}
                data-id={email.id}
                data-index={index}
                aria-posinset={index + 1}
                aria-setsize={count}
                style={{ top: `${index * ROW_HEIGHT}px` }}
                class={[
                  email.keywords.$seen ? "" : "unread",
                  open?.id === email.id ? "selected" : "",
                  cursorIndex === index && cursor === email.id ? "cursor" : "",
                ].join(" ")}
              >
                <button type="button" class="row" onClick={() => show(email.id, index)}>
                  <div class="from">
                    {email.keywords.$flagged && <span class="flagged">★ </span>}
                    {sender(email)}
                    <span class="date"> · {new Date(email.receivedAt).toLocaleString()}</span>
                  </div>
                  <div class="subject">
                    {email.subject ?? "(no subject)"}
                    {threads && threadSize(email, index) > 1 && (
                      <span class="count" aria-label={`${threadSize(email, index)} messages`}>
                        {" "}
                        {threadSize(email, index)}
                      </span>
                    )}
                  </div>
                  <div class="preview">{email.preview}</div>
                </button>
              </li>
            ))}
          </ul>
        </div>
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
