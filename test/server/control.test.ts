// The control socket (src/server/control.ts) on a real Unix socket: 0600, a dead server's file replaced,
// GET /admin/api/status answered by the admin API it is given and nothing else, removed at close, and no
// socket (a warning instead) when the path is too long to bind.

import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { AdminApi, AdminRequest } from "../../src/admin/api.js";
import { startControlSocket } from "../../src/server/control.js";

function get(socketPath: string, path: string, method = "GET"): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, path, method }, (response) => {
      let text = "";
      response.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
      });
      response.once("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    request.once("error", reject);
    request.end();
  });
}

describe("control socket", () => {
  let dataDir: string;
  const asked: AdminRequest[] = [];
  const api: AdminApi = async (request) => {
    asked.push(request);
    return { status: 200, body: { version: "9.9.9" } };
  };
  const warnings: string[] = [];
  const logger = pino(
    { level: "warn" },
    {
      write(line: string) {
        warnings.push(line);
      },
    },
  );

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mailroom-control-"));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test("0600, replaces a dead server's file, answers the status through the API, and nothing else", async () => {
    const path = join(dataDir, "control.sock");
    await writeFile(path, "left by a crash");
    const control = await startControlSocket({ dataDir, api, logger });
    assert.ok(control);
    try {
      const info = await stat(path);
      assert.ok(info.isSocket());
      assert.equal(info.mode & 0o777, 0o600);
      assert.deepEqual(await get(path, "/admin/api/status"), { status: 200, body: { version: "9.9.9" } });
      assert.equal(asked.length, 1);
      assert.deepEqual([asked[0]?.method, asked[0]?.path, asked[0]?.actor], ["GET", "/status", null]);
      for (const [path_, method] of [
        ["/admin/api/users", "GET"],
        ["/admin/api/status", "POST"],
        ["/admin/api/users/root@example.org", "DELETE"],
      ] as const) {
        const refused = await get(path, path_, method);
        assert.equal(refused.status, 404, `${method} ${path_}`);
        assert.match((refused.body as { detail: string }).detail, /answers only GET \/admin\/api\/status/);
      }
      assert.equal(asked.length, 1, "nothing else reached the API");
    } finally {
      await control.close();
    }
    await assert.rejects(stat(path), { code: "ENOENT" });
  });

  test("a path too long for a Unix socket: none, and a warning that says what to do", async () => {
    const deep = join(dataDir, "d".repeat(120));
    const control = await startControlSocket({ dataDir: deep, api, logger });
    assert.equal(control, null);
    assert.match(warnings.join(""), /'mailroom status' cannot reach this server; use a shorter data_dir/);
  });
});
