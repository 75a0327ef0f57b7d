// `mailroom sieve …`: each user's Sieve scripts (store part `sieveScripts`). `check FILE…` reports every
// error with its line and column, as delivery and ManageSieve's CHECKSCRIPT do (RFC 5804 §2.12); `put`
// refuses a script with errors the same way, so only valid scripts are stored; the active one is what
// delivery runs, read at each delivery, so changes apply at once.

import { readFile } from "node:fs/promises";
import { defaultManageSieveConfig } from "../config/defaults.js";
import { CAPABILITIES, check } from "../sieve/index.js";
import { ScriptService } from "../sieve-scripts/service.js";
import { isScriptName, MAX_SCRIPT_NAME } from "../store/sieve-scripts.js";
import { addressArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { unknownUserError } from "./user.js";

const HELP_COMMAND = "mailroom sieve --help";

const HELP = `Usage: mailroom sieve check FILE... | -
       mailroom sieve put EMAIL NAME FILE | -
       mailroom sieve activate EMAIL NAME | --none
       mailroom sieve list EMAIL
       mailroom sieve get EMAIL NAME
       mailroom sieve delete EMAIL NAME

check     check Sieve scripts (RFC 5228 and the extensions listed below) without running them: every
          syntax, "require" and argument error is printed as FILE:LINE:COLUMN: message
put       store (or replace) the user's script NAME; refused, with the same errors, unless valid
          and within [managesieve] max_script_size and max_scripts; a replaced active script stays
          active
activate  make NAME the one script run when mail is delivered to the user; --none runs none
list      the user's scripts, the active one marked with *
get       print the script NAME
delete    remove the script NAME (the active one too: then none runs)

Use - to read a script from stdin.

Options:
  --config FILE     configuration file
  --data-dir DIR    data directory (overrides the configuration)
  -h, --help        show this help

Exit status: 0 done, 65 a script has errors, 66 a file cannot be read, 1 no such user or script.

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

const sieveOptions = { ...storeOptions, none: { type: "boolean" } } as const;

/** Prints each error as FILE:LINE:COLUMN: message; true when there was none. */
function report(file: string, source: string, io: CliIo): boolean {
  const errors = check(source);
  // SieveError's message starts with "LINE:COLUMN: " when it has a position.
  for (const error of errors) io.stdout.write(`${file}:${error.position ? "" : " "}${error.message}\n`);
  return errors.length === 0;
}

async function checkFiles(files: string[], io: CliIo): Promise<number> {
  if (files.length === 0) throw usageError("missing FILE (or - for stdin)", HELP_COMMAND);
  let status: number = ExitCode.ok;
  for (const file of files) {
    const source = await readScript(file, io);
    if (source === null) {
      status = ExitCode.noInput;
      continue;
    }
    if (report(file, source, io)) io.stdout.write(`${file}: ok\n`);
    else if (status === ExitCode.ok) status = ExitCode.dataError;
  }
  return status;
}

// RFC 5804 §1.6: a script name is non-empty UTF-8 without control characters; 128 characters (512
// octets) is the least a server must accept.
function scriptName(name: string): string {
  if (!isScriptName(name)) {
    throw usageError(
      `'${name}' is not a script name (1 to ${MAX_SCRIPT_NAME} bytes, no control characters)`,
      HELP_COMMAND,
    );
  }
  return name;
}

const ACTIONS: Record<string, { required: string[]; optional?: string[] }> = {
  put: { required: ["EMAIL", "NAME", "FILE"] },
  activate: { required: ["EMAIL"], optional: ["NAME"] },
  list: { required: ["EMAIL"] },
  get: { required: ["EMAIL", "NAME"] },
  delete: { required: ["EMAIL", "NAME"] },
};

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, sieveOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...rest] = positionals;
  if (action === "check") return checkFiles(rest, io);
  const shape = action === undefined ? undefined : ACTIONS[action];
  if (shape === undefined) {
    const known = ["check", ...Object.keys(ACTIONS)].join(", ");
    throw usageError(
      action === undefined ? `missing action (${known})` : `unknown action '${action}'; use ${known}`,
      HELP_COMMAND,
    );
  }
  expectPositionals(rest, shape.required, shape.optional ?? [], HELP_COMMAND);
  const address = addressArgument(rest[0] ?? "", HELP_COMMAND);
  const name = rest[1] === undefined ? null : scriptName(rest[1]);
  if (action === "activate" && (name === null) === !values.none) {
    throw usageError("give either NAME or --none", HELP_COMMAND);
  }
  let source: string | null = null;
  if (action === "put") {
    const file = rest[2] ?? "-";
    source = await readScript(file, io);
    if (source === null) return ExitCode.noInput;
    if (!report(file, source, io)) return ExitCode.dataError;
  }
  return withStore(values, io, async ({ store, config }) => {
    const user = await store.directory.getUser(address);
    if (!user) throw unknownUserError(address);
    const scripts = store.sieveScripts;
    const missing = () =>
      new CliError(`${address} has no Sieve script '${name}'; see 'mailroom sieve list ${address}'`);
    switch (action) {
      case "put": {
        // The rules ManageSieve and JMAP Sieve keep, limits included (sieve-scripts/service.ts).
        const service = new ScriptService(store, config.managesieve ?? defaultManageSieveConfig());
        const refusal = await service.put(user.id, name as string, Buffer.from(source as string, "utf8"));
        if (refusal?.kind === "too-large") {
          throw new CliError(
            `the script is larger than [managesieve] max_script_size (${refusal.limit} octets)`,
          );
        }
        if (refusal?.kind === "too-many") {
          throw new CliError(
            `${address} already has ${refusal.limit} scripts, [managesieve] max_scripts; delete one first`,
          );
        }
        if (refusal !== null) throw new CliError(`the script cannot be stored (${refusal.kind})`);
        io.stderr.write(`script '${name}' of ${address} stored\n`);
        break;
      }
      case "activate":
        if (!(await scripts.activateScript(user.id, name))) throw missing();
        io.stderr.write(
          name === null
            ? `no script of ${address} is active\n`
            : `script '${name}' of ${address} is active\n`,
        );
        break;
      case "list":
        for (const script of await scripts.listScripts(user.id)) {
          io.stdout.write(`${script.active ? "*" : " "} ${script.name}\n`);
        }
        break;
      case "get": {
        const script = await scripts.getScript(user.id, name as string);
        if (script === undefined) throw missing();
        io.stdout.write(script.source);
        break;
      }
      case "delete":
        if (!(await scripts.deleteScript(user.id, name as string))) throw missing();
        io.stderr.write(`script '${name}' of ${address} deleted\n`);
        break;
    }
    return ExitCode.ok;
  });
}

export const sieveCommand: CliCommand = {
  name: "sieve",
  help: HELP,
  run,
};
