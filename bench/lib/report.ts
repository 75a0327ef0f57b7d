// Where every benchmark's report ends: written to its file, passed through the repository's formatter
// (`biome check bench` is part of `npm test`, so a report must pass it), then shown on stdout.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
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
