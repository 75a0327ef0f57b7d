// `mailroom alias …`: addresses that forward to other addresses, and per-domain catch-alls.

import { resolveRecipient } from "../delivery/route.js";
import { StoreError } from "../store/types.js";
import {
  addressArgument,
  domainArgument,
  expectPositionals,
  parseCommandArgs,
  storeOptions,
  usageError,
} from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";

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
      if (source === destination)
        throw new CliError(`an alias from ${source} to itself would loop; nothing added`);
      const domain = source.slice(source.lastIndexOf("@") + 1);
      return withStore(values, io, async ({ store }) => {
        if (!(await store.directory.getDomain(domain))) {
          throw new CliError(
            `domain ${domain} is not served here; add it with 'mailroom domain add ${domain}'`,
          );
        }
        // Routing looks for a user before an alias, so such an alias would silently never apply.
        if (!source.startsWith("@") && (await store.directory.getUser(source))) {
          throw new CliError(
            `${source} is a user here, and mail to it goes to that user; an alias would never apply`,
          );
        }
        try {
          await store.directory.addAlias(source, destination);
        } catch (err) {
          if (err instanceof StoreError && err.code === "exists") {
            throw new CliError(`the alias ${source} -> ${destination} already exists`);
          }
          throw err;
        }
        io.stderr.write(`added alias ${source} -> ${destination}\n`);
        const reach = await resolveRecipient(store, destination);
        if (reach.localDomain && reach.users.length === 0 && reach.remote.length === 0) {
          io.stderr.write(
            `warning: ${destination} is neither a user nor an alias here yet; mail to ${source} is refused until it is\n`,
          );
        }
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, [], ["DOMAIN"], HELP_COMMAND);
      const domain = args[0] === undefined ? undefined : domainArgument(args[0], HELP_COMMAND);
      return withStore(values, io, async ({ store }) => {
        if (domain !== undefined && !(await store.directory.getDomain(domain))) {
          throw new CliError(`domain ${domain} is not served here; see 'mailroom domain list'`);
        }
        const aliases = await store.directory.listAliases(domain);
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
      return withStore(values, io, async ({ store }) => {
        const destinations = await store.directory.aliasDestinations(source);
        if (destinations.length === 0) {
          throw new CliError(`there is no alias ${source} here; see 'mailroom alias list'`);
        }
        if (destination !== undefined && !destinations.includes(destination)) {
          throw new CliError(
            `${source} does not forward to ${destination}; it forwards to ${destinations.join(", ")}`,
          );
        }
        await store.directory.removeAlias(source, destination);
        const removed = destination === undefined ? destinations : [destination];
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
  summary: "add, list and remove aliases and catch-all addresses",
  help: HELP,
  run,
};
