// RFC 8291 message encryption: the RFC's own example byte for byte, a round trip through an
// independent decryption, and the keys a PushSubscription may carry.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Json } from "../../src/jmap/types.js";
import { encryptPush, readPushKeys } from "../../src/jmap/web-push.js";
import { decryptPush, deviceKeys } from "../support/web-push.js";

// RFC 8291 Appendix A.
const EXAMPLE = {
  plaintext: "When I grow up, I want to be a watermelon",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

test("RFC 8291 Appendix A: the example's body byte for byte, and it decrypts", () => {
  const body = encryptPush({ p256dh: EXAMPLE.uaPublic, auth: EXAMPLE.auth }, Buffer.from(EXAMPLE.plaintext), {
    senderPrivateKey: Buffer.from(EXAMPLE.asPrivate, "base64url"),
    salt: Buffer.from(EXAMPLE.salt, "base64url"),
  });
  assert.equal(body.toString("base64url"), EXAMPLE.body);
  const device = deviceKeys(Buffer.from(EXAMPLE.uaPrivate, "base64url"));
  assert.equal(device.p256dh, EXAMPLE.uaPublic);
  assert.equal(
    decryptPush(body, device.ecdh, Buffer.from(EXAMPLE.auth, "base64url")).toString(),
    EXAMPLE.plaintext,
  );
});

test("a fresh key pair and salt each time, and the device reads it", () => {
  const device = deviceKeys();
  const keys = { p256dh: device.p256dh, auth: device.authText };
  const message = Buffer.from(JSON.stringify({ "@type": "StateChange", changed: {} }));
  const first = encryptPush(keys, message);
  assert.notDeepEqual(first, encryptPush(keys, message));
  assert.deepEqual(decryptPush(first, device.ecdh, device.auth), message);
});

test("keys: null, or a P-256 point and a 16-octet secret; anything else is refused", () => {
  const device = deviceKeys();
  assert.equal(readPushKeys(null), null);
  assert.equal(readPushKeys(undefined), null);
  assert.deepEqual(readPushKeys({ p256dh: device.p256dh, auth: device.authText }), {
    p256dh: device.p256dh,
    auth: device.authText,
  });
  const offCurve = Buffer.alloc(65, 1);
  offCurve[0] = 4;
  for (const bad of <Json[]>[
    "x",
    [],
    { p256dh: device.p256dh },
    { p256dh: device.p256dh, auth: "c2hvcnQ" },
    { p256dh: "BAAA", auth: device.authText },
    { p256dh: offCurve.toString("base64url"), auth: device.authText },
    { p256dh: device.p256dh, auth: device.authText, extra: "1" },
  ]) {
    assert.throws(() => readPushKeys(bad), Error, JSON.stringify(bad));
  }
});
