// SearchSnippet/get (RFC 8621 §5): for emails a query found, the subject and a piece of the body with
// the searched-for words marked, as HTML — what a mail client shows under each result.

import { htmlToText } from "../mail/html-text.js";
import type { Store } from "../store/types.js";
import { partBlobId } from "./blob-parts.js";
import { MAIL } from "./capabilities.js";
import { parseEmail } from "./email/email.js";
import { invalidArguments, MethodError } from "./errors.js";
import { parseEmailId } from "./ids.js";
import type { Json, JsonObject, Method } from "./types.js";

/** RFC 8621 §5: a preview snippet is at most 255 characters of text (the marks not counted). */
const PREVIEW_CHARACTERS = 255;
/** Text shown before the first match, so it is seen in its sentence. */
const LEAD_CHARACTERS = 40;

/**
 * The words a filter searches for in text (RFC 8621 §5: "text", "subject" and "body" conditions), in
 * every operator except NOT — an email matched because a word is absent has nothing to mark.
 */
export function searchTerms(filter: Json | undefined): { subject: string[]; body: string[] } {
  const terms = { subject: [] as string[], body: [] as string[] };
  const visit = (node: Json | undefined) => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return;
    if ("operator" in node) {
      if (node.operator !== "NOT" && Array.isArray(node.conditions)) node.conditions.forEach(visit);
      return;
    }
    if (typeof node.text === "string") {
      terms.subject.push(node.text);
      terms.body.push(node.text);
    }
    if (typeof node.subject === "string") terms.subject.push(node.subject);
    if (typeof node.body === "string") terms.body.push(node.body);
  };
  visit(filter);
  const clean = (list: string[]) => [
    ...new Set(list.map((term) => term.trim()).filter((term) => term !== "")),
  ];
  return { subject: clean(terms.subject), body: clean(terms.body) };
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Where the terms occur in `text`, case-insensitively, as non-overlapping [start, end) ranges in order. */
function matches(text: string, terms: readonly string[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const term of terms) {
    // A case-insensitive pattern rather than lower-casing: lower-casing can change a string's length
    // ("İ" becomes two code units), and the ranges must index the original text.
    const pattern = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "giu");
    for (const match of text.matchAll(pattern)) found.push([match.index, match.index + match[0].length]);
  }
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [];
  for (const range of found) {
    const last = merged.at(-1);
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
}

/** `text` as HTML with each match in <mark>; null when nothing matches. */
export function highlight(text: string, terms: readonly string[]): string | null {
  const ranges = matches(text, terms);
  if (ranges.length === 0) return null;
  let out = "";
  let at = 0;
  for (const [start, end] of ranges) {
    out += `${escapeHtml(text.slice(at, start))}<mark>${escapeHtml(text.slice(start, end))}</mark>`;
    at = end;
  }
  return out + escapeHtml(text.slice(at));
}

/** A piece of the body around its first match, highlighted; null when the body does not match. */
export function previewSnippet(body: string, terms: readonly string[]): string | null {
  const text = body.replace(/\s+/g, " ").trim();
  const first = matches(text, terms)[0];
  if (first === undefined) return null;
  const start = Math.max(0, first[0] - LEAD_CHARACTERS);
  const piece = [...text.slice(start)].slice(0, PREVIEW_CHARACTERS).join("");
  return highlight(piece, terms) ?? escapeHtml(piece);
}

export function searchSnippetGet(store: Pick<Store, "emails" | "blobs">, maxObjects: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { emailIds, filter } = args;
      if (!Array.isArray(emailIds) || emailIds.some((id) => typeof id !== "string")) {
        throw invalidArguments('"emailIds" must be an array of email ids');
      }
      if (emailIds.length > maxObjects) {
        throw new MethodError("requestTooLarge", `at most ${maxObjects} emails per SearchSnippet/get`);
      }
      if (filter !== undefined && filter !== null && (typeof filter !== "object" || Array.isArray(filter))) {
        throw invalidArguments('"filter" must be a FilterOperator or FilterCondition object, or null');
      }
      const ids = [...new Set(emailIds as string[])];
      const numbers = ids.map(parseEmailId);
      const rows = await store.emails.getEmails(
        context.account.userId,
        numbers.filter((id): id is number => id !== null),
      );
      const byId = new Map(rows.map((row) => [row.emailId, row]));
      const terms = searchTerms(filter);
      const list: JsonObject[] = [];
      const notFound: string[] = [];
      for (const [index, id] of ids.entries()) {
        const number = numbers[index];
        const row = number === null || number === undefined ? undefined : byId.get(number);
        if (row === undefined) {
          notFound.push(id);
          continue;
        }
        const email = parseEmail(await store.blobs.readBlobBytes(row.messageId), {
          partBlobId: (partId) => partBlobId(row.messageId, partId),
        });
        const { subject } = email.properties(["subject"]);
        const values = email.bodyValues({ fetchTextBodyValues: true });
        // An HTML-only message's text body is HTML: its words, not its tags, are what is searched.
        const body = email
          .textBody(["partId", "type"])
          .map((part) => {
            const value = values[String(part.partId)]?.value ?? "";
            return part.type === "text/html" ? htmlToText(value) : value;
          })
          .join("\n");
        list.push({
          emailId: id,
          subject: typeof subject === "string" ? highlight(subject, terms.subject) : null,
          preview: previewSnippet(body, terms.body),
        });
      }
      return { accountId: context.account.accountId, list, notFound: notFound.length > 0 ? notFound : null };
    },
  };
}
