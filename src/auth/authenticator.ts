// The Authenticator every protocol is given (src/auth/types.ts). It decides which mechanisms a
// connection may use, creates exchanges, and implements what they need: user lookup, password and
// SCRAM checks, the per-client failure throttle, and logging (user names and addresses, never passwords).
//
// Failure reasons it produces:
// - "bad-credentials": unknown user (a name that is not even an address included), wrong password or
//   proof, authorisation identity not the user's own, SCRAM nonce mismatch, a disabled user (even with
//   the right password or token). All look alike to the client and take the same work (see
//   burnPasswordCheck): a disabled user's password is checked all the same, and SCRAM runs on with
//   its real salt, so nothing tells an attacker that the account exists.
// - "throttled": this client failed too often recently (on this node, or on any node when the store
//   shares failures: see cluster-throttle.ts); nothing was checked.
// - "malformed": the client's message does not follow the mechanism's grammar.
// - "unavailable": authentication cannot be done here and now: the listener's policy refuses it
//   (verifyPassword before TLS; protocols check authRefusal() first to give the precise "encryption
//   required" reply), or the user store failed or holds unreadable credentials (logged).

import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { AuthConfig } from "../config/types.js";
import { type AuthFailureStore, StoreError, type User } from "../store/types.js";
import { ClusterThrottle } from "./cluster-throttle.js";
import { burnPasswordCheck, dummyPasswordHash, verifyPasswordHash } from "./password.js";
import { authRefusal } from "./policy.js";
import type { CredentialBackend, ScramCredentials } from "./sasl/backend.js";
import { failure } from "./sasl/exchange.js";
import { LoginExchange } from "./sasl/login.js";
import { normalizeUsername, PlainExchange } from "./sasl/plain.js";
import { type ScramServerOptions, ScramSha256Exchange } from "./sasl/scram-server.js";
import { DEFAULT_SCRAM_ITERATIONS, parseScramVerifier } from "./scram-verifier.js";
import { parseToken, secretMatches } from "./tokens.js";
import type { AuthContext, AuthenticatedUser, Authenticator, SaslExchange, SaslStep } from "./types.js";

export interface AuthenticatorOptions {
  lookupUser(address: string): Promise<User | null>;
  /** An app token's owner and secret hash by the token's id; without it no token is valid. */
  lookupToken?(id: string): Promise<{ user: User; secretHash: string } | null>;
  config: AuthConfig;
  logger?: Logger;
  /** Clock for the throttle window (milliseconds). */
  now?: () => number;
  /** How failure delays are waited out; tests inject one that records instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** SCRAM server nonce source; tests inject a fixed one. */
  scramServerNonce?: ScramServerOptions["serverNonce"];
  /**
   * Where failures are counted across nodes: the Store, when it offers recordAuthFailure and
   * recentAuthFailures (PostgreSQL). Without it, or with a store lacking them, each node counts alone.
   */
  failureLog?: AuthFailureStore;
  /**
   * Capture mode: every password is right for every user lookupUser finds (it makes them). SCRAM is
   * then not offered: its proof can only be checked against the one stored password.
   */
  acceptAnyPassword?: boolean;
  /** Told each failed or throttled attempt, with the protocol it came over (metrics). */
  onFailure?: (proto: string, reason: "bad-credentials" | "throttled") => void;
}

