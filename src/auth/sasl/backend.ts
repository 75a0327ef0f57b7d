// What a mechanism needs from the authenticator. Mechanisms only parse and run their protocol; user
// lookup, throttling, failure delays and logging live behind this interface (src/auth/authenticator.ts).

import type { ScramVerifier } from "../scram-verifier.js";
import type { AuthenticatedUser, SaslFailure, SaslStep } from "../types.js";

export interface ScramCredentials {
  /**
   * null when the exchange must fail at the end whatever the proof: for an unknown user (the verifier
   * is then made up) or one refused anyway (with its real verifier, so the salt does not tell).
   */
  user: AuthenticatedUser | null;
  verifier: ScramVerifier;
  /** Why a known user is refused, for the log; absent for an unknown user. */
  refusal?: string;
}

export interface CredentialBackend {
  /**
   * A failure to answer with at once (the client is throttled), or null to go ahead. Asynchronous: the
   * count may be shared by the nodes of a cluster, in the store.
   */
  refusal(): Promise<SaslFailure | null>;
  /** Checks a cleartext password end to end: throttle, lookup, hash check, delay on failure, log. */
  checkPassword(username: string, password: string, mechanism: string): Promise<SaslStep>;
  scramCredentials(username: string): Promise<ScramCredentials>;
  /** Records a failed attempt (throttle, log) and resolves after the failure delay. */
  failed(username: string, mechanism: string, why: string): Promise<SaslStep>;
  succeeded(user: AuthenticatedUser, mechanism: string): SaslStep;
}
