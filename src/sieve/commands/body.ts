/** The body test (RFC 5173): :raw, :content and :text over the decoded parts. */
import { type TestDef, tag } from "../definition.js";
import { checkMatch, MATCH_TAGS, matchKeys } from "../match.js";
import { constant } from "./tests.js";

export const BODY_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "body",
    extension: "body",
    signature: {
      tags: {
        ...MATCH_TAGS,
        raw: { group: "transform" },
        content: { group: "transform", arg: "string-list" },
        text: { group: "transform" },
      },
      positional: [{ name: "key list", type: "string-list" }],
    },
    check: (args, ctx) => checkMatch(args, ctx, constant(args, 0)),
    evaluate: (rt, node) => {
      const content = tag<string[]>(node.args, "content");
      const values = node.args.tags.has("raw")
        ? [rt.message.rawBody()]
        : rt.message.parts(content === undefined ? ["text"] : rt.expandList(content));
      return matchKeys(rt, node, values, 0);
    },
  },
];
