// `mailroom vacation EMAIL …`: a user's vacation auto-reply, the same setting JMAP's VacationResponse
// edits (store part `vacation`). Options change only what they name, so `--off` keeps the text for the
// next `--on`. A running server reads the setting at each delivery, so changes apply at once.

import { DEFAULT_TEXT } from "../mail/auto-reply.js";
import type { VacationSetting } from "../store/types.js";
import {
  addressArgument,
  expectPositionals,
  parseCommandArgs,
  storeOptions,
  stringOption,
  usageError,
} from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { unknownUserError } from "./user.js";

const HELP_COMMAND = "mailroom vacation --help";

const HELP = `Usage: mailroom vacation EMAIL [options]

Show or change a user's vacation auto-reply (the one JMAP clients edit as VacationResponse). While it is
on, mail to the user is answered once per sender per [smtp] vacation_period, never to lists, automatic
mail or the null sender (RFC 3834). Without options, shows the setting.

Options:
  --on              turn the auto-reply on (without --text or --html, a short default text is sent)
  --off             turn it off; the text and dates are kept for the next --on
  --subject TEXT    the reply's subject (default: "Re: " and the original subject); "" for the default
  --text TEXT       the reply's plain-text body; "" removes it
  --html HTML       the reply's HTML body; "" removes it
  --from DATE       answer only mail arriving from then on; "" for no start
  --until DATE      answer only mail arriving before then; "" for no end
                    DATE: 2026-12-24 (midnight UTC) or 2026-12-24T09:00:00+01:00
  --json            print the setting as JSON
  --config FILE     configuration file
  --data-dir DIR    data directory (overrides the configuration)
  -h, --help        show this help
`;

const vacationOptions = {
  ...storeOptions,
  on: { type: "boolean" },
  off: { type: "boolean" },
  subject: { type: "string" },
  text: { type: "string" },
  html: { type: "string" },
  from: { type: "string" },
  until: { type: "string" },
  json: { type: "boolean" },
} as const;

const DATE = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d))?$/;

function dateOption(value: string | undefined, option: string): Date | null | undefined {
  if (value === undefined) return undefined;
  if (value === "") return null;
  const time = DATE.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw usageError(
      `--${option} '${value}' is not a date like 2026-12-24 or 2026-12-24T09:00:00Z`,
      HELP_COMMAND,
    );
  }
  return new Date(time);
}

const textOption = (value: string | undefined): string | null | undefined =>
  value === undefined ? undefined : value === "" ? null : value;

function describe(address: string, setting: VacationSetting): string {
  const window = [
    setting.fromDate ? `from ${setting.fromDate.toISOString()}` : null,
    setting.toDate ? `until ${setting.toDate.toISOString()}` : null,
  ].filter(Boolean);
  const lines = [
    `${address}: vacation ${setting.isEnabled ? "on" : "off"}${window.length > 0 ? ` (${window.join(", ")})` : ""}`,
    `subject: ${setting.subject ?? '(default: "Re: " and the original subject)'}`,
    `text:    ${setting.textBody === null ? "-" : setting.textBody.replace(/\n/g, "\n         ")}`,
    `html:    ${setting.htmlBody === null ? "-" : setting.htmlBody.replace(/\n/g, "\n         ")}`,
  ];
  return `${lines.join("\n")}\n`;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, vacationOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  expectPositionals(positionals, ["EMAIL"], [], HELP_COMMAND);
  const address = addressArgument(positionals[0] ?? "", HELP_COMMAND);
  if (values.on && values.off) throw usageError("--on and --off contradict each other", HELP_COMMAND);
  const changes: Partial<VacationSetting> = {
    ...(values.on ? { isEnabled: true } : {}),
    ...(values.off ? { isEnabled: false } : {}),
  };
  const subject = textOption(stringOption(values, "subject"));
  const textBody = textOption(stringOption(values, "text"));
  const htmlBody = textOption(stringOption(values, "html"));
  const fromDate = dateOption(stringOption(values, "from"), "from");
  const toDate = dateOption(stringOption(values, "until"), "until");
  if (subject !== undefined) changes.subject = subject;
  if (textBody !== undefined) changes.textBody = textBody;
  if (htmlBody !== undefined) changes.htmlBody = htmlBody;
  if (fromDate !== undefined) changes.fromDate = fromDate;
  if (toDate !== undefined) changes.toDate = toDate;

  return withStore(values, io, async ({ store }) => {
    const user = await store.directory.getUser(address);
    if (!user) throw unknownUserError(address);
    const current = await store.vacation.getVacation(user.id);
    const setting = { ...current, ...changes };
    if (Object.keys(changes).length > 0) {
      if (setting.fromDate && setting.toDate && setting.toDate <= setting.fromDate) {
        throw new CliError(
          `--until ${setting.toDate.toISOString()} is not after --from ${setting.fromDate.toISOString()}: no mail would be answered`,
        );
      }
      await store.vacation.setVacation(user.id, setting);
      const defaultBody = setting.isEnabled && setting.textBody === null && setting.htmlBody === null;
      const note = defaultBody ? `; no --text given, so replies say: ${DEFAULT_TEXT.trim()}` : "";
      io.stderr.write(`vacation of ${address} ${setting.isEnabled ? "on" : "off"}${note}\n`);
    }
    if (values.json) io.stdout.write(`${JSON.stringify(setting, null, 2)}\n`);
    else if (Object.keys(changes).length === 0) io.stdout.write(describe(address, setting));
    return ExitCode.ok;
  });
}

export const vacationCommand: CliCommand = {
  name: "vacation",
  help: HELP,
  run,
};
