// Checks on a DKIM key handed to setDkimKey, shared by every backend so they refuse the same input.

import { type DkimKeyInput, StoreError } from "./types.js";

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const SELECTOR = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const ALGORITHMS: ReadonlySet<string> = new Set(["rsa-sha256", "ed25519-sha256"]);

/** The key as stored: selector lower-cased (DNS names are case-insensitive), PEM kept as given. */
export function normalizeDkimKey(key: DkimKeyInput): DkimKeyInput {
  if (typeof key !== "object" || key === null)
    throw new StoreError("invalid", "a DKIM key must be an object");
  const selector = typeof key.selector === "string" ? key.selector.trim().toLowerCase() : "";
  // RFC 6376 §3.1: the selector is one or more DNS labels.
  if (selector.length === 0 || selector.length > 253 || !SELECTOR.test(selector)) {
    throw new StoreError(
      "invalid",
      `"${String(key.selector)}" is not a DKIM selector; use DNS labels such as mr202406`,
    );
  }
  if (
    typeof key.privateKeyPem !== "string" ||
    !/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.privateKeyPem)
  ) {
    throw new StoreError("invalid", "a DKIM private key must be PEM text (-----BEGIN PRIVATE KEY-----)");
  }
  if (!ALGORITHMS.has(key.algorithm)) {
    throw new StoreError(
      "invalid",
      `"${String(key.algorithm)}" is not a DKIM algorithm mailroom signs with; use rsa-sha256 or ed25519-sha256`,
    );
  }
  return { selector, privateKeyPem: key.privateKeyPem, algorithm: key.algorithm };
}
