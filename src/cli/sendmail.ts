// `mailroom sendmail`: the classic sendmail(8) interface, so cron, git and mail(1) can hand messages to
// mailroom. Reads one message from stdin and submits it to the local mailroom's SMTP listener.

import { hostname, userInfo } from "node:os";
import { parseAddresses } from "../mail/address-list.js";
import { completeHeaders, headerFields, removeHeader, splitMessage, toCrlf } from "../mail/compose.js";
import type { ClientEnvelope } from "../smtp/client/client.js";
import { usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { InputReader, Outcomes, parseServer, recipientArgument, submitTo } from "./send.js";

const HELP_COMMAND = "mailroom sendmail --help";
const DEFAULT_SERVER = "127.0.0.1:2525";
/** With --user: the MX listener offers no AUTH by default, so logging in goes to submission. */
const DEFAULT_SUBMISSION_SERVER = "127.0.0.1:2587";

const HELP = `Usage: mailroom sendmail [-t] [-i] [-f SENDER] [-F NAME] [RECIPIENT…]

Read a message from stdin and submit it to the local mailroom, like sendmail(8): for cron, git
send-email, mail(1) and other programs. The message goes to mailroom's "smtp" listener on
${DEFAULT_SERVER}, or with --user to its "submission" listener on ${DEFAULT_SUBMISSION_SERVER} (STARTTLS, then
AUTH); set MAILROOM_SENDMAIL_SERVER=HOST:PORT to change it. Recipients in local domains are delivered;
relaying to other domains needs authentication: --user NAME --password-stdin, and then the From header
must be one of that user's addresses.

Options:
  -t                 take recipients from the To, Cc and Bcc headers (Bcc is then removed);
                     recipients given as arguments are added
  -i, -oi            a line holding only "." does not end the message (read to the end of input)
  -f SENDER          envelope sender (default: your login name @ this host's name)
  -F NAME            full name for the From header, when the message has none
  --user NAME        authenticate to the server as NAME
  --password-stdin   with --user: the first line of stdin is the password, the message follows
  -v                 print the SMTP dialogue on stderr (passwords masked)
  -h, --help         show this help
Other -o options and -B, -N, -R, -V, -X are accepted and ignored, as by other sendmail programs.

From, Date and Message-ID are added when the message lacks them. Nothing is printed on success.
Exit status: 0 accepted, 1 refused, 75 temporary failure (try again later), 64 usage error.
`;

interface SendmailArgs {
  extractRecipients: boolean;
  ignoreDots: boolean;
  sender: string | null;
  fullName: string | null;
  user: string | null;
  passwordStdin: boolean;
  verbose: boolean;
  recipients: string[];
  help: boolean;
}

/** Classic sendmail options: "-f addr" and "-faddr" both work; unknown -o… options are ignored. */
export function parseSendmailArgs(argv: string[]): SendmailArgs {
  const args: SendmailArgs = {
    extractRecipients: false,
    ignoreDots: false,
    sender: null,
    fullName: null,
    user: null,
    passwordStdin: false,
    verbose: false,
    recipients: [],
    help: false,
  };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    const optionValue = (flag: string): string => {
      if (arg.length > flag.length) return arg.slice(flag.length);
      index += 1;
      const value = argv[index];
      if (value === undefined) throw usageError(`${flag} needs a value`, HELP_COMMAND);
      return value;
    };
    if (arg === "--") {
      args.recipients.push(...argv.slice(index + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") args.help = true;
    else if (arg === "-t") args.extractRecipients = true;
    else if (arg === "-i" || arg === "-oi") args.ignoreDots = true;
    else if (arg === "-v") args.verbose = true;
    else if (arg === "--password-stdin") args.passwordStdin = true;
    else if (arg === "--user") args.user = optionValue("--user");
    else if (arg.startsWith("--user=")) args.user = arg.slice("--user=".length);
    else if (arg.startsWith("-f")) args.sender = optionValue("-f");
    else if (arg.startsWith("-F")) args.fullName = optionValue("-F");
    else if (arg.startsWith("-o") || /^-[BNRVX]/.test(arg)) {
      // Delivery-mode and similar options of other sendmails; those with a separate value take it along.
      if (/^-[BNRVX]$/.test(arg)) index += 1;
    } else if (arg.startsWith("-")) {
      throw usageError(`unknown option '${arg}'`, HELP_COMMAND);
    } else args.recipients.push(arg);
  }
  return args;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseSendmailArgs(argv);
  if (args.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (args.passwordStdin && args.user === null)
    throw usageError("--password-stdin needs --user", HELP_COMMAND);
  if (args.user !== null && !args.passwordStdin) {
    throw usageError("--user needs --password-stdin (the first line of stdin is the password)", HELP_COMMAND);
  }
  const sender = args.sender ?? `${userInfo().username}@${hostname()}`;
  if (sender !== "" && sender !== "<>") recipientArgument(sender, HELP_COMMAND);
  const server = parseServer(
    io.env.MAILROOM_SENDMAIL_SERVER || (args.user !== null ? DEFAULT_SUBMISSION_SERVER : DEFAULT_SERVER),
    25,
    HELP_COMMAND,
  );
  const listed = args.recipients.flatMap((value) => recipientArgument(value, HELP_COMMAND));
  if (!args.extractRecipients && listed.length === 0) {
    throw usageError(
      "no recipients: name them as arguments or use -t to take them from the headers",
      HELP_COMMAND,
    );
  }

  const input = new InputReader(io.stdin);
  let password = "";
  let raw: Buffer;
  try {
    if (args.user !== null) {
      password = (await input.line()) ?? "";
      if (password === "")
        throw new CliError("empty password; put it on the first line of stdin", ExitCode.usage);
    }
    // Classic sendmail: without -i, a line holding only "." ends the message.
    raw = args.ignoreDots ? await input.rest() : await input.untilDotLine();
  } finally {
    await input.close();
  }

  let message = toCrlf(raw);
  const recipients = [...listed];
  if (args.extractRecipients) {
    const { header, body } = splitMessage(message);
    for (const [name, value] of headerFields(header)) {
      if (!["to", "cc", "bcc"].includes(name.toLowerCase())) continue;
      recipients.push(...parseAddresses(value));
    }
    message = Buffer.concat([Buffer.from(removeHeader(header, "bcc"), "latin1"), Buffer.from("\r\n"), body]);
    if (recipients.length === 0) {
      throw new CliError(
        "no recipients: the message has no To, Cc or Bcc header and none were given",
        ExitCode.usage,
      );
    }
  }
  const envelopeSender = sender === "<>" ? "" : sender;
  message = completeHeaders(message, {
    sender: envelopeSender || `MAILER-DAEMON@${hostname()}`,
    ...(args.fullName !== null ? { fullName: args.fullName } : {}),
  });
  const envelope: ClientEnvelope = {
    from: envelopeSender,
    to: [...new Set(recipients)].map((address) => ({ address })),
    eightBit: message.some((byte) => byte > 0x7f),
  };
  const outcomes = new Outcomes(io, false);
  await submitTo(
    { ...server, tls: "opportunistic", ...(args.user !== null ? { user: args.user, password } : {}) },
    envelope,
    message,
    outcomes,
    io,
    args.verbose,
  );
  return outcomes.exitCode();
}

export const sendmailCommand: CliCommand = {
  name: "sendmail",
  help: HELP,
  run,
};
