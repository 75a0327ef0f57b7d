// What a message being written is, and how it becomes an Email/set object: a new message, a reply
// (RFC 5322 §3.6.4: In-Reply-To is the parent's Message-ID, References the parent's References plus
// it), a reply to all, an inline forward, or a draft opened again. Pure, so it is tested without a
// browser.

import type { Address, EmailFull, Identity } from "./jmap.js";

export interface Attachment {
  blobId: string;
  name: string;
  type: string;
  size: number;
}

export interface Draft {
  identityId: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  /**
   * The rich body, when the draft is written in rich text; `body` is then its text alternative, and
   * the message goes out as multipart/alternative (RFC 2046 §5.1.4).
   */
  html: string | null;
  inReplyTo: string[] | null;
  references: string[] | null;
  attachments: Attachment[];
}

export const emptyDraft = (): Draft => ({
  identityId: "",
  to: "",
  cc: "",
  bcc: "",
  subject: "",
  body: "",
  html: null,
  inReplyTo: null,
  references: null,
  attachments: [],
});

/** As a person writes it in a field: `Name <a@b>`, or the bare address. */
export function formatAddresses(list: Address[] | null): string {
  return (list ?? [])
    .map((address) => (address.name ? `${quotedName(address.name)} <${address.email}>` : address.email))
    .join(", ");
}

