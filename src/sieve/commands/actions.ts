/** The actions of RFC 5228 §4 with their extension tags (copy, imap4flags, mailbox), reject and ereject. */
import { parseAddressList } from "../../mail/address-list.js";
import { arg, type CommandDef, tag } from "../definition.js";
import type { TagSpec } from "../signature.js";
import { hasVariableReference } from "../variables.js";
import { actionFlags } from "./flags.js";

const FLAGS: Record<string, TagSpec> = { flags: { arg: "string-list", requires: "imap4flags" } };

/** The addr-spec of a redirect target, or null when it is not exactly one address with a domain. */
export function redirectAddress(text: string): string | null {
  const entries = parseAddressList(text);
  const only = entries[0];
  if (
    entries.length !== 1 ||
    only === undefined ||
    "group" in only ||
    only.domain === null ||
    only.local === ""
  )
    return null;
  return `${only.local}@${only.domain}`;
}

const reject = (name: string, extended: boolean): CommandDef => ({
  kind: "command",
  name,
  extension: name,
  signature: { positional: [{ name: "reason", type: "string" }] },
  execute: (rt, node) =>
    rt.add({ type: "reject", reason: rt.expand(arg<string>(node.args, 0)), extended }, node.pos, true),
});

export const ACTION_COMMANDS: CommandDef[] = [
  {
    kind: "command",
    name: "keep",
    signature: { tags: FLAGS },
    execute: (rt, node) =>
      rt.add({ type: "keep", flags: actionFlags(rt, node.args), implicit: false }, node.pos, true),
  },
  {
    kind: "command",
    name: "discard",
    signature: {},
    execute: (rt, node) => rt.add({ type: "discard" }, node.pos, true),
  },
  {
    kind: "command",
    name: "fileinto",
    extension: "fileinto",
    signature: {
      tags: { ...FLAGS, copy: { requires: "copy" }, create: { requires: "mailbox" } },
      positional: [{ name: "mailbox", type: "string" }],
    },
    execute: (rt, node) => {
      const mailbox = rt.expand(arg<string>(node.args, 0));
      if (mailbox === "") rt.fail("fileinto: the mailbox name is empty", node.pos);
      const copy = node.args.tags.has("copy");
      const create = node.args.tags.has("create");
      rt.add({ type: "fileinto", mailbox, flags: actionFlags(rt, node.args), create, copy }, node.pos, !copy);
    },
  },
  {
    kind: "command",
    name: "redirect",
    signature: { tags: { copy: { requires: "copy" } }, positional: [{ name: "address", type: "string" }] },
    check: (args, ctx) => {
      const target = args.positional[0];
      if (typeof target?.value !== "string") return;
      if (ctx.has("variables") && hasVariableReference(target.value)) return;
      if (redirectAddress(target.value) === null)
        ctx.error(`redirect: "${target.value}" is not a valid address (RFC 5228 §4.2)`, target.pos);
    },
    execute: (rt, node) => {
      const text = rt.expand(arg<string>(node.args, 0));
      const address = redirectAddress(text);
      if (address === null)
        return rt.fail(`redirect: "${text}" is not a valid address (RFC 5228 §4.2)`, node.pos);
      const copy = tag<true>(node.args, "copy") === true;
      rt.add({ type: "redirect", address, copy }, node.pos, !copy);
    },
  },
  reject("reject", false),
  reject("ereject", true),
];
