// HTML as readable text: what the JMAP preview shows and what the full-text index keeps of an HTML part.

const ENTITIES: ReadonlyMap<string, string> = new Map([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
  ["nbsp", " "],
]);

function entity(match: string, name: string): string {
  if (name.startsWith("#")) {
    const code =
      name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
    return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
  }
  return ENTITIES.get(name.toLowerCase()) ?? match;
}

/**
 * The readable text of HTML, for the preview and the full-text index: no markup, scripts, styles or head; entities decoded. A tag
 * never spans another "<", so a hostile run of "<" without ">" costs linear time, not quadratic.
 */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, " ")
    .replace(/<(script|style|head|title)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, " ")
    .replace(/<\/?(?:p|div|br|tr|td|th|li|ul|ol|table|h[1-6]|blockquote|pre|hr)\b[^<>]*>/gi, " ")
    .replace(/<[^<>]*>/g, "")
    .replace(/&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, entity);
}
