// `mailroom domain …`: the domains this server receives mail for.

import { isIP } from "node:net";
import type { Config } from "../config/types.js";
import { domainRecords, recordsText } from "../dns/records.js";
import { type Store, StoreError } from "../store/types.js";
import { domainArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { createDomainKey } from "./dkim.js";

const HELP_COMMAND = "mailroom domain --help";

const HELP = `Usage: mailroom domain <action> [options]

Manage the domains this server receives mail for.

Actions:
  add NAME        receive mail for NAME (e.g. example.org); creates its DKIM key and prints
                  every DNS record to publish: MX, SPF, DKIM, DMARC and the PTR (see 'mailroom dkim')
  records NAME    print NAME's DNS records again ('mailroom doctor NAME' checks them)
  list            list the domains served here
  remove NAME     stop serving NAME (refused while it still has users or aliases)

Options:
  --address IP    for add and records: the server's public address(es), comma-separated, for the
                  PTR record
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help
`;

const options = { ...storeOptions, address: { type: "string" } } as const;

function addressesOption(value: string | boolean | undefined): string[] {
  if (value === undefined) return [];
  const addresses = String(value)
    .split(",")
    .map((each) => each.trim())
    .filter(Boolean);
  for (const address of addresses) {
    if (isIP(address) === 0) throw usageError(`--address: '${address}' is not an IP address`, HELP_COMMAND);
  }
  return addresses;
}

async function printRecords(
  store: Store,
  config: Config,
  name: string,
  addresses: string[],
  io: CliIo,
): Promise<void> {
  const dkim = await store.directory.getDkimKey(name);
  const records = domainRecords({ domain: name, hostname: config.hostname, dkim, addresses });
  io.stdout.write(recordsText(records, config.hostname));
  if (!dkim)
    io.stderr.write(`domain ${name} has no DKIM key; create one with 'mailroom dkim rotate ${name}'\n`);
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...args] = positionals;
  switch (action) {
    case "add": {
      expectPositionals(args, ["NAME"], [], HELP_COMMAND);
      const name = domainArgument(args[0] ?? "", HELP_COMMAND);
      const addresses = addressesOption(values.address);
      return withStore(values, io, async ({ store, config }) => {
        if (await store.directory.getDomain(name))
          throw new CliError(`domain ${name} is already served here`);
        try {
          await store.directory.addDomain(name);
        } catch (err) {
          if (err instanceof StoreError && err.code === "exists") {
            throw new CliError(`domain ${name} is already served here`);
          }
          throw err;
        }
        io.stderr.write(`added domain ${name}\n`);
        try {
          await createDomainKey(store, name);
        } catch (err) {
          throw new CliError(
            `added domain ${name}, but creating its DKIM key failed (${err instanceof Error ? err.message : String(err)}); run 'mailroom dkim rotate ${name}'`,
          );
        }
        await printRecords(store, config, name, addresses, io);
        return ExitCode.ok;
      });
    }
    case "records": {
      expectPositionals(args, ["NAME"], [], HELP_COMMAND);
      const name = domainArgument(args[0] ?? "", HELP_COMMAND);
      const addresses = addressesOption(values.address);
      return withStore(values, io, async ({ store, config }) => {
        if (!(await store.directory.getDomain(name))) {
          throw new CliError(`domain ${name} is not served here; see 'mailroom domain list'`);
        }
        await printRecords(store, config, name, addresses, io);
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, [], [], HELP_COMMAND);
      return withStore(values, io, async ({ store }) => {
        const domains = await store.directory.listDomains();
        for (const domain of domains) io.stdout.write(`${domain.name}\n`);
        if (domains.length === 0)
          io.stderr.write("no domains yet; add one with 'mailroom domain add NAME'\n");
        return ExitCode.ok;
      });
    }
    case "remove": {
      expectPositionals(args, ["NAME"], [], HELP_COMMAND);
      const name = domainArgument(args[0] ?? "", HELP_COMMAND);
      return withStore(values, io, async ({ store }) => {
        if (!(await store.directory.getDomain(name))) {
          throw new CliError(`domain ${name} is not served here; see 'mailroom domain list'`);
        }
        const users = (await store.directory.listUsers(name)).length;
        const aliases = (await store.directory.listAliases(name)).length;
        if (users > 0 || aliases > 0) throw inUseError(name, users, aliases);
        try {
          await store.directory.removeDomain(name);
        } catch (err) {
          // Someone added a user or alias between the check and the removal.
          if (err instanceof StoreError && err.code === "not-empty") throw inUseError(name, 0, 0);
          throw err;
        }
        io.stderr.write(`removed domain ${name}\n`);
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (add, records, list or remove)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

function inUseError(name: string, users: number, aliases: number): CliError {
  const parts = [
    users > 0 ? `${users} user${users === 1 ? "" : "s"}` : "",
    aliases > 0 ? `${aliases} alias${aliases === 1 ? "" : "es"}` : "",
  ].filter(Boolean);
  const what = parts.length > 0 ? parts.join(" and ") : "users or aliases";
  return new CliError(
    `domain ${name} still has ${what}; remove them first (see 'mailroom user list ${name}' and 'mailroom alias list ${name}')`,
  );
}

export const domainCommand: CliCommand = {
  name: "domain",
  summary: "add, list and remove the domains served here",
  help: HELP,
  run,
};
