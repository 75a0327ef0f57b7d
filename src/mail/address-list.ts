// The program's one parser for RFC 5322 §3.4 address lists (From, To, Cc, …, and addresses given on the
// command line). It is lenient, as mail in the wild needs: obsolete routes are kept apart, comments give a
// name when there is no other, a missing "@" or ";" is tolerated. Everything is kept as written, so IMAP
// ENVELOPE can show it unchanged; callers that display a name decode its encoded words themselves.

export interface Mailbox {
  /** The display name with quotes removed; RFC 2047 encoded words are left as written. */
  name: string | null;
  /** The local part as written: a quoted one keeps its quotes. "" only for a named, empty "<>". */
  local: string;
  /** The domain as written; null when there is no "@". */
  domain: string | null;
  /** The obsolete source route (RFC 5322 §4.4 obs-route) as written, "@relay,@relay2"; absent without one. */
  route?: string;
}

export interface Group {
  group: string;
  mailboxes: Mailbox[];
}

type Token =
  | { kind: "word"; raw: string; text: string }
  | { kind: "comment"; text: string }
  | { kind: "special"; char: string };

const SPECIALS = "<>@,;:.[]";

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? "";
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === '"') {
      let text = "";
      let j = i + 1;
      while (j < input.length && input[j] !== '"') {
        if (input[j] === "\\" && j + 1 < input.length) j++;
        text += input[j];
        j++;
      }
      tokens.push({ kind: "word", raw: input.slice(i, j + 1), text });
      i = j + 1;
    } else if (c === "(") {
      let depth = 0;
      let text = "";
      let j = i;
      while (j < input.length) {
        const d = input[j];
        if (d === "\\" && j + 1 < input.length) {
          text += input[j + 1];
          j += 2;
          continue;
        }
        if (d === "(") {
          if (depth > 0) text += d;
          depth++;
        } else if (d === ")") {
          depth--;
          if (depth === 0) break;
          text += d;
        } else {
          text += d;
        }
        j++;
      }
      tokens.push({ kind: "comment", text: text.trim() });
      i = j + 1;
    } else if (c === "[") {
      // A domain literal is kept whole (RFC 5322 §3.4.1).
      const close = input.indexOf("]", i);
      const j = close < 0 ? input.length : close + 1;
      tokens.push({ kind: "word", raw: input.slice(i, j), text: input.slice(i, j) });
      i = j;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: "special", char: c });
      i++;
    } else {
      let j = i;
      while (j < input.length && !` \t\r\n"(${SPECIALS}`.includes(input[j] ?? "")) j++;
      const raw = input.slice(i, j);
      tokens.push({ kind: "word", raw, text: raw });
      i = j;
    }
  }
  return tokens;
}

function isSpecial(t: Token | undefined, char: string): boolean {
  return t !== undefined && t.kind === "special" && t.char === char;
}

/**
 * A display name: words joined by single spaces, quotes removed. An unquoted "." (RFC 5322 §4.1
 * obs-phrase, as in "Smith Jr.") joins the word before it; quoted text is never altered.
 */
function phrase(tokens: readonly Token[]): string | null {
  let text = "";
  let words = 0;
  for (const t of tokens) {
    if (t.kind === "word") {
      text += words === 0 ? t.text : ` ${t.text}`;
      words++;
    } else if (isSpecial(t, ".")) {
      text += ".";
      words++;
    }
  }
  text = text.trim();
  return text === "" ? null : text;
}

type AddrSpec = Pick<Mailbox, "local" | "domain" | "route">;

/** local-part "@" domain, as written, and the route before it if any. Null when there is nothing. */
function addrSpec(tokens: readonly Token[]): AddrSpec | null {
  let spec = tokens.filter((t) => t.kind !== "comment");
  const text = (list: readonly Token[]) =>
    list.map((t) => (t.kind === "word" ? t.raw : t.kind === "special" ? t.char : "")).join("");
  const routeEnd = spec.findLastIndex((t) => isSpecial(t, ":"));
  const route = routeEnd > 0 ? { route: text(spec.slice(0, routeEnd)) } : {};
  if (routeEnd >= 0) spec = spec.slice(routeEnd + 1);
  const at = spec.findLastIndex((t) => isSpecial(t, "@"));
  if (at < 0) {
    const local = text(spec);
    return local === "" ? null : { local, domain: null, ...route };
  }
  return { local: text(spec.slice(0, at)), domain: text(spec.slice(at + 1)), ...route };
}

