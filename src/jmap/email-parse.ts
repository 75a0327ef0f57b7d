// Email/parse (RFC 8621 §4.9): Email objects from blobs that are not (yet) messages in a mailbox — an
// upload, or an attached message/rfc822 part of a stored message.

import type { Store } from "../store/types.js";
import { partBlobId, readUserBlob } from "./blob-parts.js";
import { MAIL } from "./capabilities.js";
import { parseEmail } from "./email/email.js";
import { PARSE_DEFAULTS, readEmailArguments } from "./email-arguments.js";
import { invalidArguments, MethodError } from "./errors.js";
import type { JsonObject, Method } from "./types.js";

/** A parsed blob is in no mailbox and has no thread: these are null (§4.9). */
const METADATA = new Set(["id", "threadId", "mailboxIds", "keywords", "receivedAt"]);

export function emailParse(store: Pick<Store, "blobs" | "sieveScripts">, maxObjects: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const { blobIds } = args;
      if (!Array.isArray(blobIds) || blobIds.some((id) => typeof id !== "string")) {
        throw invalidArguments('"blobIds" must be an array of blob ids');
      }
      if (blobIds.length > maxObjects) {
        throw new MethodError(
          "requestTooLarge",
          `at most ${maxObjects} blobs in one Email/parse (maxObjectsInGet)`,
        );
      }
      const { properties, body } = readEmailArguments(args, PARSE_DEFAULTS);
      const parsed: JsonObject = {};
      const notParsable: string[] = [];
      const notFound: string[] = [];
      const now = new Date();
      for (const id of new Set(blobIds as string[])) {
        const blob = await readUserBlob(store, context.account.userId, id, now);
        if (blob === null) {
          notFound.push(id);
          continue;
        }
        const email = parseEmail(blob.bytes, { partBlobId: (partId) => partBlobId(id, partId) });
        // Bytes without a single header field are not a message (RFC 5322 §3.5 requires fields).
        if (email.headers.length === 0) {
          notParsable.push(id);
          continue;
        }
        const object = email.properties(
          properties.filter((name) => !METADATA.has(name) && name !== "blobId"),
          body,
        );
        for (const name of properties) {
          if (METADATA.has(name)) object[name] = null;
          if (name === "blobId") object.blobId = id;
        }
        parsed[id] = object;
      }
      return {
        accountId: context.account.accountId,
        parsed: Object.keys(parsed).length > 0 ? parsed : null,
        notParsable: notParsable.length > 0 ? notParsable : null,
        notFound: notFound.length > 0 ? notFound : null,
      };
    },
  };
}
