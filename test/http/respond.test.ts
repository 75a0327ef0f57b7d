// sendJson's compression: small bodies go as they are, larger ones in the encoding the client prefers,
// whether they are compressed on the event loop (up to COMPRESS_SYNC_MAX_BYTES) or on the thread pool.

import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import zlib from "node:zlib";
import { COMPRESS_MIN_BYTES, COMPRESS_SYNC_MAX_BYTES, sendJson } from "../../src/http/respond.js";

/** A JSON body whose text is about `bytes` octets, varied enough not to shrink to nothing. */
function bodyOf(bytes: number): { items: string[] } {
  const items: string[] = [];
  let length = 12;
  for (let i = 0; length < bytes; i++) {
    const item = `item ${i} ${((i * 7919) % 104729).toString(36)}`;
    items.push(item);
    length += item.length + 3;
  }
  return { items };
}

const SIZES = {
  small: COMPRESS_MIN_BYTES - 200,
  medium: 25 * 1024,
  large: COMPRESS_SYNC_MAX_BYTES * 3,
};

let server: http.Server;
let port: number;

before(async () => {
  server = http.createServer((request, response) => {
    const size = SIZES[(request.url ?? "/").slice(1) as keyof typeof SIZES];
    void sendJson(request, response, 200, bodyOf(size));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

function get(path: string, acceptEncoding: string) {
  return new Promise<{ encoding: string | undefined; length: number; bytes: Buffer }>((resolve, reject) => {
    const request = http.get(
      { host: "127.0.0.1", port, path, headers: { "accept-encoding": acceptEncoding } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            encoding: response.headers["content-encoding"],
            length: Number(response.headers["content-length"]),
            bytes: Buffer.concat(chunks),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
  });
}

function decoded(encoding: string | undefined, bytes: Buffer): unknown {
  const text =
    encoding === "br"
      ? zlib.brotliDecompressSync(bytes)
      : encoding === "gzip"
        ? zlib.gunzipSync(bytes)
        : bytes;
  return JSON.parse(text.toString("utf8"));
}

test("a body under the threshold is sent uncompressed whatever the client takes", async () => {
  const answer = await get("/small", "br, gzip");
  assert.equal(answer.encoding, undefined);
  assert.equal(answer.length, answer.bytes.length);
  assert.deepEqual(decoded(undefined, answer.bytes), bodyOf(SIZES.small));
});

for (const size of ["medium", "large"] as const) {
  test(`a ${size} body is compressed with brotli when offered, else gzip, and decodes to the JSON`, async () => {
    const expected = bodyOf(SIZES[size]);
    const raw = Buffer.byteLength(JSON.stringify(expected));
    assert.ok(size === "medium" ? raw <= COMPRESS_SYNC_MAX_BYTES : raw > COMPRESS_SYNC_MAX_BYTES);
    for (const [offer, encoding] of [
      ["gzip, deflate, br", "br"],
      ["gzip, deflate", "gzip"],
      ["br;q=0, gzip", "gzip"],
    ] as const) {
      const answer = await get(`/${size}`, offer);
      assert.equal(answer.encoding, encoding, offer);
      assert.equal(answer.length, answer.bytes.length);
      assert.ok(answer.bytes.length < raw / 2, `${encoding} of ${raw} octets gave ${answer.bytes.length}`);
      assert.deepEqual(decoded(encoding, answer.bytes), expected);
    }
  });
}

test("a client that takes no encoding gets the body as it is, large or not", async () => {
  for (const offer of ["identity", "deflate", "gzip;q=0, br;q=0.0"]) {
    const answer = await get("/large", offer);
    assert.equal(answer.encoding, undefined, offer);
    assert.deepEqual(decoded(undefined, answer.bytes), bodyOf(SIZES.large));
  }
});
