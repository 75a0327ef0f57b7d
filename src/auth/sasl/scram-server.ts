// SCRAM-SHA-256 server (RFC 5802, RFC 7677), without channel binding: we never advertise
// SCRAM-SHA-256-PLUS, so a client asking for binding ("p=") is refused and one saying it could bind but
// thinks we cannot ("y") is accepted (RFC 5802 §6).

import { randomBytes, timingSafeEqual } from "node:crypto";
import { hmacSha256, sha256, xorBuffers } from "../scram-verifier.js";
import type { SaslStep } from "../types.js";
import type { CredentialBackend, ScramCredentials } from "./backend.js";
import { challenge, decodeUtf8, failure, MechanismExchange } from "./exchange.js";
import { normalizeUsername } from "./plain.js";
import { decodeBase64, decodeSaslName, isValidNonce, parseAttributes } from "./scram-messages.js";

const MAX_CLIENT_NONCE = 256;

export interface ScramServerOptions {
  /** The server's part of the nonce; random by default (tests inject RFC 7677's). */
  serverNonce?: () => string;
}

interface FirstRound {
  username: string;
  gs2Header: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  credentials: ScramCredentials;
}

export function randomServerNonce(): string {
  // base64 has no ",", so it is a valid nonce as is.
  return randomBytes(18).toString("base64");
}

export class ScramSha256Exchange extends MechanismExchange {
  private first: FirstRound | null = null;
  private readonly serverNonce: () => string;

  constructor(
    private readonly backend: CredentialBackend,
    onError: (error: unknown) => void,
    options: ScramServerOptions = {},
  ) {
    super("SCRAM-SHA-256", onError);
    this.serverNonce = options.serverNonce ?? randomServerNonce;
  }

  protected async onStart(initial: Buffer | null): Promise<SaslStep> {
    const refusal = await this.backend.refusal();
    if (refusal) return failure(refusal);
    // SCRAM is client-first: without an initial response, an empty challenge asks for it (RFC 4422 §5).
    if (initial === null) return challenge(Buffer.alloc(0));
    return this.onResponse(initial);
  }

  protected onResponse(response: Buffer): Promise<SaslStep> {
    return this.first === null ? this.clientFirst(response) : this.clientFinal(response, this.first);
  }

  private async clientFirst(bytes: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(bytes);
    if (text === null) return failure("malformed");
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const firstComma = text.indexOf(",");
    const secondComma = firstComma < 0 ? -1 : text.indexOf(",", firstComma + 1);
    if (secondComma < 0) return failure("malformed");
    const cbindFlag = text.slice(0, firstComma);
    const authzidField = text.slice(firstComma + 1, secondComma);
    if (cbindFlag !== "n" && cbindFlag !== "y") return failure("malformed");
    let authzid: string | null = null;
    if (authzidField !== "") {
      if (!authzidField.startsWith("a=")) return failure("malformed");
      authzid = decodeSaslName(authzidField.slice(2));
      if (authzid === null) return failure("malformed");
    }
    const gs2Header = text.slice(0, secondComma + 1);
    const clientFirstBare = text.slice(secondComma + 1);

    const attributes = parseAttributes(clientFirstBare);
    // RFC 5802 §5.1: "m" is reserved; its presence MUST cause authentication failure.
    if (!attributes || attributes.length < 2 || attributes[0]!.name === "m") return failure("malformed");
    const [userAttr, nonceAttr] = attributes as [
      { name: string; value: string },
      { name: string; value: string },
    ];
    if (userAttr.name !== "n" || nonceAttr.name !== "r") return failure("malformed");
    const rawName = decodeSaslName(userAttr.value);
    if (rawName === null) return failure("malformed");
    const clientNonce = nonceAttr.value;
    if (!isValidNonce(clientNonce) || clientNonce.length > MAX_CLIENT_NONCE) return failure("malformed");

    const username = normalizeUsername(rawName);
    if (authzid !== null && normalizeUsername(authzid) !== username) {
      return this.backend.failed(rawName, this.mechanism, "authorization identity differs from user");
    }
    const credentials = await this.backend.scramCredentials(username);
    const nonce = clientNonce + this.serverNonce();
    const { salt, iterations } = credentials.verifier;
    const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
    this.first = { username, gs2Header, clientFirstBare, serverFirst, nonce, credentials };
    return challenge(serverFirst);
  }

  private async clientFinal(bytes: Buffer, first: FirstRound): Promise<SaslStep> {
    const text = decodeUtf8(bytes);
    if (text === null) return failure("malformed");
    const proofAt = text.lastIndexOf(",p=");
    if (proofAt < 0) return failure("malformed");
    const withoutProof = text.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    if (!attributes || attributes.length < 2) return failure("malformed");
    const [binding, nonce] = attributes as [{ name: string; value: string }, { name: string; value: string }];
    if (binding.name !== "c" || nonce.name !== "r") return failure("malformed");
    if (attributes.slice(2).some((a) => a.name === "m")) return failure("malformed");
    const proof = decodeBase64(text.slice(proofAt + 3));
    if (proof?.length !== 32) return failure("malformed");
    // Without channel binding, c= carries the gs2 header back, base64-encoded (RFC 5802 §7, "c=biws").
    const bindingData = decodeBase64(binding.value);
    if (!bindingData?.equals(Buffer.from(first.gs2Header, "utf8"))) return failure("malformed");

    // RFC 5802 §5.1: the nonce must be exactly the one the server sent.
    if (nonce.value !== first.nonce) {
      return this.backend.failed(first.username, this.mechanism, "nonce does not match");
    }
    const { user, verifier, refusal } = first.credentials;
    const authMessage = `${first.clientFirstBare},${first.serverFirst},${withoutProof}`;
    const clientSignature = hmacSha256(verifier.storedKey, authMessage);
    const clientKey = xorBuffers(proof, clientSignature);
    const proofMatches = timingSafeEqual(sha256(clientKey), verifier.storedKey);
    if (!proofMatches || user === null) {
      return this.backend.failed(
        first.username,
        this.mechanism,
        user === null ? (refusal ?? "unknown user") : "wrong proof",
      );
    }
    const success = this.backend.succeeded(user, this.mechanism);
    if (success.kind !== "success") return success;
    const serverSignature = hmacSha256(verifier.serverKey, authMessage);
    return { ...success, data: Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8") };
  }
}
