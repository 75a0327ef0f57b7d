/** addheader and deleteheader (RFC 5293), which change the header later tests and the caller see. */
import { decodeEncodedWords } from "../../mail/mime/encoded-words.js";
import { arg, type CheckContext, type CommandDef, optionalArg } from "../definition.js";
import type { Position } from "../errors.js";
import { checkIndex, checkMatch, MATCH_TAGS, matchAny, matchSpec, selectIndex } from "../match.js";
import { isFieldName } from "../message.js";
import type { Runtime } from "../runtime.js";
import { hasVariableReference } from "../variables.js";

/**
 * RFC 5293 §6 forbids removing or adding Received (the trace must stay true); Auto-Submitted is kept too,
 * as Pigeonhole does, so a script cannot make a reply loop look like original mail.
 */
const PROTECTED = new Set(["received", "auto-submitted"]);

function checkName(name: string | undefined, ctx: CheckContext, pos: Position): void {
  if (name === undefined || (ctx.has("variables") && hasVariableReference(name))) return;
  if (!isFieldName(name)) ctx.error(`"${name}" is not a valid header field name (RFC 5293 §4)`, pos);
}

function usableName(rt: Runtime, name: string, pos: Position): boolean {
  if (!isFieldName(name)) rt.fail(`"${name}" is not a valid header field name (RFC 5293 §4)`, pos);
  return !PROTECTED.has(name.toLowerCase());
}

/** RFC 5293 §4: non-ASCII values go out as an RFC 2047 encoded word; line breaks become folds. */
function encodeValue(value: string): string {
  if (/[^\x00-\x7f]/.test(value)) return `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
  return value.replace(/\r?\n(?![ \t])/g, "\r\n ").replace(/\r?\n/g, "\r\n");
}

export const EDITHEADER_COMMANDS: CommandDef[] = [
  {
    kind: "command",
    name: "addheader",
    extension: "editheader",
    signature: {
      tags: { last: {} },
      positional: [
        { name: "field name", type: "string" },
        { name: "value", type: "string" },
      ],
    },
    check: (args, ctx, pos) => checkName(optionalArg<string>(args, 0), ctx, pos),
    execute: (rt, node) => {
      const name = rt.expand(arg<string>(node.args, 0));
      const value = rt.expand(arg<string>(node.args, 1));
      if (!usableName(rt, name, node.pos)) return;
      const last = node.args.tags.has("last");
      const encoded = encodeValue(value);
      const field = {
        name,
        value: encoded.replace(/\r\n/g, ""),
        raw: Buffer.from(`${name}: ${encoded}\r\n`),
      };
      if (last) rt.message.fields.push(field);
      else rt.message.fields.unshift(field);
      rt.message.edited = true;
      rt.add({ type: "addheader", name, value, last }, node.pos, false);
    },
  },
  {
    kind: "command",
    name: "deleteheader",
    extension: "editheader",
    signature: {
      tags: { ...MATCH_TAGS, index: { arg: "number" }, last: {} },
      positional: [
        { name: "field name", type: "string" },
        { name: "value patterns", type: "string-list", optional: true },
      ],
    },
    check: (args, ctx, pos) => {
      checkMatch(args, ctx, optionalArg<string[]>(args, 1) ?? []);
      checkIndex(args, ctx);
      checkName(optionalArg<string>(args, 0), ctx, pos);
    },
    execute: (rt, node) => {
      const name = rt.expand(arg<string>(node.args, 0));
      if (!usableName(rt, name, node.pos)) return;
      const patterns = optionalArg<string[]>(node.args, 1);
      const keys = patterns === undefined ? null : rt.expandList(patterns);
      const spec = matchSpec(node.args);
      const key = name.toLowerCase();
      const named = rt.message.fields.filter((f) => f.name.toLowerCase() === key);
      const doomed = selectIndex(node.args, named).filter(
        (f) => keys === null || matchAny(rt, spec, [decodeEncodedWords(f.value)], keys, node.pos),
      );
      if (doomed.length === 0) return;
      rt.message.fields = rt.message.fields.filter((f) => !doomed.includes(f));
      rt.message.edited = true;
      rt.add({ type: "deleteheader", name, removed: doomed.length }, node.pos, false);
    },
  },
];
