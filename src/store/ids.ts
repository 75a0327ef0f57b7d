// Message and queue ids: 10 base32 characters of milliseconds since the epoch, then 10 of randomness.
// Lower-case only, so ids stay distinct on case-insensitive filesystems; the time prefix makes them
// sort by creation time, the random tail makes collisions between processes negligible (50 bits/ms).

import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS = 10;
const RANDOM_CHARS = 10;

export const ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{20}$/;

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function randomTail(): string {
  const bytes = randomBytes(RANDOM_CHARS);
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte & 31];
  return out;
}

function newId(): string {
  return encodeTime(Date.now()) + randomTail();
}

export function newMessageId(): string {
  return newId();
}

export function newQueueId(): string {
  return newId();
}

export function isStoreId(value: string): boolean {
  return ID_PATTERN.test(value);
}
