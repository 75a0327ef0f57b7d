// LOGIN (draft-murchison-sasl-login-00): the server asks "Username:" then "Password:"; each answer is
// the bare value. Widely deployed though never standardised; offered only where cleartext is allowed.

import type { SaslStep } from "../types.js";
import type { CredentialBackend } from "./backend.js";
import { challenge, decodeUtf8, failure, MechanismExchange } from "./exchange.js";

export class LoginExchange extends MechanismExchange {
  private username: string | null = null;

  constructor(
    private readonly backend: CredentialBackend,
    onError: (error: unknown) => void,
  ) {
    super("LOGIN", onError);
  }

  protected async onStart(initial: Buffer | null): Promise<SaslStep> {
    const refusal = await this.backend.refusal();
    if (refusal) return failure(refusal);
    // Some clients send the user name as an initial response (draft §2 allows it).
    if (initial === null) return challenge("Username:");
    return this.onResponse(initial);
  }

  protected async onResponse(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(response);
    if (text === null || text === "" || text.includes("\0")) return failure("malformed");
    if (this.username === null) {
      this.username = text;
      return challenge("Password:");
    }
    return this.backend.checkPassword(this.username, text, this.mechanism);
  }
}
