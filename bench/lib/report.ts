// Where every benchmark's report ends: written to its file, passed through the repository's formatter
// (`biome check bench` is part of `npm test`, so a report must pass it), then shown on stdout.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../pop3/mailroom.js";

export async function writeReport(out: string, text: string): Promise<void> {
  await writeFile(out, text);
  await promisify(execFile)(
    path.join(REPO_ROOT, "node_modules", ".bin", "biome"),
    ["format", "--write", out],
    {
      cwd: REPO_ROOT,
    },
  ).catch(() => process.stderr.write(`bench: could not format ${out} with biome\n`));
  process.stdout.write(await readFile(out, "utf8"));
}

/**
 * The warning a report carries when other work shared the machine: the 1-minute load before the run
 * (`loadStart`, os.loadavg() then) was above half the cores. At the end the benchmark's own work is in
 * the load, so only the start tells of others'. Empty otherwise.
 */
export function busyMachineWarning(loadStart: readonly number[]): string {
  if ((loadStart[0] ?? 0) <= os.cpus().length / 2) return "";
  return "\n**Something else kept the machine busy during this run (the load average before it started was above half the cores):\ntreat the figures as indicative and re-run on a quiet machine before quoting them.**\n";
}
