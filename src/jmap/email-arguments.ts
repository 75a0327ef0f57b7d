// The arguments Email/get and Email/parse share (RFC 8621 §4.2, §4.9): which properties, which body
// part properties, which body values and how long — checked before anything is read.

import {
  BODY_PART_PROPERTIES,
  type BodyArguments,
  checkProperties,
  EMAIL_PROPERTIES,
} from "./email/email.js";
import { invalidArguments } from "./errors.js";
import type { Json, JsonObject } from "./types.js";

function stringList(args: JsonObject, key: string): string[] | null {
  const value = args[key];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    throw invalidArguments(`"${key}" must be an array of property names or null`);
  }
  return value as string[];
}

function flag(args: JsonObject, key: string): boolean {
  const value: Json | undefined = args[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw invalidArguments(`"${key}" must be true or false`);
  return value;
}

/** RFC 8621 §4.2 and §4.9: the default properties run up to "attachments" in EMAIL_PROPERTIES' order. */
function defaultsFrom(first: string): readonly string[] {
  const all = [...EMAIL_PROPERTIES];
  return all.slice(all.indexOf(first), all.indexOf("attachments") + 1);
}

/** Email/get's defaults: the store's properties and the parsed ones. */
export const GET_DEFAULTS = defaultsFrom("id");
/** Email/parse's: a parsed blob has no store properties (RFC 8621 §4.9). */
export const PARSE_DEFAULTS = defaultsFrom("messageId");

export interface EmailReadArguments {
  properties: string[];
  body: BodyArguments;
}

export function readEmailArguments(args: JsonObject, defaults: readonly string[]): EmailReadArguments {
  const properties = stringList(args, "properties") ?? [...defaults];
  checkProperties(properties, EMAIL_PROPERTIES);
  const bodyProperties = stringList(args, "bodyProperties");
  if (bodyProperties !== null) checkProperties(bodyProperties, BODY_PART_PROPERTIES);
  const max = args.maxBodyValueBytes;
  if (max !== undefined && max !== null && (typeof max !== "number" || !Number.isInteger(max) || max < 0)) {
    throw invalidArguments('"maxBodyValueBytes" must be a non-negative integer');
  }
  return {
    properties,
    body: {
      ...(bodyProperties !== null ? { bodyProperties } : {}),
      fetchTextBodyValues: flag(args, "fetchTextBodyValues"),
      fetchHTMLBodyValues: flag(args, "fetchHTMLBodyValues"),
      fetchAllBodyValues: flag(args, "fetchAllBodyValues"),
      ...(typeof max === "number" ? { maxBodyValueBytes: max } : {}),
    },
  };
}
