// The compose pane: a message is a draft in Drafts from the first keystroke on, saved again a moment
// after each change (Email/set destroys the old draft and creates the new one in the same call: an
// email's content is immutable, RFC 8621 §4.6), and sent by EmailSubmission/set, whose
// onSuccessUpdateEmail moves it to Sent and clears $draft (§7.5) in the same request. It is written
// in plain or rich text, as the user last chose in this browser; rich text goes out as
// multipart/alternative with a text part made from it (richtext.ts).

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  type Attachment,
  type Draft,
  emailObject,
  envelopeOf,
  formatSize,
  textToHtml,
  withSignature,
} from "./draft.js";
import type { Identity, Jmap, Mailbox } from "./jmap.js";
import { explain, Notices, type SetError } from "./notices.js";
import { RichEditor } from "./rich-editor.js";
import { hasFormatting, outgoing, withHtmlSignature } from "./richtext.js";

/** How long typing must pause before the draft is saved. */
const SAVE_AFTER_MS = 800;

/** Where the browser keeps the mode last chosen; only that word, nothing of the mail. */
const MODE_KEY = "mailroom.compose.mode";
const rememberedRich = () => {
  try {
    return localStorage.getItem(MODE_KEY) === "rich";
  } catch {
    return false;
  }
};
const remember = (rich: boolean) => {
  try {
    localStorage.setItem(MODE_KEY, rich ? "rich" : "plain");
  } catch {
    // Storage refused (a private window): the choice holds for this pane only.
  }
};

/** The draft in the mode it opens in: a draft from Drafts as it was saved, anything else as last chosen. */
function opening(initial: Draft, resumed: boolean, identity: Identity | undefined): Draft {
  const rich = resumed ? initial.html !== null : rememberedRich();
  if (!rich) return { ...initial, html: null };
  return { ...initial, html: initial.html ?? textToHtml(initial.body, identity) };
}

