/** The date and currentdate tests (RFC 5260 §4, §5). */

import { DATE_PARTS, datePart, localOffset, parseDateTime, parseZone, type ZonedTime } from "../date.js";
import { arg, type CheckContext, type TestDef, tag } from "../definition.js";
import type { Position } from "../errors.js";
import {
  checkIndex,
  checkMatch,
  INDEX_TAGS,
  MATCH_TAGS,
  matchAny,
  matchSpec,
  selectIndex,
} from "../match.js";
import type { Runtime } from "../runtime.js";
import type { BoundArgs } from "../signature.js";
import { checkHeaderNames, constant } from "./tests.js";

function checkDate(args: BoundArgs, ctx: CheckContext, partIndex: number): void {
  checkMatch(args, ctx, constant(args, partIndex + 1));
  const part = args.positional[partIndex];
  if (
    typeof part?.value === "string" &&
    !part.value.includes("${") &&
    !(DATE_PARTS as readonly string[]).includes(part.value.toLowerCase())
  )
    ctx.error(`unknown date part "${part.value}" (RFC 5260 §4.2)`, part.pos);
  const zone = args.tags.get("zone");
  if (typeof zone?.value === "string" && !zone.value.includes("${") && parseZone(zone.value) === null)
    ctx.error(`":zone" needs a zone like "+0100", not "${zone.value}"`, zone.pos);
}

/** The zone :zone names, or the local zone (RFC 5260 §4.1); null for :originalzone. */
function targetZone(rt: Runtime, args: BoundArgs): number | null {
  if (args.tags.has("originalzone")) return null;
  const zone = tag<string>(args, "zone");
  const given = zone === undefined ? rt.env.zone : rt.expand(zone);
  if (given === undefined) return localOffset(rt.now);
  // RFC 5260 §4.1: a zone that is not valid at run time makes the test fail rather than the script.
  return parseZone(given) ?? Number.NaN;
}

function compare(
  rt: Runtime,
  args: BoundArgs,
  times: ZonedTime[],
  partIndex: number,
  pos: Position,
): boolean {
  const part = rt.expand(arg<string>(args, partIndex));
  const values = times.flatMap((time) => {
    const value = datePart(time, part);
    return value === null ? [] : [value];
  });
  return matchAny(rt, matchSpec(args), values, rt.expandList(arg<string[]>(args, partIndex + 1)), pos);
}

export const DATE_TESTS: TestDef[] = [
  {
    kind: "test",
    name: "date",
    extension: "date",
    signature: {
      tags: {
        ...MATCH_TAGS,
        ...INDEX_TAGS,
        zone: { arg: "string", group: "zone" },
        originalzone: { group: "zone" },
      },
      positional: [
        { name: "header name", type: "string" },
        { name: "date part", type: "string" },
        { name: "key list", type: "string-list" },
      ],
    },
    check: (args, ctx, pos) => {
      checkDate(args, ctx, 1);
      checkIndex(args, ctx);
      const header = args.positional[0]?.value;
      if (typeof header === "string") checkHeaderNames([header], ctx, pos);
    },
    evaluate: (rt, node) => {
      const header = rt.expand(arg<string>(node.args, 0));
      const zone = targetZone(rt, node.args);
      if (Number.isNaN(zone)) return false;
      const times = selectIndex(node.args, rt.message.values(header)).flatMap((value) => {
        // RFC 5260 §4.1: in Received the date follows the last ";".
        const text = header.toLowerCase() === "received" ? value.slice(value.lastIndexOf(";") + 1) : value;
        const time = parseDateTime(text);
        return time === null ? [] : [{ epoch: time.epoch, offset: zone ?? time.offset }];
      });
      return compare(rt, node.args, times, 1, node.pos);
    },
  },
  {
    kind: "test",
    name: "currentdate",
    extension: "date",
    signature: {
      tags: { ...MATCH_TAGS, zone: { arg: "string" } },
      positional: [
        { name: "date part", type: "string" },
        { name: "key list", type: "string-list" },
      ],
    },
    check: (args, ctx) => checkDate(args, ctx, 0),
    evaluate: (rt, node) => {
      const zone = targetZone(rt, node.args);
      if (zone === null || Number.isNaN(zone)) return false;
      return compare(rt, node.args, [{ epoch: rt.now.getTime(), offset: zone }], 0, node.pos);
    },
  },
];
