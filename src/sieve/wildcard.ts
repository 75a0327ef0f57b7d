/**
 * :matches patterns (RFC 5228 §2.7.1): "*" any run of characters, "?" one character, "\" quotes the
 * next. Matching places each literal run as early as it can, which is both linear-time (no backtracking
 * blow-up) and the leftmost-shortest assignment RFC 5229 §3.2 wants for ${1}…: each "*" takes as little
 * as it can, the last one the rest.
 */

type Item = { kind: "char"; char: string } | { kind: "one" };

function segments(pattern: string): Item[][] {
  const out: Item[][] = [[]];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "*") out.push([]);
    else if (c === "?") out[out.length - 1]!.push({ kind: "one" });
    else {
      const char = c === "\\" && i + 1 < chars.length ? chars[++i]! : c;
      out[out.length - 1]!.push({ kind: "char", char });
    }
  }
  return out;
}

function fits(segment: readonly Item[], value: readonly string[], at: number): boolean {
  return segment.every((item, i) => item.kind === "one" || item.char === value[at + i]);
}

/**
 * Matches `value` against `pattern`, both already folded by the comparator; returns the text of each
 * wildcard in pattern order, taken from `original` (same length as `value`), or null for no match.
 */
export function wildcardMatch(pattern: string, value: string, original: string = value): string[] | null {
  const segs = segments(pattern);
  const chars = Array.from(value);
  const source = Array.from(original);
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  const captures: string[] = [];
  const ones = (segment: readonly Item[], at: number) =>
    segment.forEach((item, i) => {
      if (item.kind === "one") captures.push(source[at + i]!);
    });
  if (segs.length === 1) {
    if (first.length !== chars.length || !fits(first, chars, 0)) return null;
    ones(first, 0);
    return captures;
  }
  const tailStart = chars.length - last.length;
  if (first.length > tailStart || !fits(first, chars, 0) || !fits(last, chars, tailStart)) return null;
  ones(first, 0);
  let cursor = first.length;
  for (const segment of segs.slice(1, -1)) {
    let at = cursor;
    while (at + segment.length <= tailStart && !fits(segment, chars, at)) at++;
    if (at + segment.length > tailStart) return null;
    captures.push(source.slice(cursor, at).join(""));
    ones(segment, at);
    cursor = at + segment.length;
  }
  captures.push(source.slice(cursor, tailStart).join(""));
  ones(last, tailStart);
  return captures;
}

/** Quotes "*", "?" and "\" so a string matches only itself (RFC 5229 §4.1 :quotewildcard). */
export function quoteWildcards(text: string): string {
  return text.replace(/[*?\\]/g, "\\$&");
}
