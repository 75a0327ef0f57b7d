// The webmail's built files (web/dist) at `/`, and the web admin's page at `/admin`: a thin file server,
// no credentials needed, since the page authenticates each JMAP or /admin/api request itself. Names under /assets/ carry a content hash (Vite), so
// they may be cached for a year; index.html must be revalidated so a new build is picked up at once.

import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** web/dist from both src/http (tsx) and dist/http (built). */
const ROOT = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
};

/**
 * Scripts and styles only from here, fetches only to /jmap. A message is shown in a srcdoc iframe,
 * which inherits this policy (CSP3 §7.8), so its remote images, fonts and styles are blocked too.
 */
export const WEB_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-src 'self'; child-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The webmail path this request names, or null when it is not one of ours. */
export function staticPathOf(method: string, pathname: string): string | null {
  if (method !== "GET" && method !== "HEAD") return null;
  if (pathname === "/" || pathname === "/index.html") return "index.html";
  if (pathname === "/admin" || pathname === "/admin/") return "admin.html";
  const asset = /^\/assets\/([A-Za-z0-9._-]+)$/.exec(pathname);
  return asset ? `assets/${asset[1]}` : null;
}

export async function serveStatic(
  request: IncomingMessage,
  response: ServerResponse,
  file: string,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(path.join(ROOT, file));
  } catch {
    const text = file.endsWith(".html")
      ? "the webmail and web admin are not built; run `npm run build` (it builds web/ too)\n"
      : "no such file\n";
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    response.end(text);
    return;
  }
  const immutable = file.startsWith("assets/");
  response.writeHead(200, {
    "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
    "Content-Length": String(body.length),
    "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "Content-Security-Policy": WEB_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  });
  response.end(request.method === "HEAD" ? undefined : body);
}