export function Compose({
  jmap,
  mailboxes,
  identities,
  initial,
  draftId,
  close,
}: {
  jmap: Jmap;
  mailboxes: Mailbox[];
  identities: Identity[];
  initial: Draft;
  /** The draft in Drafts this pane continues, if it was opened from there. */
  draftId: string | null;
  close: () => void;
}) {
  const [draft, setDraft] = useState(() =>
    opening(
      initial,
      draftId !== null,
      identities.find((each) => each.id === initial.identityId) ?? identities[0],
    ),
  );
  const rich = draft.html !== null;
  /** Bumped when the mode changes, so the editor starts again from the converted body. */
  const [editorKey, setEditorKey] = useState(0);
  /** Asking whether to leave rich text for plain and lose the formatting. */
  const [losing, setLosing] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const [sending, setSending] = useState(false);
  const [dragging, setDragging] = useState(false);
  const drafts = mailboxes.find((mailbox) => mailbox.role === "drafts");
  const sent = mailboxes.find((mailbox) => mailbox.role === "sent");
  const identity = identities.find((each) => each.id === draft.identityId) ?? identities[0];

  // The saved draft's id, and the chain every save and the send wait on, so two saves never race.
  const saved = useRef(draftId);
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  /** Changed since the last save began; what is left unsaved is saved when the pane closes. */
  const dirty = useRef(false);
  const latest = useRef(draft);
  latest.current = draft;
  const done = useRef(false);
  const first = useRef<HTMLInputElement>(null);
  const body = useRef<HTMLTextAreaElement>(null);
  const editor = useRef<HTMLDivElement | null>(null);

  useEffect(() => {
    // A reply starts in the body, above the quote; anything else at the first address field.
    if (initial.inReplyTo && !draftId) {
      if (editor.current) {
        editor.current.focus();
        document.getSelection()?.collapse(editor.current, 0);
      } else {
        body.current?.focus();
        body.current?.setSelectionRange(0, 0);
      }
    } else first.current?.focus();
  }, []);

  const serially = <T,>(work: () => Promise<T>): Promise<T> => {
    const next = queue.current.then(work, work);
    queue.current = next.catch(() => {});
    return next;
  };

  /** The calls that replace the saved draft with this one, created as "draft". */
  const replaceCalls = (current: Draft): [string, Record<string, unknown>] => [
    "Email/set",
    {
      create: { draft: emailObject(outgoing(current), identity, drafts?.id ?? "") },
      ...(saved.current ? { destroy: [saved.current] } : {}),
    },
  ];

  const save = (current: Draft) =>
    serially(async () => {
      if (done.current || !drafts) return;
      dirty.current = false;
      const [result] = await jmap.call([replaceCalls(current)]);
      const created = (result?.created as Record<string, { id: string }> | undefined)?.draft;
      const refused = (result?.notCreated as Record<string, SetError> | undefined)?.draft;
      if (created) {
        saved.current = created.id;
        setStatus(`Draft saved at ${new Date().toLocaleTimeString()}`);
      } else if (refused) setStatus(`The draft could not be saved: ${explain(refused)}`);
    }).catch((e: Error) => setStatus(`The draft could not be saved: ${e.message}`));

  useEffect(() => {
    if (!dirty.current) return;
    const timer = setTimeout(() => save(draft), SAVE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [draft]);
  useEffect(
    () => () => {
      if (dirty.current) save(latest.current);
    },
    [],
  );

  const update = (fields: Partial<Draft>) => {
    dirty.current = true;
    setDraft((current) => ({ ...current, ...fields }));
  };

  /** Rich to plain keeps the text the HTML part would have had; plain to rich keeps the lines. */
  const switchMode = () => {
    const next = !rich;
    remember(next);
    update(next ? { html: textToHtml(draft.body, identity) } : { html: null, body: outgoing(draft).body });
    setEditorKey((key) => key + 1);
  };
  const toggleRich = () => {
    if (rich && hasFormatting(draft.html ?? "")) setLosing(true);
    else switchMode();
  };
  const answer = (lose: boolean) => {
    setLosing(false);
    if (lose) switchMode();
    toggle.current?.focus();
  };
  // In the same commit as the question appears, so that a key pressed at once already reaches it.
  useLayoutEffect(() => {
    if (losing) keep.current?.focus();
  }, [losing]);

  const send = async (event: Event) => {
    event.preventDefault();
    if (!drafts || !sent || !identity) {
      setError("this account has no Drafts or Sent mailbox, or no identity to send as");
      return;
    }
    setSending(true);
    setError("");
    await serially(async () => {
      const [set, submission, moved] = await jmap.call([
        replaceCalls({ ...draft, bcc: "" }),
        [
          "EmailSubmission/set",
          {
            create: {
              send: { identityId: identity.id, emailId: "#draft", envelope: envelopeOf(draft, identity) },
            },
            onSuccessUpdateEmail: {
              "#send": {
                [`mailboxIds/${drafts.id}`]: null,
                [`mailboxIds/${sent.id}`]: true,
                "keywords/$draft": null,
              },
            },
          },
        ],
      ]);
      const created = (set?.created as Record<string, { id: string }> | undefined)?.draft;
      // Whatever happens to the send, the old draft is gone and this one is what Drafts holds.
      if (created) saved.current = created.id;
      const refused =
        (set?.notCreated as Record<string, SetError> | undefined)?.draft ??
        (submission?.notCreated as Record<string, SetError> | undefined)?.send ??
        (moved?.notUpdated ? Object.values(moved.notUpdated as Record<string, SetError>)[0] : undefined);
      if (refused) throw new Error(explain(refused));
      done.current = true;
    })
      .then(close)
      .catch((e: Error) => {
        setError(`Not sent: ${e.message}`);
        setSending(false);
        // What was sent had no Bcc field; the draft left in Drafts gets it back.
        if (draft.bcc) save(draft);
      });
  };

  const discard = async () => {
    done.current = true;
    await serially(async () => {
      if (saved.current) await jmap.call([["Email/set", { destroy: [saved.current] }]]);
    }).catch(() => {});
    close();
  };

  const attach = async (files: FileList | null) => {
    if (!files) return;
    setError("");
    for (const file of Array.from(files)) {
      try {
        const uploaded = await jmap.upload(file);
        const attachment: Attachment = {
          blobId: uploaded.blobId,
          name: file.name,
          type: file.type || uploaded.type,
          size: uploaded.size,
        };
        dirty.current = true;
        setDraft((current) => ({ ...current, attachments: [...current.attachments, attachment] }));
      } catch (e) {
        setError(`${file.name} could not be attached: ${(e as Error).message}`);
      }
    }
  };

  const field = (name: "to" | "cc" | "bcc", label: string) => (
    <label>
      {label}
      <input
        ref={name === "to" ? first : undefined}
        name={name}
        type="text"
        autocomplete="email"
        value={draft[name]}
        onInput={(event) => update({ [name]: event.currentTarget.value })}
      />
    </label>
  );

  return (
    <section
      class={`compose${dragging ? " dragging" : ""}`}
      aria-label="New message"
      onDragOver={(event) => {
        if (!event.dataTransfer?.types.includes("Files")) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        attach(event.dataTransfer?.files ?? null);
      }}
    >
      <form onSubmit={send}>
        <div class="toolbar">
          <button type="submit" disabled={sending}>
            {sending ? "Sending…" : "Send"}
          </button>
          <button type="button" onClick={discard}>
            Discard
          </button>
          <button type="button" onClick={close}>
            Close
          </button>
          <button type="button" ref={toggle} aria-pressed={rich} onClick={toggleRich}>
            Rich text
          </button>
        </div>
        {losing && (
          <div
            class="confirm"
            role="alertdialog"
            aria-label="Switch to plain text?"
            aria-describedby="compose-losing"
            onKeyDown={(event) => {
              if (event.key !== "Escape") return;
              event.preventDefault();
              answer(false);
            }}
          >
            <p id="compose-losing">
              Plain text cannot keep this message's formatting: bold, italics, underlining, links, lists and
              quotes are lost.
            </p>
            <button type="button" onClick={() => answer(true)}>
              Switch and lose formatting
            </button>
            <button type="button" ref={keep} onClick={() => answer(false)}>
              Keep rich text
            </button>
          </div>
        )}
        <div class="fields">
          {/* Labelled by for/id, not by nesting: a nested select's chosen option would join its name. */}
          <label for="compose-from">From</label>
          <select
            id="compose-from"
            name="identity"
            value={identity?.id ?? ""}
            onChange={(event) => {
              const next = identities.find((each) => each.id === event.currentTarget.value);
              if (draft.html === null) {
                update({ identityId: next?.id ?? "", body: withSignature(draft.body, identity, next) });
                return;
              }
              update({ identityId: next?.id ?? "", html: withHtmlSignature(draft.html, identity, next) });
              // The editor takes its markup only when it starts.
              setEditorKey((key) => key + 1);
            }}
          >
            {identities.map((each) => (
              <option key={each.id} value={each.id}>
                {each.name ? `${each.name} <${each.email}>` : each.email}
              </option>
            ))}
          </select>
          {field("to", "To")}
          {field("cc", "Cc")}
          {field("bcc", "Bcc")}
          <label>
            Subject
            <input
              name="subject"
              type="text"
              value={draft.subject}
              onInput={(event) => update({ subject: event.currentTarget.value })}
            />
          </label>
          {rich ? (
            <RichEditor
              key={editorKey}
              html={draft.html ?? ""}
              editorRef={editor}
              onInput={(html) => update({ html })}
            />
          ) : (
            <label class="body">
              Message
              <textarea
                ref={body}
                name="body"
                value={draft.body}
                onInput={(event) => update({ body: event.currentTarget.value })}
              />
            </label>
          )}
          <label>
            Attach files (or drop them here)
            <input
              type="file"
              multiple
              onChange={(event) => {
                const input = event.currentTarget;
                attach(input.files).then(() => {
                  input.value = "";
                });
              }}
            />
          </label>
          {draft.attachments.length > 0 && (
            <ul class="attachments" aria-label="Attachments">
              {draft.attachments.map((attachment, index) => (
                <li key={attachment.blobId}>
                  {attachment.name} ({formatSize(attachment.size)}){" "}
                  <button
                    type="button"
                    aria-label={`Remove ${attachment.name}`}
                    onClick={() =>
                      update({ attachments: draft.attachments.filter((_, other) => other !== index) })
                    }
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <Notices error={error} status={status} />
      </form>
    </section>
  );
}
