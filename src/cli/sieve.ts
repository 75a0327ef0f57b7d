// `mailroom sieve check FILE…`: reads Sieve scripts and reports every error with its line and column,
// as delivery and ManageSieve's CHECKSCRIPT will (RFC 5804 §2.12), before a script is put in place.

import { readFile } from "node:fs/promises";
import { CAPABILITIES, check } from "../sieve/index.js";
import { parseCommandArgs, usageError } from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";

const HELP_COMMAND = "mailroom sieve --help";

const HELP = `Usage: mailroom sieve check FILE... | -

Check Sieve scripts (RFC 5228 and the extensions listed below) without running them: every syntax,
"require" and argument error is printed as FILE:LINE:COLUMN: message. Use - to read one script from
stdin.

Exit status: 0 every script is valid, 65 some script has errors, 66 a file cannot be read.

Extensions: ${CAPABILITIES.join(" ")}
`;

async function readScript(file: string, io: CliIo): Promise<string | null> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    io.stderr.write(`mailroom: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})\n`);
    return null;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {}, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...files] = positionals;
  if (action !== "check") {
    throw usageError(
      action === undefined ? "missing action (check)" : `unknown action '${action}'; use check`,
      HELP_COMMAND,
    );
  }
  if (files.length === 0) throw usageError("missing FILE (or - for stdin)", HELP_COMMAND);
  let status: number = ExitCode.ok;
  for (const file of files) {
    const source = await readScript(file, io);
    if (source === null) {
      status = ExitCode.noInput;
      continue;
    }
    const errors = check(source);
    if (errors.length === 0) {
      io.stdout.write(`${file}: ok\n`);
      continue;
    }
    // SieveError's message starts with "LINE:COLUMN: " when it has a position.
    for (const error of errors) io.stdout.write(`${file}:${error.position ? "" : " "}${error.message}\n`);
    if (status === ExitCode.ok) status = ExitCode.dataError;
  }
  return status;
}

export const sieveCommand: CliCommand = {
  name: "sieve",
  summary: "check Sieve scripts (line and column of every error)",
  help: HELP,
  run,
};
