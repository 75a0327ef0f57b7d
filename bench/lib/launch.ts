// How benchmarks start mailroom: as the `mailroom` program starts itself. Its entry's `#!` line
// (src/cli/main.ts) carries the node options and environment the server runs with, so a benchmark that
// spawned `node entry` would measure a differently tuned process than the one users run.

import { readFileSync } from "node:fs";

interface Launch {
  nodeArgs: string[];
  env: Record<string, string>;
}

/** The options and environment of an entry's `#!/usr/bin/env -S [NAME=value…] node [options…]` line. */
function launchOf(entry: string): Launch {
  const first = readFileSync(entry, "utf8").split("\n", 1)[0] ?? "";
  const match = /^#!\S*env -S (.*)$/.exec(first);
  const launch: Launch = { nodeArgs: [], env: {} };
  if (match === null) return launch;
  const words = (match[1] as string).trim().split(/\s+/);
  const node = words.indexOf("node");
  if (node === -1) return launch;
  for (const word of words.slice(0, node)) {
    const [name, value] = word.split("=", 2) as [string, string];
    launch.env[name] = value;
  }
  launch.nodeArgs = words.slice(node + 1);
  return launch;
}

/** node's arguments to run `mailroom <args…>` from `entry`: compiled ("build") or through tsx. */
export function commandLine(mode: "build" | "tsx", entry: string, args: string[]): string[] {
  const { nodeArgs } = launchOf(entry);
  return [...nodeArgs, ...(mode === "tsx" ? ["--import", "tsx"] : []), entry, ...args];
}

/** The environment to run `entry` with: `env` and what the entry's `#!` line sets. */
export function launchEnv(entry: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...launchOf(entry).env };
}
