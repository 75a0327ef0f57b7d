// Methods of urn:ietf:params:jmap:core (RFC 8620 §4).

import { CORE } from "./capabilities.js";
import type { Method } from "./types.js";

/** Core/echo returns its arguments unchanged (RFC 8620 §4.1): clients use it to test the connection. */
export const coreEcho: Method = {
  capability: CORE,
  needsAccount: false,
  writes: false,
  run: async (args) => args,
};
