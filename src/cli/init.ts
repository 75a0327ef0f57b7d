// `mailroom init`: creates the store on purpose. Besides a first `mailroom serve`, it is the only
// command that may create a data directory: every other command refuses one that holds no store, so a
// mistyped --data-dir cannot silently start a second, empty installation.

import { expectPositionals, parseCommandArgs, storeOptions } from "./args.js";
import { type CliCommand, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";

const HELP_COMMAND = "mailroom init --help";

const HELP = `Usage: mailroom init [options]

Create an empty mailroom store: the data directory (0700) with its database, or, with a PostgreSQL
store, its schema. Running it again on an existing store changes nothing. 'mailroom serve' also
creates the store on its first start; other commands refuse a directory that holds none.

Options:
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help
`;

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, storeOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  expectPositionals(positionals, [], [], HELP_COMMAND);
  return withStore(
    values,
    io,
    async ({ config, existed }) => {
      const where = config.store === "sqlite" ? config.dataDir : "the PostgreSQL database";
      io.stdout.write(
        existed ? `${where} already holds a mailroom store\n` : `created a mailroom store in ${where}\n`,
      );
      return ExitCode.ok;
    },
    { create: true },
  );
}

export const initCommand: CliCommand = {
  name: "init",
  help: HELP,
  run,
};
