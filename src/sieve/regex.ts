/**
 * :regex (draft-ietf-sieve-regex-01): POSIX extended regular expressions, run as JS RegExp. "." also
 * matches line ends and "^"/"$" only anchor the whole string, as regcomp() without REG_NEWLINE does.
 * JS has no time limit on a match, so patterns that can backtrack exponentially — a repeated group that
 * itself repeats or alternates, back-references — are refused, and so is a pattern over the size limit.
 */

const CLASSES: Record<string, string> = {
  alpha: "a-zA-Z",
  digit: "0-9",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\r\\n\\v\\f",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  cntrl: "\\x00-\\x1f\\x7f",
  print: "\\x20-\\x7e",
  graph: "\\x21-\\x7e",
};

/** Translates a bracket expression starting at `start` ("["); returns the JS class and where it ends. */
function bracket(pattern: string, start: number): { js: string; end: number } {
  let i = start + 1;
  let js = "[";
  if (pattern[i] === "^") {
    js += "^";
    i++;
  }
  let first = true;
  while (i < pattern.length && (first || pattern[i] !== "]")) {
    first = false;
    const c = pattern[i]!;
    if (c === "[" && pattern[i + 1] === ":") {
      const close = pattern.indexOf(":]", i + 2);
      const name = close < 0 ? undefined : pattern.slice(i + 2, close);
      const cls = name === undefined ? undefined : CLASSES[name];
      if (cls === undefined) throw new Error(`unknown character class in ${pattern.slice(i)}`);
      js += cls;
      i = close + 2;
      continue;
    }
    // In a POSIX bracket expression "\" and "]" (when first) are literal.
    js += c === "\\" || c === "]" || c === "[" ? `\\${c}` : c;
    i++;
  }
  if (i >= pattern.length) throw new Error("unmatched [");
  return { js: `${js}]`, end: i + 1 };
}

const QUANTIFIER = /^(?:[*+]|\{\d*,?\d*\})/;

/** Throws when a repeated group repeats or alternates inside, the shape of catastrophic backtracking. */
function refuseNestedRepetition(js: string): void {
  const open: Array<{ inner: boolean }> = [];
  let inner = false;
  for (let i = 0; i < js.length; i++) {
    const c = js[i];
    if (c === "\\") {
      i++;
    } else if (c === "[") {
      while (i < js.length && js[i] !== "]") i += js[i] === "\\" ? 2 : 1;
    } else if (c === "(") {
      open.push({ inner });
      inner = false;
    } else if (c === ")") {
      const repeated = QUANTIFIER.test(js.slice(i + 1));
      if (repeated && inner)
        throw new Error("repetition of a group that repeats or alternates is not allowed");
      inner = (open.pop()?.inner ?? false) || inner || repeated;
    } else if (c === "|" || QUANTIFIER.test(js.slice(i))) {
      inner = true;
    }
  }
}

/** Compiles a POSIX ERE; throws an Error with the reason when it is invalid or refused. */
export function compileRegex(pattern: string, caseInsensitive: boolean, maxLength: number): RegExp {
  if (pattern.length > maxLength) throw new Error(`pattern is longer than ${maxLength} characters`);
  let js = "";
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "[") {
      const { js: cls, end } = bracket(pattern, i);
      js += cls;
      i = end;
    } else if (c === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) throw new Error("trailing backslash");
      if (/[0-9]/.test(next)) throw new Error("back-references are not allowed");
      // glibc's regcomp, which Pigeonhole uses, also knows \w \W \s \S \b \B; other letters are literal.
      js += /[wWsSbB]/.test(next) ? `\\${next}` : /[a-zA-Z]/.test(next) ? next : `\\${next}`;
      i += 2;
    } else {
      js += c;
      i++;
    }
  }
  refuseNestedRepetition(js);
  try {
    return new RegExp(js, caseInsensitive ? "si" : "s");
  } catch (e) {
    throw new Error((e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ""));
  }
}

/** Quotes the characters special in a POSIX ERE (RFC 5229 §4.1 via the regex draft's :quoteregex). */
export function quoteRegex(text: string): string {
  return text.replace(/[\\^$.[\]|()*+?{}]/g, "\\$&");
}
