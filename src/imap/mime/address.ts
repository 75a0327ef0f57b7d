/**
 * RFC 5322 §3.4 address lists, parsed leniently into IMAP address structures (RFC 9051 §7.5.2):
 * name, source route (always NIL), mailbox and host, with groups as start/end markers.
 */

export interface ImapAddress {
  name: string | null;
  mailbox: string | null;
  host: string | null;
}

/** Host used for an address without "@", so it is not mistaken for a group marker (host NIL). */
export const MISSING_HOST = ".MISSING-HOST-NAME.";

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

/** A display name: words joined by single spaces, quotes removed; encoded words stay as written. */
function phrase(tokens: readonly Token[]): string | null {
  const words: string[] = [];
  for (const t of tokens) {
    if (t.kind === "word") words.push(t.text);
    else if (t.kind === "special" && t.char === ".") words.push(".");
  }
  const text = words.join(" ").replace(/ \. /g, ". ").trim();
  return text === "" ? null : text;
}

/** local-part "@" domain, as written (quoted local parts keep their quotes); route prefixes dropped. */
function addrSpec(tokens: readonly Token[]): { mailbox: string | null; host: string | null } {
  let spec = tokens.filter((t) => t.kind !== "comment");
  const routeEnd = spec.findLastIndex((t) => isSpecial(t, ":"));
  if (routeEnd >= 0) spec = spec.slice(routeEnd + 1);
  const at = spec.findLastIndex((t) => isSpecial(t, "@"));
  const text = (list: readonly Token[]) =>
    list.map((t) => (t.kind === "word" ? t.raw : t.kind === "special" ? t.char : "")).join("");
  if (at < 0) {
    const mailbox = text(spec);
    return { mailbox: mailbox === "" ? null : mailbox, host: mailbox === "" ? null : MISSING_HOST };
  }
  return { mailbox: text(spec.slice(0, at)), host: text(spec.slice(at + 1)) };
}

function mailbox(tokens: readonly Token[]): ImapAddress | null {
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
    if (spec.mailbox === null && name === null) return null;
    return { name, ...spec };
  }
  // An addr-spec alone; an old-style trailing comment ("user@host (Name)") supplies the name.
  const comment = tokens.findLast((t) => t.kind === "comment");
  const spec = addrSpec(tokens);
  if (spec.mailbox === null) return null;
  return { name: comment !== undefined && comment.text !== "" ? comment.text : null, ...spec };
}

/**
 * Parses an address-list header value. Groups become a start marker (mailbox = group name, host NIL) and
 * an end marker (all NIL), as RFC 9051 §7.5.2 specifies.
 */
export function parseAddressList(input: string): ImapAddress[] {
  const tokens = tokenize(input);
  const out: ImapAddress[] = [];
  let current: Token[] = [];
  let inAngle = false;
  let inGroup = false;
  const flush = () => {
    const address = mailbox(current);
    if (address !== null) out.push(address);
    current = [];
  };
  for (const t of tokens) {
    if (isSpecial(t, "<")) inAngle = true;
    else if (isSpecial(t, ">")) inAngle = false;
    if (!inAngle && !inGroup && isSpecial(t, ":") && !current.some((c) => isSpecial(c, "@"))) {
      out.push({ name: null, mailbox: phrase(current) ?? "", host: null });
      inGroup = true;
      current = [];
    } else if (!inAngle && inGroup && isSpecial(t, ";")) {
      flush();
      out.push({ name: null, mailbox: null, host: null });
      inGroup = false;
    } else if (!inAngle && (isSpecial(t, ",") || isSpecial(t, ";"))) {
      flush();
    } else {
      current.push(t);
    }
  }
  flush();
  if (inGroup) out.push({ name: null, mailbox: null, host: null });
  return out;
}
