/** vacation (RFC 5230) and vacation-seconds (RFC 6131): the reply's parameters, resolved for the caller. */
import { arg, type CommandDef, tag } from "../definition.js";

const DAY = 86_400;

export const VACATION_COMMANDS: CommandDef[] = [
  {
    kind: "command",
    name: "vacation",
    extension: "vacation",
    signature: {
      tags: {
        days: { arg: "number", group: "period" },
        seconds: { arg: "number", group: "period", requires: "vacation-seconds" },
        subject: { arg: "string" },
        from: { arg: "string" },
        addresses: { arg: "string-list" },
        mime: {},
        handle: { arg: "string" },
      },
      positional: [{ name: "reason", type: "string" }],
    },
    execute: (rt, node) => {
      const { args } = node;
      const days = tag<number>(args, "days");
      const asked =
        days !== undefined ? days * DAY : (tag<number>(args, "seconds") ?? rt.vacationPeriod.default);
      // RFC 6131 §2: a period of 0 means "reply every time"; others are kept within the site's range.
      const seconds =
        asked === 0 && args.tags.has("seconds")
          ? 0
          : Math.min(Math.max(asked, rt.vacationPeriod.min), rt.vacationPeriod.max);
      const reason = rt.expand(arg<string>(args, 0));
      const subjectArg = tag<string>(args, "subject");
      const fromArg = tag<string>(args, "from");
      const subject = subjectArg === undefined ? null : rt.expand(subjectArg);
      const from = fromArg === undefined ? null : rt.expand(fromArg);
      const mime = args.tags.has("mime");
      const handleArg = tag<string>(args, "handle");
      // RFC 5230 §4.2: without :handle, replies with the same arguments share one; built as Pigeonhole does.
      const handle =
        handleArg !== undefined
          ? rt.expand(handleArg)
          : `${reason}${subject ?? "<default-subject>"}${from ?? "<default-from>"}${mime ? "<MIME>" : "<NO-MIME>"}`;
      const addresses = rt.expandList(tag<string[]>(args, "addresses") ?? []);
      rt.add({ type: "vacation", reason, mime, seconds, subject, from, addresses, handle }, node.pos, false);
    },
  },
];
