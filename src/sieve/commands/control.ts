/**
 * Control commands (RFC 5228 §3) and include/return/global (RFC 6609). Only their signatures live here:
 * they steer the interpreter, which runs them itself.
 */
import type { CommandDef } from "../definition.js";
import { isVariableName } from "../variables.js";

const control = (name: string, signature: CommandDef["signature"], extension?: string): CommandDef => ({
  kind: "command",
  name,
  signature,
  ...(extension === undefined ? {} : { extension }),
});

export const CONTROL_COMMANDS: CommandDef[] = [
  control("require", { positional: [{ name: "capabilities", type: "string-list" }] }),
  control("if", { tests: "one", block: true }),
  control("elsif", { tests: "one", block: true }),
  control("else", { block: true }),
  control("stop", {}),
  control(
    "include",
    {
      tags: { personal: { group: "location" }, global: { group: "location" }, once: {}, optional: {} },
      positional: [{ name: "script name", type: "string" }],
    },
    "include",
  ),
  control("return", {}, "include"),
  {
    ...control("global", { positional: [{ name: "variable names", type: "string-list" }] }, "include"),
    check: (args, ctx, pos) => {
      if (!ctx.has("variables")) ctx.error('global needs require "variables" (RFC 6609 §3.3)', pos);
      const names = args.positional[0]?.value;
      for (const name of Array.isArray(names) ? names : []) {
        if (!isVariableName(name, [])) ctx.error(`global: "${name}" is not a valid variable name`, pos);
      }
    },
  },
];
