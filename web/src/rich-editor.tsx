// The rich-text editor of compose: a contenteditable region and a small toolbar over the browser's own
// editing commands (document.execCommand — deprecated on paper, yet the one editing engine every
// browser ships and what a library of this size would wrap). What it holds is only ever read back as
// markup and sanitized before it is saved or sent (richtext.ts); nothing is written into it but
// sanitized markup.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { escapeHtml } from "./draft.js";
import { cleanHtml } from "./message.js";
import { linkTarget } from "./richtext.js";

interface Command {
  label: string;
  text: string;
  /** The execCommand that applies it. */
  run: string;
  /** Ctrl/Cmd + this key, where it has a shortcut. */
  key?: string;
}

const COMMANDS: Command[] = [
  { label: "Bold", text: "B", run: "bold", key: "b" },
  { label: "Italic", text: "I", run: "italic", key: "i" },
  { label: "Underline", text: "U", run: "underline", key: "u" },
  { label: "Bulleted list", text: "• List", run: "insertUnorderedList" },
  { label: "Numbered list", text: "1. List", run: "insertOrderedList" },
];

/** Whether the selection sits inside a quote: formatBlock has no state query of its own. */
const inQuote = (root: HTMLElement | null) => {
  const node = document.getSelection()?.anchorNode ?? null;
  const element = node instanceof Element ? node : (node?.parentElement ?? null);
  const quote = element?.closest("blockquote");
  return Boolean(quote && root?.contains(quote));
};

export function RichEditor({
  html,
  onInput,
  editorRef,
}: {
  /** The markup it starts with; later changes of the prop are not written back into it. */
  html: string;
  onInput: (html: string) => void;
  editorRef?: { current: HTMLDivElement | null };
}) {
  const own = useRef<HTMLDivElement | null>(null);
  const [active, setActive] = useState<Record<string, boolean>>({});
  /** The link being added: where it goes in the editor, kept while the address field has the focus. */
  const [linking, setLinking] = useState<Range | null>(null);
  const [address, setAddress] = useState("");
  const [refused, setRefused] = useState(false);
  const addressField = useRef<HTMLInputElement>(null);
  // In the same commit as the field appears, so that what is typed at once goes into it.
  useLayoutEffect(() => {
    if (linking) addressField.current?.focus();
  }, [linking]);

  useEffect(() => {
    if (own.current) own.current.innerHTML = cleanHtml(html);
    // Bold and the like as tags (<b>, <i>, <u>), which mail readers keep, not style attributes.
    document.execCommand("styleWithCSS", false, "false");
    const track = () => {
      const root = own.current;
      if (!root?.contains(document.getSelection()?.anchorNode ?? null)) return;
      const state: Record<string, boolean> = { quote: inQuote(root) };
      for (const command of COMMANDS) state[command.run] = document.queryCommandState(command.run);
      setActive(state);
    };
    document.addEventListener("selectionchange", track);
    return () => document.removeEventListener("selectionchange", track);
  }, []);

  const changed = () => {
    if (own.current) onInput(own.current.innerHTML);
  };
  const apply = (run: string, value?: string) => {
    own.current?.focus();
    document.execCommand(run, false, value);
    changed();
  };
  /** The editor focused again with the selection it had when the link was asked for. */
  const restore = (range: Range) => {
    own.current?.focus();
    const selection = document.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
  };
  const link = () => {
    const root = own.current;
    if (!root) return;
    const selection = document.getSelection();
    const range = selection?.rangeCount ? selection.getRangeAt(0) : null;
    let at: Range;
    if (range && root.contains(range.commonAncestorContainer)) at = range.cloneRange();
    else {
      at = document.createRange();
      at.selectNodeContents(root);
      at.collapse(false);
    }
    setAddress("");
    setRefused(false);
    setLinking(at);
  };
  const cancelLink = () => {
    if (linking) restore(linking);
    setLinking(null);
  };
  const addLink = () => {
    if (!linking) return;
    const href = linkTarget(address);
    if (href === null) {
      setRefused(true);
      addressField.current?.focus();
      return;
    }
    restore(linking);
    setLinking(null);
    // With nothing selected there is no text to make a link of: the address itself is the text.
    const text = escapeHtml(href.replace(/^mailto:/, ""));
    if (linking.collapsed) apply("insertHTML", `<a href="${escapeHtml(href)}">${text}</a>`);
    else apply("createLink", href);
  };

  return (
    <div class="rich">
      <div class="toolbar" role="toolbar" aria-label="Formatting">
        {COMMANDS.map((command) => (
          <button
            key={command.run}
            type="button"
            aria-label={command.label}
            title={command.key ? `${command.label} (Ctrl+${command.key.toUpperCase()})` : command.label}
            aria-pressed={Boolean(active[command.run])}
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => apply(command.run)}
          >
            {command.text}
          </button>
        ))}
        <button
          type="button"
          aria-label="Quote"
          aria-pressed={Boolean(active.quote)}
          onMouseDown={(event) => event.preventDefault()}
          onClick={() => apply("formatBlock", active.quote ? "div" : "blockquote")}
        >
          “ ”
        </button>
        <button
          type="button"
          aria-label="Link"
          aria-expanded={linking !== null}
          onMouseDown={(event) => event.preventDefault()}
          onClick={linking ? cancelLink : link}
        >
          Link
        </button>
      </div>
      {linking && (
        // Not a form: it sits inside the compose form, and forms do not nest.
        <fieldset class="link-address">
          <legend>Add a link</legend>
          <label>
            Link address
            <input
              ref={addressField}
              type="text"
              inputMode="url"
              placeholder="https://… or mailto:…"
              value={address}
              aria-invalid={refused}
              aria-describedby={refused ? "link-refused" : undefined}
              onInput={(event) => {
                setAddress(event.currentTarget.value);
                setRefused(false);
              }}
              onKeyDown={(event) => {
                if (event.key === "Enter") {
                  event.preventDefault();
                  addLink();
                } else if (event.key === "Escape") {
                  event.preventDefault();
                  cancelLink();
                }
              }}
            />
          </label>
          <button type="button" onClick={addLink}>
            OK
          </button>
          <button type="button" onClick={cancelLink}>
            Cancel
          </button>
          {refused && (
            <p id="link-refused" class="error" role="alert">
              A link address starts with https://, http:// or mailto:
            </p>
          )}
        </fieldset>
      )}
      {/* biome-ignore lint/a11y/useSemanticElements: a textarea cannot hold markup; a contenteditable
          region is a textbox to assistive technology only when it says so (WAI-ARIA textbox role) */}
      <div
        ref={(element) => {
          own.current = element;
          if (editorRef) editorRef.current = element;
        }}
        class="editor"
        contentEditable
        role="textbox"
        aria-multiline="true"
        aria-label="Message"
        tabIndex={0}
        onInput={changed}
        onKeyDown={(event) => {
          if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
          const command = COMMANDS.find((each) => each.key === event.key.toLowerCase());
          if (!command) return;
          event.preventDefault();
          apply(command.run);
        }}
      />
    </div>
  );
}
