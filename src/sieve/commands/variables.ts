/** The variables extension (RFC 5229): "set" with its modifiers, and the "string" test. */
import { arg, type CommandDef, type TestDef } from "../definition.js";
import { checkMatch, keyed, MATCH_TAGS, matchAny, matchSpec } from "../match.js";
import { quoteRegex } from "../regex.js";
import type { TagSpec } from "../signature.js";
import { isVariableName, MODIFIER_PRECEDENCE } from "../variables.js";
import { quoteWildcards } from "../wildcard.js";
import { constant } from "./tests.js";

const firstChar = (text: string, map: (c: string) => string) => {
  const [first = "", ...rest] = Array.from(text);
  return map(first) + rest.join("");
};

const MODIFIERS: Record<string, (text: string) => string> = {
  lower: (t) => t.toLowerCase(),
  upper: (t) => t.toUpperCase(),
  lowerfirst: (t) => firstChar(t, (c) => c.toLowerCase()),
  upperfirst: (t) => firstChar(t, (c) => c.toUpperCase()),
  quotewildcard: quoteWildcards,
  quoteregex: quoteRegex,
  length: (t) => String(Array.from(t).length),
};

const MODIFIER_TAGS: Record<string, TagSpec> = Object.fromEntries(
  Object.keys(MODIFIERS).map((name) => [name, name === "quoteregex" ? { requires: "regex" } : {}]),
);

export const VARIABLE_COMMANDS: CommandDef[] = [
  {
    kind: "command",
    name: "set",
    extension: "variables",
    signature: {
      tags: MODIFIER_TAGS,
      positional: [
        { name: "name", type: "string" },
        { name: "value", type: "string" },
      ],
    },
    check: (args, ctx) => {
      const name = args.positional[0];
      const namespaces = ctx.has("include") ? ["global"] : [];
      if (typeof name?.value === "string" && !isVariableName(name.value, namespaces))
        ctx.error(`set: "${name.value}" is not a valid variable name (RFC 5229 §3)`, name.pos);
      const seen = new Map<number, string>();
      for (const [modifier, bound] of args.tags) {
        const precedence = MODIFIER_PRECEDENCE[modifier]!;
        const other = seen.get(precedence);
        if (other !== undefined)
          ctx.error(`set: ":${modifier}" cannot be combined with ":${other}" (RFC 5229 §4.1)`, bound.pos);
        seen.set(precedence, modifier);
      }
    },
    execute: (rt, node) => {
      const modifiers = [...node.args.tags.keys()].sort(
        (a, b) => MODIFIER_PRECEDENCE[b]! - MODIFIER_PRECEDENCE[a]!,
      );
      const value = modifiers.reduce((text, m) => MODIFIERS[m]!(text), rt.expand(arg<string>(node.args, 1)));
      rt.setVariable(arg<string>(node.args, 0), value);
    },
  },
];

export const VARIABLE_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "string",
    extension: "variables",
    signature: {
      tags: MATCH_TAGS,
      positional: keyed("source"),
    },
    check: (args, ctx) => checkMatch(args, ctx, constant(args, 1)),
    evaluate: (rt, node) => {
      const spec = matchSpec(node.args);
      const sources = rt.expandList(arg<string[]>(node.args, 0));
      // RFC 5229 §5: with :count only the non-empty strings are counted.
      const values = spec.type === "count" ? sources.filter((s) => s !== "") : sources;
      return matchAny(rt, spec, values, rt.expandList(arg<string[]>(node.args, 1)), node.pos);
    },
  },
];
