// Rich text as compose sends it: the editor's markup cleaned by the same sanitizer that guards reading
// (message.ts), and the text/plain alternative derived from it (RFC 2046 §5.1.4: the parts of a
// multipart/alternative say the same thing, plainest first) — lists as "- " or "1. ", quotes as "> ",
// links as "text <url>"; and what compose asks of rich text: its signature block swapped for another
// identity's, whether it holds formatting plain text would lose, where a link may lead. Needs a DOM, so
// it runs in the browser; the tests drive it in Chromium.

import { type Draft, signatureHtml } from "./draft.js";
import type { Identity } from "./jmap.js";
import { cleanHtml } from "./message.js";

/** Elements that start and end a line of their own. */
const BLOCKS = new Set([
  ..."ADDRESS ARTICLE ASIDE DD DIV DL DT FIGURE FOOTER H1 H2 H3 H4 H5 H6 HEADER HR SECTION TABLE TR".split(
    " ",
  ),
  ..."P BLOCKQUOTE UL OL LI PRE".split(" "),
]);
/** Elements whose content is no text of the message. */
const SILENT = new Set(["HEAD", "SCRIPT", "STYLE", "TEMPLATE", "TITLE"]);

/**
 * Spaces as a browser collapses them (CSS white-space: normal). Those of a <pre>, and the indentation
 * under a list marker, are no-break spaces until the end, so that tidying the lines keeps them.
 */
const collapse = (text: string) => text.replace(/[ \t\n\r\f]+/g, " ");

/** A block's edge: a line break unless the line is empty already, as a browser lays blocks out. */
const EDGE = "\u0001";
/** A paragraph's edge: an empty line between it and what is next to it. */
const GAP = "\u0002";

/**
 * A signature separator line, "-- ": its space is what makes it one (RFC 3676 §4.3), so it is a
 * no-break space until the end, which tidying keeps.
 */
const SEPARATOR = /(^|[\n\u0001\u0002]) *-- (?= *(?:[\n\u0001\u0002]|$))/g;

/**
 * The edges resolved into line breaks, lines without spaces at their ends (but for a signature
 * separator), none empty at either end.
 */
function tidy(text: string): string {
  let out = "";
  for (const char of text.replace(SEPARATOR, "$1--\u00a0").replace(/ *([\n\u0001\u0002]) */g, "$1")) {
    if (char === EDGE) {
      if (out !== "" && !out.endsWith("\n")) out += "\n";
    } else if (char === GAP) {
      if (out !== "") out += out.endsWith("\n\n") ? "" : out.endsWith("\n") ? "\n" : "\n\n";
    } else out += char;
  }
  return out.replace(/^\n+|\n+$/g, "").replace(/^ +| +$/g, "");
}

/** Every line of the block after the first indented to sit under the first's text. */
const hang = (first: string, text: string) => {
  const rest = "\u00a0".repeat(first.length);
  return text
    .split("\n")
    .map((line, i) => (i === 0 ? first : line === "" ? "" : rest) + line)
    .join("\n");
};

