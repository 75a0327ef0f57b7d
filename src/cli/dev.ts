// `mailroom dev`: the server in developer capture mode, with nothing to set up first.

import type { CliCommand } from "./command.js";
import { runServe } from "./serve.js";

const HELP = `Usage: mailroom dev [--config FILE] [--data-dir DIR]

Runs mailroom as a mail catcher for development (the same as 'mailroom serve --capture'):
  - SMTP (2525) and submission (2587) take mail for ANY address, with or without AUTH (any user
    name and password are accepted);
  - nothing is ever sent out: mail for other domains is kept here like the rest;
  - every recipient gets an inbox of its own, made on first use: log in over IMAP (2143), POP3 (2110)
    or the webmail/JMAP (http://127.0.0.1:8025) with the address as user name and any password;
  - the account "dev" (also "all"; address dev@localhost) sees every captured message;
  - http://127.0.0.1:8025/api/v1/ answers the read/search/delete part of Mailpit's API.
Listeners bind 127.0.0.1 only. No user, domain or configuration is needed first.

Options:
  --config FILE    read settings from this TOML file (ports, listeners, limits)
  --data-dir DIR   keep the captured mail here (default ./.mailroom-dev; kept across restarts;
                   delete the directory to start empty)
  -h, --help       show this text
`;

export const devCommand: CliCommand = {
  name: "dev",
  help: HELP,
  run: (argv, io) => runServe(argv, io, { name: "dev", help: HELP, capture: true }),
};
