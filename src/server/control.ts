// The server's control socket (issue 16): `<data_dir>/control.sock`, a Unix socket through which
// `mailroom status` on the same machine reads what only the running process knows (uptime, bound
// listeners, its recent errors). It speaks HTTP and answers GET /admin/api/status with the admin API
// itself, so the CLI prints exactly what the web admin shows. Whoever can connect is the owner of the
// data directory (0700; the socket 0600), who could read the whole store anyway: it takes no login, and
// offers nothing that changes state — those commands open the store themselves.

import { chmod, rm } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import type { Logger } from "pino";
import type { AdminApi } from "../admin/api.js";

export const CONTROL_SOCKET_NAME = "control.sock";
/** Linux's sun_path holds 108 bytes with the terminating NUL (macOS 104): longer paths cannot be bound. */
export const MAX_SOCKET_PATH = 103;
export const STATUS_PATH = "/admin/api/status";

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

export interface ControlSocket {
  readonly path: string;
  close(): Promise<void>;
}

function send(response: http.ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  response.end(text);
}

/**
 * Listens on the data directory's control socket; null (with a warning) when the path is too long for
 * a Unix socket. The caller holds the instance lock, so a socket file already there is a dead server's.
 */
export async function startControlSocket(options: {
  dataDir: string;
  api: AdminApi;
  logger: Logger;
}): Promise<ControlSocket | null> {
  const path = controlSocketPath(options.dataDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    options.logger.warn(
      { path },
      `the control socket path is longer than ${MAX_SOCKET_PATH} bytes, so 'mailroom status' cannot reach this server; use a shorter data_dir`,
    );
    return null;
  }
  await rm(path, { force: true });
  const server = http.createServer((request, response) => {
    request.resume();
    const url = new URL(request.url ?? "/", "http://control");
    if (url.pathname !== STATUS_PATH || (request.method !== "GET" && request.method !== "HEAD")) {
      send(
        response,
        404,
        { status: 404, title: "Not Found", detail: `the control socket answers only GET ${STATUS_PATH}` },
        "application/problem+json",
      );
      return;
    }
    options
      .api({
        method: "GET",
        path: "/status",
        query: url.searchParams,
        contentType: null,
        body: Buffer.alloc(0),
        actor: null,
      })
      .then(
        (answer) => send(response, answer.status, answer.body),
        (error: unknown) => {
          options.logger.error({ err: error }, "control socket: the status could not be read");
          send(
            response,
            500,
            {
              status: 500,
              title: "Internal Server Error",
              detail: "the status could not be read; see the log",
            },
            "application/problem+json",
          );
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // The directory already keeps others out; the mode says so for the socket too, whatever the umask.
  await chmod(path, 0o600);
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(path, { force: true });
    },
  };
}
