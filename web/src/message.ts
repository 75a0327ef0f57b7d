// Turning a message body into a document for a sandboxed iframe: DOMPurify strips scripts, handlers
// and javascript: URLs; the iframe has no allow-scripts; the inherited CSP blocks any remote load.

import DOMPurify from "dompurify";

/** Remote resources are dropped outright, so nothing is even attempted (no tracking pixels). */
const REMOTE = /^\s*(https?:|\/\/)/i;

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  for (const attribute of ["src", "srcset", "background", "poster"]) {
    const value = node.getAttribute(attribute);
    if (value !== null && (attribute === "srcset" || REMOTE.test(value))) node.removeAttribute(attribute);
  }
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** The markup without anything active or remote: what is shown of a message, and what compose sends. */
export function cleanHtml(html: string): string {
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "link", "meta", "base", "form", "input", "button", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
  });
}

export function sanitizedHtml(html: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"></head><body>${cleanHtml(html)}</body></html>`;
}

export function textDocument(text: string): string {
  const pre = document.createElement("pre");
  pre.textContent = text;
  pre.setAttribute("style", "white-space: pre-wrap; font-family: sans-serif");
  return `<!doctype html><html><head><meta charset="utf-8"></head><body>${pre.outerHTML}</body></html>`;
}
