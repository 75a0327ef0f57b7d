/** RFC 5229 variables: names, ${…} expansion and the modifiers of "set". */

const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const REFERENCE = /\$\{([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*|[0-9]+)\}/g;

/** A name "set" may assign: an identifier, or one in a namespace the caller knows ("global.x"). */
export function isVariableName(name: string, namespaces: readonly string[]): boolean {
  const parts = name.split(".");
  if (!parts.every((p) => IDENTIFIER.test(p))) return false;
  return parts.length === 1 || (parts.length === 2 && namespaces.includes(parts[0]!.toLowerCase()));
}

/**
 * Replaces each well-formed ${name} by `lookup(name)`; a reference `lookup` does not know (undefined) is
 * left as written, as RFC 5229 §3 says for unknown namespaces. Values are not expanded again.
 */
export function expandVariables(text: string, lookup: (name: string) => string | undefined): string {
  if (!text.includes("${")) return text;
  return text.replace(REFERENCE, (whole, name: string) => lookup(name.toLowerCase()) ?? whole);
}

export function hasVariableReference(text: string): boolean {
  return new RegExp(REFERENCE.source).test(text);
}

/** RFC 5229 §4.1: modifiers apply from the highest precedence down; two of one precedence are an error. */
export const MODIFIER_PRECEDENCE: Record<string, number> = {
  lower: 40,
  upper: 40,
  lowerfirst: 30,
  upperfirst: 30,
  quotewildcard: 20,
  quoteregex: 20,
  length: 10,
};