const MECHANISMS = ["SCRAM-SHA-256", "PLAIN", "LOGIN"];
const PASSWORD_MECHANISMS = ["PLAIN", "LOGIN"];

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { lookupUser, config, logger } = options;
  const anyPassword = options.acceptAnyPassword === true;
  const offered = anyPassword ? PASSWORD_MECHANISMS : MECHANISMS;
  const throttle = new ClusterThrottle({
    failureDelay: config.failureDelay,
    maxFailuresPerIp: config.maxFailuresPerIp,
    failureWindow: config.failureWindow,
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.failureLog ? { shared: options.failureLog } : {}),
    onSharedError: (error) =>
      logger?.warn({ err: error }, "could not record an authentication failure for the other nodes"),
  });
  // Keys the made-up SCRAM salt of unknown users: stable per name within a process, so asking twice
  // does not reveal that the user is unknown, and unpredictable from outside.
  const fakeSaltKey = randomBytes(32);
  // Compute the unknown-user hash now, so the first unknown user does not take twice as long.
  dummyPasswordHash().catch((error: unknown) =>
    logger?.error({ err: error }, "could not prepare password hashing"),
  );

  /**
   * The user named by a client, null when there is none. A name the store refuses as no address at all
   * ("../x", "*") is the client's mistake, not the store's failure: it is an unknown user like any other.
   */
  async function findUser(address: string): Promise<User | null> {
    try {
      return await lookupUser(address);
    } catch (error) {
      if (error instanceof StoreError && error.code === "invalid") return null;
      throw error;
    }
  }

  function backendFor(context: AuthContext): CredentialBackend {
    const ip = context.remoteAddress;
    const proto = context.proto ?? "unknown";

    const backend: CredentialBackend = {
      async refusal() {
        if (!(await throttle.isThrottled(ip))) return null;
        logger?.info(
          { client: ip, proto },
          "authentication refused: too many recent failures from this client",
        );
        options.onFailure?.(proto, "throttled");
        return "throttled";
      },

      async failed(username, mechanism, why) {
        logger?.info({ client: ip, proto, user: username, mechanism, why }, "authentication failed");
        options.onFailure?.(proto, "bad-credentials");
        await throttle.penalize(ip);
        return failure("bad-credentials");
      },

      succeeded(user, mechanism) {
        logger?.info({ client: ip, proto, user: user.address, mechanism }, "authenticated");
        return { kind: "success", user };
      },

      async checkPassword(username, password, mechanism) {
        // An app password goes where a password does (IMAP LOGIN, PLAIN, LOGIN, POP3 PASS): that is
        // what a mail app is given it for. Only the token's whole form counts (id and 256-bit secret,
        // tokens.ts), which no typed password has, so no account password stops working.
        if (!anyPassword && parseToken(password) !== null) return tokenStep(backend, password, username);
        const refusal = await backend.refusal();
        if (refusal) return failure(refusal);
        const address = normalizeUsername(username);
        const user = await findUser(address);
        if (!user) {
          await burnPasswordCheck(password);
          return backend.failed(address, mechanism, "unknown user");
        }
        if (!anyPassword && !(await verifyPasswordHash(password, user.passwordHash))) {
          return backend.failed(address, mechanism, "wrong password");
        }
        if (user.disabled) return backend.failed(address, mechanism, "disabled user");
        return backend.succeeded(authenticatedUser(user), mechanism);
      },

      async scramCredentials(username): Promise<ScramCredentials> {
        const user = await findUser(username);
        if (user?.disabled) {
          return { user: null, verifier: parseScramVerifier(user.scramSha256), refusal: "disabled user" };
        }
        if (user) return { user: authenticatedUser(user), verifier: parseScramVerifier(user.scramSha256) };
        return {
          user: null,
          verifier: {
            iterations: DEFAULT_SCRAM_ITERATIONS,
            salt: createHmac("sha256", fakeSaltKey).update(username).digest().subarray(0, 16),
            storedKey: randomBytes(32),
            serverKey: randomBytes(32),
          },
        };
      },
    };
    return backend;
  }

  const onError = (context: AuthContext) => (error: unknown) => {
    logger?.error(
      { client: context.remoteAddress, proto: context.proto ?? "unknown", err: error },
      "authentication could not be performed",
    );
  };

  function checkToken(token: string, context: AuthContext, username?: string): Promise<SaslStep> {
    return tokenStep(backendFor(context), token, username);
  }

  async function tokenStep(backend: CredentialBackend, token: string, username?: string): Promise<SaslStep> {
    const refusal = await backend.refusal();
    if (refusal) return failure(refusal);
    const parsed = parseToken(token);
    const found = parsed && options.lookupToken ? await options.lookupToken(parsed.id) : null;
    const who = username === undefined ? (found?.user.address ?? "") : normalizeUsername(username);
    if (!parsed || !found || !secretMatches(parsed.secret, found.secretHash)) {
      return backend.failed(who, "token", "unknown or revoked token");
    }
    if (username !== undefined && found.user.address !== who) {
      return backend.failed(who, "token", "token of another user");
    }
    if (found.user.disabled) return backend.failed(who, "token", "disabled user");
    return backend.succeeded(authenticatedUser(found.user), "token");
  }

  return {
    mechanisms(context) {
      return authRefusal(context) === null ? [...offered] : [];
    },

    begin(mechanism, context): SaslExchange | null {
      if (authRefusal(context) !== null) return null;
      // RFC 4422 §3.1: mechanism names are upper case; accept any case from the client.
      switch (mechanism.toUpperCase()) {
        case "SCRAM-SHA-256": {
          if (anyPassword) return null;
          const scramOptions = options.scramServerNonce ? { serverNonce: options.scramServerNonce } : {};
          return new ScramSha256Exchange(backendFor(context), onError(context), scramOptions);
        }
        case "PLAIN":
          return new PlainExchange(backendFor(context), onError(context));
        case "LOGIN":
          return new LoginExchange(backendFor(context), onError(context));
        default:
          return null;
      }
    },

    async verifyPassword(username, password, context): Promise<SaslStep> {
      const refusal = authRefusal(context);
      if (refusal !== null) {
        logger?.info(
          {
            client: context.remoteAddress,
            proto: context.proto ?? "unknown",
            user: username,
            policy: context.policy,
            refusal,
          },
          "login refused by the listener's authentication policy",
        );
        return failure("unavailable");
      }
      if (username === "" || password === "") return failure("malformed");
      try {
        return await backendFor(context).checkPassword(username, password, "password");
      } catch (error) {
        onError(context)(error);
        return failure("unavailable");
      }
    },

    async verifyToken(token, context, username): Promise<SaslStep> {
      const refusal = authRefusal(context);
      if (refusal !== null) {
        logger?.info(
          {
            client: context.remoteAddress,
            proto: context.proto ?? "unknown",
            policy: context.policy,
            refusal,
          },
          "token refused by the listener's authentication policy",
        );
        return failure("unavailable");
      }
      if (token === "") return failure("malformed");
      try {
        return await checkToken(token, context, username);
      } catch (error) {
        onError(context)(error);
        return failure("unavailable");
      }
    },
  };
}

/**
 * The authenticator as one protocol sees it: every context it is given names that protocol, so log
 * lines and failure counts say where an attempt came from without each session having to.
 */
export function forProtocol(authenticator: Authenticator, proto: string): Authenticator {
  const tag = (context: AuthContext): AuthContext => ({ ...context, proto });
  return {
    mechanisms: (context) => authenticator.mechanisms(tag(context)),
    begin: (mechanism, context) => authenticator.begin(mechanism, tag(context)),
    verifyPassword: (username, password, context) =>
      authenticator.verifyPassword(username, password, tag(context)),
    verifyToken: (token, context, username) => authenticator.verifyToken(token, tag(context), username),
  };
}

function authenticatedUser(user: User): AuthenticatedUser {
  return { userId: user.id, address: user.address };
}
