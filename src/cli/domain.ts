// `mailroom domain …`: the domains this server receives mail for.

import { isIP } from "node:net";
import { AdminError, type DomainRecords } from "../admin/service.js";
import { recordsText } from "../dns/records.js";
import { withAdmin } from "./admin.js";
import { domainArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";

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

function printRecords(shown: DomainRecords, hostname: string, io: CliIo): void {
  io.stdout.write(recordsText(shown.records, hostname));
  if (!shown.dkim) {
    io.stderr.write(
      `domain ${shown.domain} has no DKIM key; create one with 'mailroom dkim rotate ${shown.domain}'\n`,
    );
  }
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
      return withAdmin(values, io, async ({ admin, config }) => {
        let shown: DomainRecords;
        try {
          shown = await admin.addDomain(name, addresses);
        } catch (error) {
          if (error instanceof AdminError && error.code === "incomplete")
            io.stderr.write(`added domain ${name}\n`);
          throw error;
        }
        io.stderr.write(`added domain ${name}\n`);
        printRecords(shown, config.hostname, io);
        return ExitCode.ok;
      });
    }
    case "records": {
      expectPositionals(args, ["NAME"], [], HELP_COMMAND);
      const name = domainArgument(args[0] ?? "", HELP_COMMAND);
      const addresses = addressesOption(values.address);
      return withAdmin(values, io, async ({ admin, config }) => {
        printRecords(await admin.domainRecords(name, addresses), config.hostname, io);
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, [], [], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const domains = await admin.listDomains();
        for (const domain of domains) io.stdout.write(`${domain.name}\n`);
        if (domains.length === 0)
          io.stderr.write("no domains yet; add one with 'mailroom domain add NAME'\n");
        return ExitCode.ok;
      });
    }
    case "remove": {
      expectPositionals(args, ["NAME"], [], HELP_COMMAND);
      const name = domainArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        await admin.removeDomain(name);
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

export const domainCommand: CliCommand = {
  name: "domain",
  help: HELP,
  run,
};
