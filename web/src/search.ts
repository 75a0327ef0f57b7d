// The search box's language, turned into a JMAP Email/query filter (RFC 8621 §4.4.1): terms are ANDed;
// `from:`, `to:`, `subject:` take a word or a "quoted phrase"; `is:unread|read|flagged`,
// `has:attachment`; `before:`/`after:` a day (YYYY-MM-DD or YYYY/MM/DD, UTC); `-` before a term negates
// it; anything else, a word or a "phrase", is free text (JMAP's `text`: addresses, subject and body).
// A term whose operator or value is not understood is searched as text, so nothing typed is ignored.

export type Filter = { [condition: string]: unknown } | { operator: "AND" | "NOT"; conditions: Filter[] };

interface Term {
  negated: boolean;
  key: string | null;
  value: string;
  /** The term without its dash and quotes, searched as text when its operator is unknown. */
  raw: string;
}

const KEYWORDS: Record<string, Filter> = {
  "is:unread": { notKeyword: "$seen" },
  "is:read": { hasKeyword: "$seen" },
  "is:flagged": { hasKeyword: "$flagged" },
  "is:starred": { hasKeyword: "$flagged" },
  "has:attachment": { hasAttachment: true },
};

/** The filter for a search string, or null when it holds no term. */
export function searchFilter(query: string): Filter | null {
  const conditions = terms(query).map((term) => {
    const condition = conditionOf(term);
    return term.negated ? { operator: "NOT" as const, conditions: [condition] } : condition;
  });
  if (conditions.length === 0) return null;
  return conditions.length === 1 ? (conditions[0] as Filter) : { operator: "AND", conditions };
}

function conditionOf(term: Term): Filter {
  const { key, value } = term;
  if (key === "from" || key === "to" || key === "subject") return { [key]: value };
  if (key === "is" || key === "has") {
    const known = KEYWORDS[`${key}:${value.toLowerCase()}`];
    if (known) return known;
  }
  if (key === "before" || key === "after") {
    const day = utcDay(value);
    if (day !== null) return { [key]: day };
  }
  return { text: term.raw };
}

/** "2024-03-01" or "2024/03/01" as the UTCDate of that day's start, or null when it is no real day. */
function utcDay(value: string): string | null {
  const match = /^(\d{4})[-/](\d{2})[-/](\d{2})$/.exec(value);
  if (!match) return null;
  const day = `${match[1]}-${match[2]}-${match[3]}`;
  const date = new Date(`${day}T00:00:00Z`);
  // Date rolls 2024-02-30 over to March: only a day that prints back as itself is real.
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day) ? `${day}T00:00:00Z` : null;
}

/** Splits at white space outside quotes; `key:` is a run of letters before a colon. */
function terms(query: string): Term[] {
  const found: Term[] = [];
  for (const match of query.matchAll(/(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))/g)) {
    const [, dash, key, quoted, word] = match;
    const value = quoted ?? word ?? "";
    // An empty phrase says nothing to search for.
    if (value === "") continue;
    found.push({
      negated: dash === "-",
      key: key?.toLowerCase() ?? null,
      value,
      raw: key === undefined ? value : `${key}:${value}`,
    });
  }
  return found;
}
