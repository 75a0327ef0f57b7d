// PLAIN (RFC 4616): one message, [authzid] NUL authcid NUL passwd, UTF-8.

import { prepareQuery } from "../saslprep.js";
import type { SaslStep } from "../types.js";
import type { CredentialBackend } from "./backend.js";
import { challenge, decodeUtf8, failure, MechanismExchange } from "./exchange.js";

export class PlainExchange extends MechanismExchange {
  constructor(
    private readonly backend: CredentialBackend,
    onError: (error: unknown) => void,
  ) {
    super("PLAIN", onError);
  }

  protected async onStart(initial: Buffer | null): Promise<SaslStep> {
    // RFC 4422 §5: without an initial response the server sends an empty challenge.
    if (initial === null) return challenge(Buffer.alloc(0));
    return this.onResponse(initial);
  }

  protected async onResponse(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(response);
    if (text === null) return failure("malformed");
    const parts = text.split("\0");
    if (parts.length !== 3) return failure("malformed");
    const [authzid = "", authcid = "", password = ""] = parts;
    // RFC 4616 §2: authcid and passwd are 1*SAFE, i.e. non-empty.
    if (authcid === "" || password === "") return failure("malformed");
    // We do not support acting as another user (RFC 4616 §2 leaves authorisation policy to the server).
    if (authzid !== "" && normalizeUsername(authzid) !== normalizeUsername(authcid)) {
      const refusal = await this.backend.refusal();
      if (refusal) return failure(refusal);
      return this.backend.failed(authcid, this.mechanism, "authorization identity differs from user");
    }
    return this.backend.checkPassword(authcid, password, this.mechanism);
  }
}

/**
 * User names are full addresses, compared lower-cased after SASLprep. A name SASLprep forbids is left
 * as given: it holds a character no stored address has, so it fails like an unknown user.
 */
export function normalizeUsername(name: string): string {
  return (prepareQuery(name) ?? name).toLowerCase();
}

/** The PLAIN initial response for a client: empty authzid, then user and password. */
export function plainInitialResponse(username: string, password: string): Buffer {
  return Buffer.from(`\0${username}\0${password}`, "utf8");
}
