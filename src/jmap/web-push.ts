// Web Push message encryption (RFC 8291 over RFC 8188 aes128gcm): what a PushSubscription with keys
// is sent instead of the plain JSON (RFC 8620 §7.2 requires it when the client gave keys).

import { createCipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import type { PushKeys } from "../store/types.js";
import type { Json } from "./types.js";

/** One record holds the whole message; 4096 is the RFC 8188 default size. */
const RECORD_SIZE = 4096;

function fromBase64Url(value: string, name: string, length: number): Buffer {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) throw new Error(`${name} must be base64url`);
  const bytes = Buffer.from(value, "base64url");
  if (bytes.length !== length) throw new Error(`${name} must be ${length} octets`);
  return bytes;
}

/** The keys property of a new PushSubscription: null, or a P-256 public key and a 16-octet secret. */
export function readPushKeys(value: Json | undefined): PushKeys | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw new Error("keys must be null or an object");
  const { p256dh, auth, ...rest } = value;
  if (Object.keys(rest).length > 0 || typeof p256dh !== "string" || typeof auth !== "string") {
    throw new Error("keys must have exactly p256dh and auth, both strings");
  }
  const point = fromBase64Url(p256dh, "p256dh", 65);
  if (point[0] !== 0x04) throw new Error("p256dh must be an uncompressed P-256 point");
  fromBase64Url(auth, "auth", 16);
  // The point must be on the curve: computing a secret with it proves that.
  try {
    const probe = createECDH("prime256v1");
    probe.generateKeys();
    probe.computeSecret(point);
  } catch {
    throw new Error("p256dh is not a P-256 public key");
  }
  return { p256dh, auth };
}

export interface EncryptOptions {
  /** For RFC 8291's example only: a fixed sender key pair and salt. */
  senderPrivateKey?: Buffer;
  salt?: Buffer;
}

/** The aes128gcm body for `plaintext` to the subscription's keys (RFC 8291 §3.4, RFC 8188 §2). */
export function encryptPush(keys: PushKeys, plaintext: Buffer, options: EncryptOptions = {}): Buffer {
  const uaPublic = Buffer.from(keys.p256dh, "base64url");
  const authSecret = Buffer.from(keys.auth, "base64url");
  const sender = createECDH("prime256v1");
  if (options.senderPrivateKey) sender.setPrivateKey(options.senderPrivateKey);
  else sender.generateKeys();
  const asPublic = sender.getPublicKey();
  const ecdhSecret = sender.computeSecret(uaPublic);
  const salt = options.salt ?? randomBytes(16);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, "Content-Encoding: aes128gcm\0", 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, "Content-Encoding: nonce\0", 12));
  if (plaintext.length + 17 > RECORD_SIZE) throw new Error("a push message must fit one record");
  const cipher = createCipheriv("aes-128-gcm", cek, nonce);
  // 0x02 ends the last (here the only) record, with no padding (RFC 8188 §2).
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.update(Buffer.from([2])), cipher.final()]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(asPublic.length, 20);
  return Buffer.concat([header, asPublic, sealed, cipher.getAuthTag()]);
}
