// What the browser tests share: the server serves web/dist, so it is built first when this checkout
// has none, or web/src changed since (a stale build would test yesterday's webmail).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const webDir = fileURLToPath(new URL("../../web/", import.meta.url));

function isBuilt(): boolean {
  const built = ["index.html", "admin.html"].map((page) =>
    statSync(`${webDir}dist/${page}`, { throwIfNoEntry: false }),
  );
  if (built.some((stat) => !stat)) return false;
  const oldest = Math.min(...built.map((stat) => stat?.mtimeMs ?? 0));
  const sources = readdirSync(`${webDir}src`, { recursive: true, encoding: "utf8" });
  return sources.every((name) => statSync(`${webDir}src/${name}`).mtimeMs <= oldest);
}

export function buildWebIfStale(): void {
  if (isBuilt()) return;
  const built = spawnSync("npm", ["run", "build"], { cwd: webDir, encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
}
