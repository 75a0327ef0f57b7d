// The Filters page's rules as data, and the Sieve (RFC 5228) they compile to, pure. A script written here
// is read back by parseRules only when it is exactly what compileRules writes for the rules it reads:
// anything edited elsewhere (ManageSieve, another client) is not this editor's to rewrite, and the page
// shows it read-only instead.

export type RuleField = "from" | "to" | "subject" | "header";
export type RuleMatch = "contains" | "is" | "matches";

export interface Rule {
  field: RuleField;
  /** The header's name, for field "header". */
  header: string;
  match: RuleMatch;
  value: string;
  /** A mailbox path ("Lists/Dev"), or null to leave the message where it goes. */
  moveTo: string | null;
  markRead: boolean;
  flag: boolean;
  /** An address to send the message on to, or null. */
  redirectTo: string | null;
  discard: boolean;
  /** No later rule is tried. */
  stop: boolean;
}

/** The first line of every script this editor writes. */
export const MARKER = "# Filters written by mailroom's webmail (Settings, Filters)";

/** The script's name on the server. */
export const SCRIPT_NAME = "webmail-filters";

export function emptyRule(): Rule {
  return {
    field: "from",
    header: "",
    match: "contains",
    value: "",
    moveTo: null,
    markRead: false,
    flag: false,
    redirectTo: null,
    discard: false,
    stop: false,
  };
}

/** RFC 5228 §2.4.2: in a quoted string, only `"` and `\` are escaped. */
function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function unquote(text: string): string {
  return text.slice(1, -1).replace(/\\(.)/g, "$1");
}

function headerOf(rule: Rule): string {
  return rule.field === "header" ? rule.header : rule.field;
}

/** The body lines of a rule, in the one order they are written and read in: flags before the filing. */
function actionLines(rule: Rule): string[] {
  const lines: string[] = [];
  if (rule.markRead) lines.push('addflag "\\\\Seen";');
  if (rule.flag) lines.push('addflag "\\\\Flagged";');
  if (rule.moveTo !== null) lines.push(`fileinto :create ${quote(rule.moveTo)};`);
  if (rule.redirectTo !== null) lines.push(`redirect ${quote(rule.redirectTo)};`);
  if (rule.discard) lines.push("discard;");
  if (rule.stop) lines.push("stop;");
  return lines;
}

/** What a rule cannot be compiled with, in words; null when it can. */
export function ruleProblem(rule: Rule): string | null {
  if (rule.field === "header" && !/^[!-9;-~]+$/.test(rule.header)) return "give the header's name";
  if (rule.value === "") return "give the text to look for";
  if (rule.moveTo !== null && rule.moveTo === "") return "choose the mailbox to move to";
  if (rule.redirectTo !== null && !/^[^\s@]+@[^\s@]+$/.test(rule.redirectTo))
    return "give an address to redirect to";
  if (actionLines(rule).length === 0) return "choose what to do";
  return null;
}

export function compileRules(rules: Rule[]): string {
  const needs = new Set<string>();
  for (const rule of rules) {
    if (rule.moveTo !== null) needs.add("fileinto").add("mailbox");
    if (rule.markRead || rule.flag) needs.add("imap4flags");
  }
  const extensions = ["fileinto", "imap4flags", "mailbox"].filter((name) => needs.has(name));
  const lines = [MARKER];
  if (extensions.length > 0) lines.push(`require [${extensions.map(quote).join(", ")}];`);
  for (const rule of rules) {
    lines.push(`if header :${rule.match} ${quote(headerOf(rule))} ${quote(rule.value)} {`);
    for (const line of actionLines(rule)) lines.push(`  ${line}`);
    lines.push("}");
  }
  return `${lines.join("\n")}\n`;
}

const STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const CONDITION = new RegExp(String.raw`^if header :(contains|is|matches) (${STRING}) (${STRING}) \{$`);
const FILEINTO = new RegExp(String.raw`^  fileinto :create (${STRING});$`);
const REDIRECT = new RegExp(String.raw`^  redirect (${STRING});$`);

function fieldOf(header: string): Pick<Rule, "field" | "header"> {
  return header === "from" || header === "to" || header === "subject"
    ? { field: header, header: "" }
    : { field: "header", header };
}

/** The rules `source` was compiled from, or null when this editor did not write it (as it stands). */
export function parseRules(source: string): Rule[] | null {
  const lines = source.split("\n");
  if (lines[0] !== MARKER || lines.at(-1) !== "") return null;
  const rules: Rule[] = [];
  let rule: Rule | null = null;
  for (const line of lines.slice(1, -1)) {
    if (rule === null) {
      if (line.startsWith("require ") && rules.length === 0) continue;
      const condition = CONDITION.exec(line);
      if (condition === null) return null;
      rule = {
        ...emptyRule(),
        ...fieldOf(unquote(condition[2] as string)),
        match: condition[1] as RuleMatch,
        value: unquote(condition[3] as string),
      };
      continue;
    }
    const fileinto = FILEINTO.exec(line);
    const redirect = REDIRECT.exec(line);
    if (line === "}") {
      rules.push(rule);
      rule = null;
    } else if (line === '  addflag "\\\\Seen";') rule.markRead = true;
    else if (line === '  addflag "\\\\Flagged";') rule.flag = true;
    else if (fileinto) rule.moveTo = unquote(fileinto[1] as string);
    else if (redirect) rule.redirectTo = unquote(redirect[1] as string);
    else if (line === "  discard;") rule.discard = true;
    else if (line === "  stop;") rule.stop = true;
    else return null;
  }
  if (rule !== null) return null;
  // Read leniently above, held strictly here: only a script that is exactly what these rules compile
  // to counts as this editor's.
  return compileRules(rules) === source ? rules : null;
}