/** Quoted as RFC 5322 §3.2.4 asks when it holds a separator, a quote or a backslash. */
const quotedName = (name: string) => (/[,;<>"@\\]/.test(name) ? `"${name.replace(/["\\]/g, "\\$&")}"` : name);

/**
 * A field's addresses, separated by commas or semicolons outside quotes. The server checks each
 * address again; this only splits what was typed into the JMAP shape.
 */
export function parseAddresses(field: string): Address[] {
  const entries: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < field.length; i++) {
    const char = field[i] as string;
    if (char === "\\" && quoted) {
      current += char + (field[++i] ?? "");
    } else if (char === '"') {
      quoted = !quoted;
      current += char;
    } else if ((char === "," || char === ";") && !quoted) {
      entries.push(current);
      current = "";
    } else current += char;
  }
  entries.push(current);
  return entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const angle = /^(.*)<([^<>]+)>$/.exec(entry);
      if (!angle) return { name: null, email: entry };
      const written = (angle[1] as string).trim();
      const quoted = /^"(.*)"$/s.exec(written);
      const name = quoted ? (quoted[1] as string).replace(/\\(.)/gs, "$1") : written;
      return { name: name || null, email: (angle[2] as string).trim() };
    });
}

const withPrefix = (prefix: string, subject: string | null) => {
  const text = subject ?? "";
  return new RegExp(`^${prefix}:`, "i").test(text) ? text : `${prefix}: ${text}`;
};

const dateOf = (email: EmailFull) => new Date(email.sentAt ?? email.receivedAt).toUTCString();

/** The text the reply quotes or the forward carries: the plain parts, as the reader shows them. */
export function textOf(email: EmailFull): string {
  return email.textBody.map((part) => email.bodyValues[part.partId ?? ""]?.value ?? "").join("\n");
}

/** The markup of the message's HTML parts, or null when it has none (only plain text to show). */
export function htmlOf(email: EmailFull): string | null {
  const parts = email.htmlBody.filter((part) => part.type === "text/html");
  if (parts.length === 0) return null;
  return parts.map((part) => email.bodyValues[part.partId ?? ""]?.value ?? "").join("\n");
}

export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"]/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[char] ?? char,
  );

const same = (a: Address, b: string) => a.email.toLowerCase() === b.toLowerCase();

const signed = (identity: Identity | undefined) =>
  identity?.textSignature ? `\n\n-- \n${identity.textSignature}` : "";

/** Where the identity's signature, as it was put in, still stands in the body; -1 if nowhere. */
const signatureAt = (body: string, identity: Identity | undefined) => {
  const signature = signed(identity);
  return signature === "" ? -1 : body.lastIndexOf(signature);
};

/** The body with the old identity's signature, where it still stands, swapped for the new one's. */
export function withSignature(body: string, from: Identity | undefined, to: Identity | undefined): string {
  if (signed(from) === "") return to?.textSignature ? body.replace(/\n*$/, signed(to)) : body;
  const at = signatureAt(body, from);
  return at === -1 ? body : body.slice(0, at) + signed(to) + body.slice(at + signed(from).length);
}

/** Plain text as the editor writes lines: one <div> each, an empty one holding a <br>. */
const linesHtml = (text: string) =>
  text
    .split("\n")
    .map((line) => `<div>${line === "" ? "<br>" : escapeHtml(line)}</div>`)
    .join("");

/**
 * The identity's signature as rich text holds it, the empty line above it included as in plain text:
 * in an element of its own, so that choosing another identity finds it again.
 */
export const signatureHtml = (identity: Identity | undefined) =>
  identity?.textSignature ? `<div data-signature="">${linesHtml(signed(identity).slice(1))}</div>` : "";

/** Plain text as rich text, line for line; the identity's signature, where it still stands, marked. */
export function textToHtml(text: string, identity?: Identity): string {
  const at = signatureAt(text, identity);
  if (at === -1) return linesHtml(text);
  const after = text.slice(at + signed(identity).length).replace(/^\n/, "");
  return linesHtml(text.slice(0, at)) + signatureHtml(identity) + (after === "" ? "" : linesHtml(after));
}

export function newDraft(identity: Identity | undefined): Draft {
  return { ...emptyDraft(), identityId: identity?.id ?? "", body: signed(identity) };
}

/**
 * A reply to the Reply-To (else the From) address; to all, also to the other To and Cc addresses,
 * without the user's own (RFC 5322 §3.6.3).
 */
export function replyDraft(email: EmailFull, identity: Identity | undefined, all: boolean): Draft {
  const me = identity?.email ?? "";
  const to = email.replyTo?.length ? email.replyTo : (email.from ?? []);
  const cc = all
    ? [...(email.to ?? []), ...(email.cc ?? [])].filter(
        (address) => !same(address, me) && !to.some((t) => same(t, address.email)),
      )
    : [];
  const from = email.from?.[0];
  const quoted = textOf(email)
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => (line.startsWith(">") ? `>${line}` : `> ${line}`))
    .join("\n");
  const parent = email.messageId ?? [];
  const intro = `On ${dateOf(email)}, ${from ? from.name || from.email : "someone"} wrote:`;
  const original = originalHtml(email);
  return {
    ...emptyDraft(),
    identityId: identity?.id ?? "",
    to: formatAddresses(to),
    cc: formatAddresses(cc),
    subject: withPrefix("Re", email.subject),
    body: `\n\n${intro}\n${quoted}${signed(identity)}`,
    html: `<div><br></div><div>${escapeHtml(intro)}</div><blockquote type="cite">${original}</blockquote>${signatureHtml(identity)}`,
    inReplyTo: parent.length > 0 ? parent : null,
    references: parent.length > 0 ? [...(email.references ?? email.inReplyTo ?? []), ...parent] : null,
  };
}

/**
 * The original's own markup when it has some (compose sanitizes it before showing or sending it), else
 * its text, kept line for line: what a rich reply quotes and a rich forward carries.
 */
const originalHtml = (email: EmailFull) =>
  htmlOf(email) ?? `<div>${escapeHtml(textOf(email).replace(/\n$/, "")).replace(/\n/g, "<br>")}</div>`;

/**
 * The message inline below a header summary; its attachments go along (their part blob ids). In rich
 * text the original keeps its own markup, as a rich reply quotes it.
 */
export function forwardDraft(email: EmailFull, identity: Identity | undefined): Draft {
  const summary = [
    "---------- Forwarded message ----------",
    `From: ${formatAddresses(email.from)}`,
    `Date: ${dateOf(email)}`,
    `Subject: ${email.subject ?? ""}`,
    `To: ${formatAddresses(email.to)}`,
    ...(email.cc?.length ? [`Cc: ${formatAddresses(email.cc)}`] : []),
  ].join("\n");
  return {
    ...emptyDraft(),
    identityId: identity?.id ?? "",
    subject: withPrefix("Fwd", email.subject),
    body: `${signed(identity)}\n\n${summary}\n\n${textOf(email)}`,
    html: `<div><br></div>${signatureHtml(identity)}<div><br></div><div>${escapeHtml(summary).replace(/\n/g, "<br>")}</div><div><br></div>${originalHtml(email)}`,
    attachments: attachmentsOf(email),
  };
}

/**
 * The whole message attached as it arrived (message/rfc822, RFC 2046 §5.2.1), its headers and
 * attachments intact, for a recipient who needs the original (an abuse desk, a filter to train).
 */
export function forwardAsAttachmentDraft(email: EmailFull, identity: Identity | undefined): Draft {
  const subject = email.subject ?? "";
  return {
    ...emptyDraft(),
    identityId: identity?.id ?? "",
    subject: withPrefix("Fwd", email.subject),
    body: signed(identity),
    attachments: [
      {
        blobId: email.blobId,
        name: `${subject.replace(/[\\/:*?"<>|\x00-\x1f\s]+/g, " ").trim() || "message"}.eml`,
        type: "message/rfc822",
        size: email.size,
      },
    ],
  };
}

function attachmentsOf(email: EmailFull): Attachment[] {
  return email.attachments.flatMap((part) =>
    part.blobId
      ? [{ blobId: part.blobId, name: part.name ?? "attachment", type: part.type, size: part.size }]
      : [],
  );
}

/** A draft from Drafts, opened again: what it says, and the identity whose address it is from. */
export function resumedDraft(email: EmailFull, identities: Identity[]): Draft {
  const from = email.from?.[0];
  const identity =
    identities.find((each) => from && same(from, each.email) && (from.name ?? "") === each.name) ??
    identities.find((each) => from && same(from, each.email));
  return {
    identityId: identity?.id ?? identities[0]?.id ?? "",
    to: formatAddresses(email.to),
    cc: formatAddresses(email.cc),
    bcc: formatAddresses(email.bcc),
    subject: email.subject ?? "",
    // The composer ends the text with a line break; what was typed did not.
    body: textOf(email).replace(/\r?\n$/, ""),
    html: htmlOf(email),
    inReplyTo: email.inReplyTo,
    references: email.references,
    attachments: attachmentsOf(email),
  };
}

/** The Email/set create object (RFC 8621 §4.6) for a draft in the Drafts mailbox. */
export function emailObject(
  draft: Draft,
  identity: Identity | undefined,
  draftsId: string,
): Record<string, unknown> {
  const list = (field: string) => {
    const parsed = parseAddresses(field);
    return parsed.length > 0 ? parsed : null;
  };
  return {
    mailboxIds: { [draftsId]: true },
    keywords: { $draft: true, $seen: true },
    from: identity ? [{ name: identity.name || null, email: identity.email }] : null,
    to: list(draft.to),
    cc: list(draft.cc),
    bcc: list(draft.bcc),
    subject: draft.subject,
    ...(draft.inReplyTo ? { inReplyTo: draft.inReplyTo } : {}),
    ...(draft.references ? { references: draft.references } : {}),
    // Both bodies make the server build multipart/alternative (RFC 8621 §4.6).
    textBody: [{ partId: "text", type: "text/plain" }],
    ...(draft.html !== null ? { htmlBody: [{ partId: "html", type: "text/html" }] } : {}),
    bodyValues: {
      text: { value: draft.body },
      ...(draft.html !== null ? { html: { value: draft.html } } : {}),
    },
    attachments: draft.attachments.map((attachment) => ({
      blobId: attachment.blobId,
      type: attachment.type,
      name: attachment.name,
      disposition: "attachment",
    })),
  };
}

/**
 * The SMTP envelope of a send (RFC 8621 §7): every To, Cc and Bcc address once. The webmail sends the
 * message itself without its Bcc field and names the Bcc recipients here only, so no recipient learns
 * of them (RFC 5322 §3.6.3, its first way); a saved draft keeps the field.
 */
export function envelopeOf(draft: Draft, identity: Identity): Record<string, unknown> {
  const seen = new Set<string>();
  const rcptTo = [draft.to, draft.cc, draft.bcc]
    .flatMap(parseAddresses)
    .filter((address) => !seen.has(address.email.toLowerCase()) && seen.add(address.email.toLowerCase()))
    .map((address) => ({ email: address.email }));
  return { mailFrom: { email: identity.email }, rcptTo };
}

/** Sizes as people read them. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
