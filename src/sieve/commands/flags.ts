/** imap4flags (RFC 5232): flag lists, the internal variable, setflag/addflag/removeflag and hasflag. */
import { arg, type CommandDef, type CompiledCommand, optionalArg, type TestDef, tag } from "../definition.js";
import { checkMatch, MATCH_TAGS, matchAny, matchSpec } from "../match.js";
import type { Runtime } from "../runtime.js";
import type { BoundArgs } from "../signature.js";

/** RFC 5232 §3: each string is a space-separated list of flags; duplicates (case-insensitive) collapse. */
export function flagList(strings: readonly string[]): string[] {
  const out: string[] = [];
  for (const flag of strings.flatMap((s) => s.split(/\s+/))) {
    if (flag !== "" && !out.some((f) => f.toLowerCase() === flag.toLowerCase())) out.push(flag);
  }
  return out;
}

/** The flags a keep or fileinto stores: its :flags, else the internal variable (RFC 5232 §5). */
export function actionFlags(rt: Runtime, args: BoundArgs): string[] {
  const given = tag<string[]>(args, "flags");
  return given === undefined ? [...rt.flags] : flagList(rt.expandList(given));
}

function current(rt: Runtime, name: string | undefined): string[] {
  return name === undefined ? rt.flags : flagList([rt.variable(name.toLowerCase()) ?? ""]);
}

function store(rt: Runtime, name: string | undefined, flags: string[]): void {
  if (name === undefined) rt.flags = flags;
  else rt.setVariable(name, flags.join(" "));
}

type Edit = (old: string[], given: string[]) => string[];

const edit = (name: string, change: Edit): CommandDef => ({
  kind: "command",
  name,
  extension: "imap4flags",
  signature: {
    positional: [
      { name: "variable name", type: "string", optional: true },
      { name: "flags", type: "string-list" },
    ],
  },
  execute: (rt: Runtime, node: CompiledCommand) => {
    const variable = optionalArg<string>(node.args, 0);
    const given = flagList(rt.expandList(arg<string[]>(node.args, 1)));
    store(rt, variable, change(current(rt, variable), given));
  },
});

const lower = (flags: readonly string[]) => new Set(flags.map((f) => f.toLowerCase()));

export const FLAG_COMMANDS: CommandDef[] = [
  edit("setflag", (_old, given) => given),
  edit("addflag", (old, given) => flagList([...old, ...given])),
  edit("removeflag", (old, given) => {
    const gone = lower(given);
    return old.filter((f) => !gone.has(f.toLowerCase()));
  }),
];

export const FLAG_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "hasflag",
    extension: "imap4flags",
    signature: {
      tags: MATCH_TAGS,
      positional: [
        { name: "variable list", type: "string-list", optional: true },
        { name: "flags", type: "string-list" },
      ],
    },
    check: (args, ctx) => checkMatch(args, ctx),
    evaluate: (rt, node) => {
      const variables = optionalArg<string[]>(node.args, 0);
      const flags =
        variables === undefined
          ? rt.flags
          : flagList(variables.map((v) => rt.variable(v.toLowerCase()) ?? ""));
      // RFC 5232 §4: each key is itself a list of flags, matched one by one.
      const keys = flagList(rt.expandList(arg<string[]>(node.args, 1)));
      return matchAny(rt, matchSpec(node.args), flags, keys, node.pos);
    },
  },
];
