// The webmail's build for browser tests: the server serves web/dist, so it is built when this
// checkout has none or web/src changed since.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const webDir = fileURLToPath(new URL("../../web/", import.meta.url));

export function ensureWebBuilt(): void {
  const built = statSync(`${webDir}dist/index.html`, { throwIfNoEntry: false });
  const sources = readdirSync(`${webDir}src`, { recursive: true, encoding: "utf8" });
  if (built && sources.every((name) => statSync(`${webDir}src/${name}`).mtimeMs <= built.mtimeMs)) return;
  const run = spawnSync("npm", ["run", "build"], { cwd: webDir, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
}