function mailbox(tokens: readonly Token[]): Mailbox | null {
  if (!tokens.some((t) => t.kind !== "comment")) return null;
  const open = tokens.findIndex((t) => isSpecial(t, "<"));
  if (open >= 0) {
    let close = tokens.findIndex((t, i) => i > open && isSpecial(t, ">"));
    if (close < 0) close = tokens.length;
    let name = phrase(tokens.slice(0, open));
    if (name === null) {
      const comment = tokens.slice(0, open).find((t) => t.kind === "comment");
      if (comment !== undefined && comment.text !== "") name = comment.text;
    }
    const spec = addrSpec(tokens.slice(open + 1, close));
    if (spec === null) return name === null ? null : { name, local: "", domain: null };
    return { name, ...spec };
  }
  // An addr-spec alone; an old-style trailing comment ("user@host (Name)") supplies the name.
  const spec = addrSpec(tokens);
  if (spec === null) return null;
  const comment = tokens.findLast((t) => t.kind === "comment");
  return { name: comment !== undefined && comment.text !== "" ? comment.text : null, ...spec };
}

/** Parses an address-list header value (or an argument written like one) into mailboxes and groups. */
export function parseAddressList(value: string): Array<Mailbox | Group> {
  const out: Array<Mailbox | Group> = [];
  let group: Group | null = null;
  let current: Token[] = [];
  let inAngle = false;
  const flush = () => {
    const found = mailbox(current);
    if (found !== null) (group?.mailboxes ?? out).push(found);
    current = [];
  };
  for (const t of tokenize(value)) {
    if (isSpecial(t, "<")) inAngle = true;
    else if (isSpecial(t, ">")) inAngle = false;
    if (!inAngle && group === null && isSpecial(t, ":") && !current.some((c) => isSpecial(c, "@"))) {
      group = { group: phrase(current) ?? "", mailboxes: [] };
      out.push(group);
      current = [];
    } else if (!inAngle && group !== null && isSpecial(t, ";")) {
      flush();
      group = null;
    } else if (!inAngle && (isSpecial(t, ",") || isSpecial(t, ";"))) {
      flush();
    } else {
      current.push(t);
    }
  }
  flush();
  return out;
}

/** "local@domain", or the local part alone when there is no "@". */
export function mailboxAddress(mailbox: Mailbox): string {
  return mailbox.domain === null ? mailbox.local : `${mailbox.local}@${mailbox.domain}`;
}

/** Every address with an "@" in a header value or argument ("A <a@x>, b@y, group: c@z;"), groups flattened. */
export function parseAddresses(value: string): string[] {
  return parseAddressList(value)
    .flatMap((entry) => ("group" in entry ? entry.mailboxes : [entry]))
    .filter((mailbox) => mailbox.domain !== null)
    .map(mailboxAddress);
}

/** The bare address of "Name <addr>" or "addr"; the input itself when it holds no address. */
export function addressOf(value: string): string {
  return parseAddresses(value)[0] ?? value.trim();
}

/**
 * "Name <address>" for a header field: the name as a quoted string, or as an RFC 2047 encoded word when
 * it is not plain ASCII; "<address>" without a name.
 */
export function formatMailbox(name: string | null, address: string): string {
  if (!name) return `<${address}>`;
  const clean = name.replace(/[\r\n]/g, " ").trim();
  const display = /[^\x20-\x7e]/.test(clean)
    ? `=?UTF-8?B?${Buffer.from(clean, "utf8").toString("base64")}?=`
    : `"${clean.replace(/["\\]/g, "\\$&")}"`;
  return `${display} <${address}>`;
}
