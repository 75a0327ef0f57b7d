// The client side of SCRAM-SHA-256 (RFC 5802 §5, RFC 7677), for `mailroom send`. No channel binding:
// the gs2 header is "n,,". Messages are bytes; the protocol base64-encodes them on the wire.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { ProhibitedStringError, prepareQuery } from "../saslprep.js";
import {
  clientKeyOf,
  hmacSha256,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  saltedPassword,
  serverKeyOf,
  sha256,
  xorBuffers,
} from "../scram-verifier.js";
import { decodeBase64, encodeSaslName, isValidNonce, parseAttributes } from "./scram-messages.js";

export { plainInitialResponse } from "./plain.js";

export class ScramClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScramClientError";
  }
}

export interface ScramClient {
  /** client-first-message. */
  first(): Buffer;
  /** client-final-message for the server-first-message; throws ScramClientError if that is invalid. */
  final(serverFirst: Buffer): Promise<Buffer>;
  /** True when the server-final-message proves the server knew the verifier. */
  verify(serverFinal: Buffer): boolean;
}

export interface ScramClientOptions {
  /** The client nonce; random by default (tests inject RFC 7677's). */
  nonce?: string;
  /** Refuse servers asking for fewer iterations (a downgrade) or for so many that hashing would hang. */
  minIterations?: number;
  maxIterations?: number;
}

const GS2_HEADER = "n,,";

export function scramClient(
  username: string,
  password: string,
  options: ScramClientOptions = {},
): ScramClient {
  const clientNonce = options.nonce ?? randomBytes(18).toString("base64");
  if (!isValidNonce(clientNonce))
    throw new ScramClientError("client nonce must be printable ASCII without ','");
  const minIterations = options.minIterations ?? MIN_SCRAM_ITERATIONS;
  const maxIterations = options.maxIterations ?? MAX_SCRAM_ITERATIONS;
  // A name SASLprep forbids goes as typed, and the server refuses it like an unknown user.
  const clientFirstBare = `n=${encodeSaslName(prepareQuery(username) ?? username)},r=${clientNonce}`;
  let expectedServerSignature: Buffer | null = null;

  return {
    first: () => Buffer.from(GS2_HEADER + clientFirstBare, "utf8"),

    async final(serverFirstBytes: Buffer): Promise<Buffer> {
      const serverFirst = serverFirstBytes.toString("utf8");
      const attributes = parseAttributes(serverFirst);
      if (!attributes || attributes.length < 3 || attributes[0]?.name === "m") {
        throw new ScramClientError(`server-first-message is malformed: ${JSON.stringify(serverFirst)}`);
      }
      const [r, s, i] = attributes as [
        { name: string; value: string },
        { name: string; value: string },
        { name: string; value: string },
      ];
      if (r.name !== "r" || s.name !== "s" || i.name !== "i") {
        throw new ScramClientError(`server-first-message is malformed: ${JSON.stringify(serverFirst)}`);
      }
      if (
        !r.value.startsWith(clientNonce) ||
        r.value.length === clientNonce.length ||
        !isValidNonce(r.value)
      ) {
        throw new ScramClientError(
          "server nonce does not extend ours; the server is not speaking SCRAM correctly",
        );
      }
      const salt = decodeBase64(s.value);
      if (!salt || salt.length === 0) throw new ScramClientError("server sent an invalid salt");
      if (!/^[1-9][0-9]{0,9}$/.test(i.value))
        throw new ScramClientError("server sent an invalid iteration count");
      const iterations = Number(i.value);
      if (iterations < minIterations || iterations > maxIterations) {
        throw new ScramClientError(
          `server asks for ${iterations} iterations, outside the accepted ${minIterations}–${maxIterations}`,
        );
      }
      const prepared = prepareQuery(password);
      if (prepared === null)
        throw new ScramClientError(`the password cannot be used: ${new ProhibitedStringError().message}`);
      const salted = await saltedPassword(prepared, salt, iterations);
      const clientKey = clientKeyOf(salted);
      const withoutProof = `c=${Buffer.from(GS2_HEADER).toString("base64")},r=${r.value}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const proof = xorBuffers(clientKey, hmacSha256(sha256(clientKey), authMessage));
      expectedServerSignature = hmacSha256(serverKeyOf(salted), authMessage);
      return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`, "utf8");
    },

    verify(serverFinal: Buffer): boolean {
      if (!expectedServerSignature) return false;
      const attributes = parseAttributes(serverFinal.toString("utf8"));
      const v = attributes?.[0];
      if (v?.name !== "v") return false;
      const signature = decodeBase64(v.value);
      return (
        signature !== null && signature.length === 32 && timingSafeEqual(signature, expectedServerSignature)
      );
    },
  };
}
