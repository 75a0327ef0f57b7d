// Writing responses: JSON (compressed when the client takes it and it is worth it) and problem details.

import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Problem } from "./problem.js";

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Below this a compressed body saves less than the headers and the CPU cost. */
export const COMPRESS_MIN_BYTES = 1024;

/**
 * Up to this size a body is compressed on the event loop. Brotli at quality 4 or gzip takes 0.05 ms
 * for 6 KB of JSON and 0.2–0.4 ms for 25 KB (a 50-message Email/get), less than handing the work to
 * the thread pool and back: that cost 1–1.5 ms a response on a loaded 2-core machine, and 2–10 ms
 * right after another session's burst of commits (bench/jmap's `changes` step). Larger bodies still go
 * to the pool, so no single response holds every connection up for long.
 */
export const COMPRESS_SYNC_MAX_BYTES = 64 * 1024;

// Quality 4: most of brotli's gain on JSON at a fraction of the default's (11) CPU time.
const BROTLI_OPTIONS = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } };

function encodingFor(request: IncomingMessage): "br" | "gzip" | null {
  const accepted = String(request.headers["accept-encoding"] ?? "")
    .split(",")
    .map((part) => part.trim().split(";"))
    .filter(([, q]) => q === undefined || !/^\s*q=0(\.0*)?\s*$/.test(q))
    .map(([name]) => name?.trim().toLowerCase());
  if (accepted.includes("br")) return "br";
  if (accepted.includes("gzip")) return "gzip";
  return null;
}

function compress(bytes: Buffer, encoding: "br" | "gzip"): Promise<Buffer> | Buffer {
  const sync = bytes.length <= COMPRESS_SYNC_MAX_BYTES;
  if (encoding === "br") {
    return sync ? zlib.brotliCompressSync(bytes, BROTLI_OPTIONS) : brotli(bytes, BROTLI_OPTIONS);
  }
  return sync ? zlib.gzipSync(bytes) : gzip(bytes);
}

export async function sendJson(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
  contentType = "application/json",
  headers: Record<string, string> = {},
): Promise<void> {
  let bytes: Buffer = Buffer.from(JSON.stringify(body));
  const encoding = bytes.length >= COMPRESS_MIN_BYTES ? encodingFor(request) : null;
  if (encoding !== null) bytes = await compress(bytes, encoding);
  response.writeHead(status, {
    "Content-Type": `${contentType}; charset=utf-8`,
    "Content-Length": String(bytes.length),
    "Cache-Control": "no-store",
    Vary: "Accept-Encoding, Authorization",
    ...(encoding ? { "Content-Encoding": encoding } : {}),
    ...headers,
  });
  response.end(bytes);
}

export function sendProblem(
  request: IncomingMessage,
  response: ServerResponse,
  body: Problem | { type: string; status: number; detail: string },
  headers: Record<string, string> = {},
): Promise<void> {
  return sendJson(request, response, body.status, body, "application/problem+json", headers);
}

/**
 * A whole HTTP/1.1 response carrying a problem, as text for a socket node:http no longer answers on
 * (a bad request it could not parse, a refused connection or WebSocket handshake). It closes the
 * connection.
 */
export function rawResponse(
  status: number,
  body: Problem | { type: string; status: number; detail: string },
  headers: Record<string, string> = {},
): string {
  const text = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "Content-Type: application/problem+json",
    `Content-Length: ${Buffer.byteLength(text)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "Connection: close",
  ];
  return `${lines.join("\r\n")}\r\n\r\n${text}`;
}
