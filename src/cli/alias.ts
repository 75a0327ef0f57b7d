// `mailroom alias …`: addresses that forward to other addresses, and per-domain catch-alls.

import { withAdmin } from "./admin.js";
import {
  addressArgument,
  domainArgument,
  expectPositionals,
  parseCommandArgs,
  storeOptions,
  usageError,
} from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";

const HELP_COMMAND = "mailroom alias --help";

const HELP = `Usage: mailroom alias <action> [options]

Manage aliases. Mail to an alias SOURCE goes to each of its destinations, which
may be users, other aliases or addresses elsewhere. A SOURCE of the form
@example.org is that domain's catch-all: it takes mail for addresses there that
match no user or alias. Mail to user+anything@example.org goes to
user@example.org unless that exact address exists.

Actions:
  add SOURCE DEST        forward SOURCE (on a domain served here) to DEST
  list [DOMAIN]          list aliases, of every domain or of one
  remove SOURCE [DEST]   remove one destination, or every one of SOURCE

Options:
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help
`;

/** "a@dom" or the catch-all "@dom", normalised like the store keeps it. */
function sourceArgument(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith("@")) return `@${domainArgument(trimmed.slice(1), HELP_COMMAND)}`;
  return addressArgument(trimmed, HELP_COMMAND);
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, storeOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...args] = positionals;
  switch (action) {
    case "add": {
      expectPositionals(args, ["SOURCE", "DEST"], [], HELP_COMMAND);
      const source = sourceArgument(args[0] ?? "");
      const destination = addressArgument(args[1] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const added = await admin.addAlias(source, destination);
        io.stderr.write(`added alias ${added.source} -> ${added.destination}\n`);
        if (added.warning !== null) io.stderr.write(`warning: ${added.warning}\n`);
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, [], ["DOMAIN"], HELP_COMMAND);
      const domain = args[0] === undefined ? undefined : domainArgument(args[0], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const aliases = await admin.listAliases(domain);
        const width = Math.max(0, ...aliases.map((alias) => alias.source.length));
        for (const alias of aliases) io.stdout.write(`${alias.source.padEnd(width)}  ${alias.destination}\n`);
        if (aliases.length === 0)
          io.stderr.write("no aliases yet; add one with 'mailroom alias add SOURCE DEST'\n");
        return ExitCode.ok;
      });
    }
    case "remove": {
      expectPositionals(args, ["SOURCE"], ["DEST"], HELP_COMMAND);
      const source = sourceArgument(args[0] ?? "");
      const destination = args[1] === undefined ? undefined : addressArgument(args[1], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const removed = await admin.removeAlias(source, destination);
        for (const target of removed) io.stderr.write(`removed alias ${source} -> ${target}\n`);
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (add, list or remove)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

export const aliasCommand: CliCommand = {
  name: "alias",
  help: HELP,
  run,
};
