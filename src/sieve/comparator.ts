/** The comparators of RFC 4790 every Sieve implementation has (RFC 5228 §2.7.3) plus i;ascii-numeric. */

export interface Comparator {
  name: string;
  /** Maps a string to the form equality and substring matching compare; null when substrings are unsupported. */
  fold: ((text: string) => string) | null;
  equals(a: string, b: string): boolean;
  /** Ordering for relational matches (RFC 5231): negative, zero or positive. */
  compare(a: string, b: string): number;
}

function octetCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** ASCII letters only are folded (RFC 4790 §9.2); other characters compare as octets. */
export function asciiUpper(text: string): string {
  return text.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/**
 * RFC 4790 §9.1: the value is the leading digits; a string that does not start with a digit is positive
 * infinity, equal only to another such string.
 */
function numericKey(text: string): string | null {
  const digits = /^[0-9]+/.exec(text)?.[0];
  return digits === undefined ? null : digits.replace(/^0+(?=.)/, "");
}

function numericCompare(a: string, b: string): number {
  const x = numericKey(a);
  const y = numericKey(b);
  if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0;
}

export const COMPARATORS: Record<string, Comparator> = {
  "i;octet": { name: "i;octet", fold: (t) => t, equals: (a, b) => a === b, compare: octetCompare },
  "i;ascii-casemap": {
    name: "i;ascii-casemap",
    fold: asciiUpper,
    equals: (a, b) => asciiUpper(a) === asciiUpper(b),
    compare: (a, b) => octetCompare(asciiUpper(a), asciiUpper(b)),
  },
  "i;ascii-numeric": {
    name: "i;ascii-numeric",
    fold: null,
    equals: (a, b) => numericCompare(a, b) === 0,
    compare: numericCompare,
  },
};

/** The capability a comparator needs in "require"; the two every implementation has need none. */
export function comparatorCapability(name: string): string | null {
  return name === "i;octet" || name === "i;ascii-casemap" ? null : `comparator-${name}`;
}
