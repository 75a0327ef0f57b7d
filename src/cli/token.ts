// `mailroom token …`: app passwords / bearer tokens for HTTP and JMAP clients. A token is shown once, at
// creation; the store keeps only a hash of its secret, so a lost token is revoked and replaced.

import { withAdmin } from "./admin.js";
import { addressArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";

const HELP_COMMAND = "mailroom token --help";

const HELP = `Usage: mailroom token <action> EMAIL [options]

Manage a user's app tokens: passwords for one client each (a phone, a webmail), usable as the password
of HTTP Basic or as an HTTP Bearer token, and revocable one by one.

Actions:
  create EMAIL [--name NAME]  make a token and print it once (keep it: it cannot be shown again)
  list EMAIL                  list the user's tokens: id, name, creation time
  revoke EMAIL ID             revoke a token by the id that list shows

Options:
  --name NAME       what the token is for (default "app")
  --config FILE     configuration file
  --data-dir DIR    data directory (overrides the configuration)
  -h, --help        show this help
`;

const tokenOptions = { ...storeOptions, name: { type: "string" } } as const;

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, tokenOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...args] = positionals;
  switch (action) {
    case "create": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const name = typeof values.name === "string" ? values.name.trim() : "app";
      if (name === "") throw usageError("--name must not be empty", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const token = await admin.createToken(address, name);
        io.stdout.write(`${token.token}\n`);
        io.stderr.write(
          `created token ${token.id} ("${token.name}") for ${address}; it is shown only now: use it as the password of HTTP Basic or as a Bearer token\n`,
        );
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const tokens = await admin.listTokens(address);
        for (const token of tokens) io.stdout.write(`${token.id}\t${token.name}\t${token.createdAt}\n`);
        if (tokens.length === 0) {
          io.stderr.write(`${address} has no tokens; make one with 'mailroom token create ${address}'\n`);
        }
        return ExitCode.ok;
      });
    }
    case "revoke": {
      expectPositionals(args, ["EMAIL", "ID"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const id = args[1] ?? "";
      return withAdmin(values, io, async ({ admin }) => {
        await admin.revokeToken(address, id);
        io.stderr.write(`revoked token ${id} of ${address}; clients using it can no longer log in\n`);
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (create, list or revoke)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

export const tokenCommand: CliCommand = {
  name: "token",
  help: HELP,
  run,
};
