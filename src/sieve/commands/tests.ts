/** The tests of RFC 5228 §5: address, envelope, header, exists, size, allof, anyof, not, true, false. */
import {
  ADDRESS_HEADERS,
  ADDRESS_PART_TAGS,
  addressPart,
  addressPartOf,
  headerAddresses,
  splitAddress,
} from "../address.js";
import { arg, type CheckContext, type TestDef } from "../definition.js";
import type { Position } from "../errors.js";
import { checkIndex, checkMatch, INDEX_TAGS, keyed, MATCH_TAGS, matchKeys, selectIndex } from "../match.js";
import { isFieldName } from "../message.js";
import type { BoundArgs } from "../signature.js";

export function constant(args: BoundArgs, index: number): string[] {
  const value = args.positional[index]?.value;
  return Array.isArray(value) ? value : [];
}

/** Header names must be field names (RFC 5228 §2.4.2.2 via RFC 5322 §3.6.8); checked when constant. */
export function checkHeaderNames(names: readonly string[], ctx: CheckContext, pos: Position): void {
  for (const name of names) {
    if (ctx.has("variables") && name.includes("${")) continue;
    if (!isFieldName(name)) ctx.error(`"${name}" is not a valid header field name`, pos);
  }
}

const simple = (name: string, value: boolean): TestDef => ({
  kind: "test",
  name,
  signature: {},
  evaluate: () => value,
});

export const TESTS: TestDef[] = [
  simple("true", true),
  simple("false", false),
  {
    kind: "test",
    name: "not",
    signature: { tests: "one" },
    evaluate: (rt, node) => !rt.test(node.tests[0]!),
  },
  {
    kind: "test",
    name: "allof",
    signature: { tests: "list" },
    evaluate: (rt, node) => node.tests.every((t) => rt.test(t)),
  },
  {
    kind: "test",
    name: "anyof",
    signature: { tests: "list" },
    evaluate: (rt, node) => node.tests.some((t) => rt.test(t)),
  },
  {
    kind: "test",
    name: "exists",
    signature: { positional: [{ name: "header names", type: "string-list" }] },
    check: (args, ctx, pos) => checkHeaderNames(constant(args, 0), ctx, pos),
    evaluate: (rt, node) =>
      rt.expandList(arg<string[]>(node.args, 0)).every((name) => rt.message.rawValues(name).length > 0),
  },
  {
    kind: "test",
    name: "size",
    signature: {
      tags: { over: { group: "size" }, under: { group: "size" } },
      requiredGroup: "size",
      positional: [{ name: "limit", type: "number" }],
    },
    evaluate: (rt, node) => {
      const limit = arg<number>(node.args, 0);
      return node.args.tags.has("over") ? rt.message.size > limit : rt.message.size < limit;
    },
  },
  {
    kind: "test",
    name: "header",
    signature: {
      tags: { ...MATCH_TAGS, ...INDEX_TAGS },
      positional: keyed("header names"),
    },
    check: (args, ctx, pos) => {
      checkMatch(args, ctx, constant(args, 1));
      checkIndex(args, ctx);
      checkHeaderNames(constant(args, 0), ctx, pos);
    },
    evaluate: (rt, node) => {
      const values = rt
        .expandList(arg<string[]>(node.args, 0))
        .flatMap((name) => selectIndex(node.args, rt.message.values(name)));
      return matchKeys(rt, node, values, 1);
    },
  },
  {
    kind: "test",
    name: "address",
    signature: {
      tags: { ...MATCH_TAGS, ...ADDRESS_PART_TAGS, ...INDEX_TAGS },
      positional: keyed("header list"),
    },
    check: (args, ctx, pos) => {
      checkMatch(args, ctx, constant(args, 1));
      checkIndex(args, ctx);
      checkHeaderNames(constant(args, 0), ctx, pos);
      for (const name of constant(args, 0)) {
        if (isFieldName(name) && !ADDRESS_HEADERS.has(name.toLowerCase()))
          ctx.error(
            `the address test does not apply to "${name}", which holds no addresses (RFC 5228 §5.1)`,
            pos,
          );
      }
    },
    evaluate: (rt, node) => {
      const part = addressPartOf(node.args.tags);
      const values = rt
        .expandList(arg<string[]>(node.args, 0))
        .flatMap((name) => selectIndex(node.args, rt.message.rawValues(name)))
        .flatMap(headerAddresses)
        .map((address) => addressPart(address, part))
        .filter((value) => value !== null);
      return matchKeys(rt, node, values, 1);
    },
  },
  {
    kind: "test",
    name: "envelope",
    extension: "envelope",
    signature: {
      tags: { ...MATCH_TAGS, ...ADDRESS_PART_TAGS },
      positional: keyed("envelope part"),
    },
    check: (args, ctx, pos) => {
      checkMatch(args, ctx, constant(args, 1));
      for (const part of constant(args, 0)) {
        if (!ENVELOPE_PARTS.includes(part.toLowerCase()))
          ctx.error(`unknown envelope part "${part}" (expected from, to or auth)`, pos);
      }
    },
    evaluate: (rt, node) => {
      const part = addressPartOf(node.args.tags);
      const values = rt
        .expandList(arg<string[]>(node.args, 0))
        .flatMap((name) => envelopeAddress(rt.envelope, name.toLowerCase()))
        .map((address) => addressPart(splitAddress(address), part))
        .filter((value) => value !== null);
      return matchKeys(rt, node, values, 1);
    },
  },
];

const ENVELOPE_PARTS = ["from", "to", "auth"];

function envelopeAddress(
  envelope: { from: string; to: string; auth?: string | null },
  part: string,
): string[] {
  if (part === "from") return [envelope.from];
  if (part === "to") return [envelope.to];
  return part === "auth" && envelope.auth ? [envelope.auth] : [];
}
