// /get and /changes (RFC 8620 §5.1, §5.2) for the types an account has few of and that the store keeps
// with per-user change numbers (Identity, EmailSubmission): the whole list is read and filtered here,
// and the changes need no maxChanges paging.

import type { IdentityChanges } from "../store/types.js";
import { invalidArguments, MethodError } from "./errors.js";
import { readIds } from "./get-ids.js";
import type { Json, JsonObject, Method } from "./types.js";

export interface ListedType {
  /** "Identity", "EmailSubmission": names methods in errors. */
  name: string;
  capability: string;
  properties: readonly string[];
  /** The letter of the state strings, as in "i7". */
  stateLetter: string;
  /** The object id of the store's row number. */
  idOf(id: number): string;
  /**
   * The id of the object made from the account rather than kept as a row (Identity's default one),
   * reported updated when the store's changes say `nameChanged`.
   */
  accountObjectId?(address: string): string;
}

export function stateString(type: ListedType, state: number): string {
  return `${type.stateLetter}${state}`;
}

export function listedGet(
  type: ListedType,
  maxObjects: number,
  load: (userId: number, address: string) => Promise<{ state: string; list: Array<Record<string, Json>> }>,
): Method {
  return {
    capability: type.capability,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const wanted = readIds(args, maxObjects, `${type.name}/get`, context);
      const { properties } = args;
      if (
        properties !== undefined &&
        properties !== null &&
        (!Array.isArray(properties) ||
          properties.some((name) => !(type.properties as readonly unknown[]).includes(name)))
      ) {
        throw invalidArguments(`"properties" must be null or a list of ${type.properties.join(", ")}`);
      }
      const keep = Array.isArray(properties) ? new Set(["id", ...(properties as string[])]) : null;
      const { state, list: all } = await load(context.account.userId, context.account.address);
      const list = all
        .filter((object) => wanted === null || wanted.includes(object.id as string))
        .map((object) =>
          keep === null
            ? object
            : Object.fromEntries(Object.entries(object).filter(([key]) => keep.has(key))),
        );
      return {
        accountId: context.account.accountId,
        state,
        list,
        notFound: (wanted ?? []).filter((id) => !all.some((object) => object.id === id)),
      };
    },
  };
}

export function listedChanges(
  type: ListedType,
  changesSince: (userId: number, since: number) => Promise<IdentityChanges | null>,
): Method {
  const pattern = new RegExp(`^${type.stateLetter}(0|[1-9][0-9]{0,15})$`);
  return {
    capability: type.capability,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { sinceState } = args;
      if (typeof sinceState !== "string") throw invalidArguments('"sinceState" must be a state string');
      const changes = pattern.test(sinceState)
        ? await changesSince(context.account.userId, Number(sinceState.slice(1)))
        : null;
      if (changes === null) {
        throw new MethodError(
          "cannotCalculateChanges",
          `${JSON.stringify(sinceState)} is not a ${type.name} state of this account; fetch them again`,
        );
      }
      return {
        accountId: context.account.accountId,
        oldState: sinceState,
        newState: stateString(type, changes.state),
        hasMoreChanges: false,
        created: changes.created.map(type.idOf),
        updated: [
          ...(changes.nameChanged === true && type.accountObjectId !== undefined
            ? [type.accountObjectId(context.account.address)]
            : []),
          ...changes.updated.map(type.idOf),
        ],
        destroyed: changes.destroyed.map(type.idOf),
      } satisfies JsonObject;
    },
  };
}
