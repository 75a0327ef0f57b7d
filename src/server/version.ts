// This build's version, as `mailroom --version` and the web admin's status show it.

import { readFileSync } from "node:fs";

export function version(): string {
  // Read at run time: the same relative path works from src/ (tsx) and from dist/ (built).
  const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: string;
  };
  return packageJson.version ?? "unknown";
}
