// `mailroom user …`: mail accounts (an address, a password, a set of mailboxes).

import { parseSize } from "../config/units.js";
import { withAdmin } from "./admin.js";
import {
  addressArgument,
  domainArgument,
  expectPositionals,
  parseCommandArgs,
  storeOptions,
  usageError,
} from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { readNewPassword } from "./prompt.js";

const HELP_COMMAND = "mailroom user --help";

const HELP = `Usage: mailroom user <action> [options]

Manage mail accounts. Each user is a full address on a domain served here.

Actions:
  add EMAIL        create a user; asks for the password (at least 8 characters)
                   twice on a terminal; with --admin the user may use the web
                   admin (/admin); --name "Ada Lovelace" gives a display name
  name EMAIL [NAME]
                   set the display name (the name a JMAP client shows on the
                   user's own identity), or remove it when NAME is left out
                   or empty
  admin EMAIL on|off
                   grant or take away the admin role (the web admin at /admin
                   and its API)
  disable EMAIL    refuse every login of the user (passwords and app tokens,
                   all protocols) as a wrong password is; sessions already
                   open stay open, and mail to the user is still delivered
  enable EMAIL     allow the user's logins again
  list [DOMAIN]    list users, of every domain or of one; disabled ones are
                   marked "(disabled)"
  remove EMAIL     delete a user with all of its mailboxes and mail
  passwd EMAIL     set a new password
  quota EMAIL [SIZE|none]
                   show the user's storage use and limit, or set the limit
                   ("500MB", "2GiB", octets) or remove it ("none"); past it
                   SMTP refuses mail with 552 5.2.2 and IMAP APPEND/COPY with
                   NO [OVERQUOTA]

Options:
  --admin           for add: make the new user an admin
  --name NAME       for add: the user's display name
  --password-stdin  read the password from the first line of stdin (also the
                    default when stdin is not a terminal)
  --config FILE     configuration file
  --data-dir DIR    data directory (overrides the configuration)
  -h, --help        show this help
`;

const userOptions = {
  ...storeOptions,
  "password-stdin": { type: "boolean" },
  admin: { type: "boolean" },
  name: { type: "string" },
} as const;

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, userOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const fromStdin = values["password-stdin"] === true;
  const [action, ...args] = positionals;
  switch (action) {
    case "add": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        // Checked before asking for a password, so nobody types one twice for nothing.
        await admin.checkNewUser(address);
        const added = await admin.addUser(address, await readNewPassword(io, fromStdin), {
          admin: values.admin === true,
          ...(typeof values.name === "string" ? { name: values.name } : {}),
        });
        const named = added.name === null ? "" : ` ("${added.name}")`;
        io.stderr.write(`added user ${added.address}${named}${added.admin ? " (an admin)" : ""}\n`);
        return ExitCode.ok;
      });
    }
    case "list": {
      expectPositionals(args, [], ["DOMAIN"], HELP_COMMAND);
      const domain = args[0] === undefined ? undefined : domainArgument(args[0], HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const users = await admin.listUsers(domain);
        for (const user of users) io.stdout.write(`${user.address}${user.disabled ? " (disabled)" : ""}\n`);
        if (users.length === 0) io.stderr.write("no users yet; add one with 'mailroom user add EMAIL'\n");
        return ExitCode.ok;
      });
    }
    case "remove": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        await admin.removeUser(address);
        io.stderr.write(`removed user ${address} and all of its mail\n`);
        return ExitCode.ok;
      });
    }
    case "passwd": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        await admin.checkUser(address);
        await admin.setPassword(address, await readNewPassword(io, fromStdin));
        io.stderr.write(`changed the password of ${address}\n`);
        return ExitCode.ok;
      });
    }
    case "name": {
      expectPositionals(args, ["EMAIL"], ["NAME"], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      return withAdmin(values, io, async ({ admin }) => {
        const user = await admin.setName(address, args[1] ?? null);
        io.stderr.write(
          user.name === null ? `${address} has no display name now\n` : `${address} is now "${user.name}"\n`,
        );
        return ExitCode.ok;
      });
    }
    case "admin": {
      expectPositionals(args, ["EMAIL", "on|off"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const on = switchArgument(args[1] ?? "");
      return withAdmin(values, io, async ({ admin }) => {
        await admin.setAdmin(address, on);
        io.stderr.write(`${address} is ${on ? "now an admin" : "no longer an admin"}\n`);
        return ExitCode.ok;
      });
    }
    case "disable":
    case "enable": {
      expectPositionals(args, ["EMAIL"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const disable = action === "disable";
      return withAdmin(values, io, async ({ admin }) => {
        await admin.setDisabled(address, disable);
        io.stderr.write(
          disable
            ? `disabled ${address}: every login is refused; mail to it is still delivered\n`
            : `enabled ${address}: it may log in again\n`,
        );
        return ExitCode.ok;
      });
    }
    case "quota": {
      expectPositionals(args, ["EMAIL"], ["SIZE"], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const limit = args[1] === undefined ? undefined : quotaArgument(args[1]);
      return withAdmin(values, io, async ({ admin }) => {
        const quota = limit === undefined ? await admin.quota(address) : await admin.setQuota(address, limit);
        const used = formatOctets(quota.used);
        io.stdout.write(
          quota.limit === null
            ? `${address}: ${used} in use, no limit\n`
            : `${address}: ${used} of ${formatOctets(quota.limit)} in use (${Math.floor((quota.used / quota.limit) * 100)}%)\n`,
        );
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError(
        "missing action (add, list, remove, passwd, admin, disable, enable or quota)",
        HELP_COMMAND,
      );
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

function switchArgument(text: string): boolean {
  const word = text.toLowerCase();
  if (word === "on") return true;
  if (word === "off") return false;
  throw usageError(`'${text}' is neither on nor off`, HELP_COMMAND);
}

function quotaArgument(text: string): number | null {
  if (text.toLowerCase() === "none") return null;
  const octets = parseSize(text);
  if (octets === null || octets <= 0) {
    throw usageError(`'${text}' is not a size; give one like 500MB or 2GiB, or 'none'`, HELP_COMMAND);
  }
  return octets;
}

function formatOctets(octets: number): string {
  const units = ["octets", "KiB", "MiB", "GiB", "TiB"];
  let value = octets;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${octets} octets` : `${value.toFixed(1)} ${units[unit]}`;
}

export function unknownUserError(address: string): CliError {
  return new CliError(`there is no user ${address} here; see 'mailroom user list'`);
}

export const userCommand: CliCommand = {
  name: "user",
  help: HELP,
  run,
};
