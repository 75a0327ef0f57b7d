// `mailroom dkim …`: the DKIM keys mail from the served domains is signed with, and the DNS records
// that publish them.

import { createDomainKey } from "../admin/service.js";
import { type DkimAlgorithm, dkimTxtRecord } from "../mail/dkim.js";
import type { Store } from "../store/types.js";
import { domainArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";

const HELP_COMMAND = "mailroom dkim --help";

const HELP = `Usage: mailroom dkim <action> DOMAIN [options]

Manage the DKIM keys that sign mail sent from the domains served here. 'mailroom domain add'
creates a domain's first key.

Actions:
  show DOMAIN     print the DNS TXT record that publishes DOMAIN's key
  rotate DOMAIN   create a new key with a new selector and print its record; mail is signed
                  with the new key at once, so publish the record before sending

Options:
  --algorithm ALG  for rotate: rsa-sha256 (default, 2048-bit RSA) or ed25519-sha256
  --config FILE    configuration file
  --data-dir DIR   data directory (overrides the configuration)
  -h, --help       show this help
`;

const options = { ...storeOptions, algorithm: { type: "string" } } as const;

/** Zone-file text for a key: a comment naming what it is, then the record. */
export function recordText(domain: string, key: Parameters<typeof dkimTxtRecord>[1]): string {
  const record = dkimTxtRecord(domain, key);
  return `; DKIM key for ${domain} (selector ${key.selector}, ${key.algorithm}): publish this TXT record\n${record.zoneLine}\n`;
}

function algorithmOption(value: string | boolean | undefined): DkimAlgorithm {
  if (value === undefined) return "rsa-sha256";
  if (value === "rsa-sha256" || value === "ed25519-sha256") return value;
  throw usageError(`unknown algorithm '${String(value)}' (use rsa-sha256 or ed25519-sha256)`, HELP_COMMAND);
}

async function requireDomain(store: Store, domain: string): Promise<void> {
  if (!(await store.directory.getDomain(domain))) {
    throw new CliError(`domain ${domain} is not served here; add it with 'mailroom domain add ${domain}'`);
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
    case "show": {
      expectPositionals(args, ["DOMAIN"], [], HELP_COMMAND);
      if (values.algorithm !== undefined) throw usageError("--algorithm is only for rotate", HELP_COMMAND);
      const domain = domainArgument(args[0] ?? "", HELP_COMMAND);
      return withStore(values, io, async ({ store }) => {
        await requireDomain(store, domain);
        const key = await store.directory.getDkimKey(domain);
        if (!key) {
          throw new CliError(
            `domain ${domain} has no DKIM key yet; create one with 'mailroom dkim rotate ${domain}'`,
          );
        }
        io.stdout.write(recordText(domain, key));
        return ExitCode.ok;
      });
    }
    case "rotate": {
      expectPositionals(args, ["DOMAIN"], [], HELP_COMMAND);
      const domain = domainArgument(args[0] ?? "", HELP_COMMAND);
      const algorithm = algorithmOption(values.algorithm);
      return withStore(values, io, async ({ store }) => {
        await requireDomain(store, domain);
        const previous = await store.directory.getDkimKey(domain);
        const key = await createDomainKey(store, domain, algorithm);
        io.stdout.write(recordText(domain, key));
        const keepOld = previous
          ? `; keep the record of the old selector ${previous.selector} for a few days, for mail already sent`
          : "";
        io.stderr.write(`new DKIM key for ${domain} (selector ${key.selector})${keepOld}\n`);
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (show or rotate)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

export const dkimCommand: CliCommand = {
  name: "dkim",
  help: HELP,
  run,
};