function render(node: Node, pre: boolean): string {
  if (node.nodeType === Node.TEXT_NODE) {
    const text = node.nodeValue ?? "";
    return pre ? text.replace(/ /g, "\u00a0") : collapse(text);
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return "";
  const element = node as Element;
  const tag = element.tagName.toUpperCase();
  if (SILENT.has(tag)) return "";
  if (tag === "BR") return "\n";
  if (tag === "IMG") return element.getAttribute("alt") ?? "";
  const inner = () => Array.from(element.childNodes, (child) => render(child, pre || tag === "PRE")).join("");
  switch (tag) {
    case "UL":
    case "OL": {
      const start = Number.parseInt(element.getAttribute("start") ?? "1", 10);
      let number = Number.isNaN(start) ? 1 : start;
      const items = Array.from(element.childNodes, (child) => {
        if (!(child instanceof Element && child.tagName.toUpperCase() === "LI"))
          return tidy(render(child, pre));
        return hang(tag === "UL" ? "-\u00a0" : `${number++}.\u00a0`, tidy(render(child, pre)));
      });
      return EDGE + items.filter((item) => item !== "").join(EDGE) + EDGE;
    }
    case "BLOCKQUOTE": {
      // As draft.ts quotes plain text: a line already quoted gets one more ">" without a space.
      const quoted = tidy(inner())
        .split("\n")
        .map((line) => (line.startsWith(">") ? `>${line}` : line === "" ? ">" : `>\u00a0${line}`))
        .join("\n");
      return EDGE + quoted + EDGE;
    }
    case "P":
      return GAP + inner() + GAP;
    case "A": {
      const text = inner();
      const href = element.getAttribute("href")?.trim() ?? "";
      const target = href.replace(/^mailto:/i, "");
      if (href === "" || href.startsWith("#") || text.trim() === target || text.trim() === href) return text;
      return `${text} <${href}>`;
    }
    default:
      return BLOCKS.has(tag) ? EDGE + inner() + EDGE : inner();
  }
}

/** The text/plain alternative of this markup. */
export function htmlToText(html: string): string {
  const body = new DOMParser().parseFromString(html, "text/html").body;
  return tidy(render(body, false)).replace(/\u00a0/g, " ");
}

/** The body with the old identity's signature block, where it still stands, swapped for the new one's. */
export function withHtmlSignature(
  html: string,
  from: Identity | undefined,
  to: Identity | undefined,
): string {
  const body = new DOMParser().parseFromString(html, "text/html").body;
  // As withSignature does in plain text: the block stands while its text is still the signature's.
  const old = htmlToText(signatureHtml(from));
  const standing = Array.from(body.querySelectorAll("[data-signature]"))
    .reverse()
    .find((block) => htmlToText(block.outerHTML) === old);
  const next = signatureHtml(to);
  if (standing) {
    standing.insertAdjacentHTML("afterend", next);
    standing.remove();
  } else if (old === "" && next !== "") {
    // As plain text drops the empty lines at its end: the last empty lines go, but not the first line.
    while (body.childElementCount > 1 && isEmptyLine(body.lastElementChild)) body.lastElementChild?.remove();
    body.insertAdjacentHTML("beforeend", next);
  }
  return body.innerHTML;
}

/** A line the editor wrote and the user left empty: <div><br></div>. */
const isEmptyLine = (element: Element | null) =>
  element?.tagName === "DIV" &&
  !element.hasAttribute("data-signature") &&
  (element.textContent ?? "").trim() === "" &&
  Array.from(element.children).every((child) => child.tagName === "BR");

/** Where a link may lead: web pages and mail addresses, never a script, data or a local file. */
const LINKABLE = new Set(["http:", "https:", "mailto:"]);

/** The address typed for a link, as the link's href; null unless it is a whole http(s) or mailto URL. */
export function linkTarget(typed: string): string | null {
  let url: URL;
  try {
    url = new URL(typed.trim());
  } catch {
    return null;
  }
  if (!LINKABLE.has(url.protocol)) return null;
  return (url.protocol === "mailto:" ? url.pathname : url.hostname) === "" ? null : url.href;
}

/** Elements that only lay out lines, which the text part keeps as they are. */
const LINES = new Set(["DIV", "P", "BR", "SPAN"]);

/**
 * Whether the markup holds what plain text cannot keep — bold, italics, links, lists, quotes and the
 * like: any element but those that only make lines.
 */
export function hasFormatting(html: string): boolean {
  const body = new DOMParser().parseFromString(cleanHtml(html), "text/html").body;
  return Array.from(body.querySelectorAll("*")).some((element) => !LINES.has(element.tagName));
}

/** The draft as it is saved and sent: its markup sanitized, and the text part made from that. */
export function outgoing(draft: Draft): Draft {
  if (draft.html === null) return draft;
  const html = cleanHtml(draft.html);
  return { ...draft, html, body: htmlToText(html) };
}
