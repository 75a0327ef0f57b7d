/** spamtest, spamtestplus and virustest (RFC 5235), fed by the scores the environment gives. */
import { arg, type TestDef } from "../definition.js";
import { checkMatch, MATCH_TAGS, matchAny, matchSpec } from "../match.js";
import { constant } from "./tests.js";

export const SPAM_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "spamtest",
    extension: "spamtest",
    signature: {
      tags: { ...MATCH_TAGS, percent: { requires: "spamtestplus" } },
      positional: [{ name: "value", type: "string" }],
    },
    check: (args, ctx) => checkMatch(args, ctx, constant(args, 0)),
    evaluate: (rt, node) => {
      const spam = rt.env.spam;
      // RFC 5235 §3.1/§3.2: "0" says the message was not tested.
      const value = node.args.tags.has("percent") ? spam?.percent : spam?.value;
      return matchAny(
        rt,
        matchSpec(node.args),
        [String(value ?? 0)],
        [rt.expand(arg<string>(node.args, 0))],
        node.pos,
      );
    },
  },
  {
    kind: "test",
    name: "virustest",
    extension: "virustest",
    signature: { tags: MATCH_TAGS, positional: [{ name: "value", type: "string" }] },
    check: (args, ctx) => checkMatch(args, ctx, constant(args, 0)),
    evaluate: (rt, node) =>
      matchAny(
        rt,
        matchSpec(node.args),
        [String(rt.env.virus ?? 0)],
        [rt.expand(arg<string>(node.args, 0))],
        node.pos,
      ),
  },
];
