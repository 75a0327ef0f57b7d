/** Every command, test and capability the engine knows. */
import { ACTION_COMMANDS } from "./commands/actions.js";
import { BODY_TESTS } from "./commands/body.js";
import { CONTROL_COMMANDS } from "./commands/control.js";
import { DATE_TESTS } from "./commands/date.js";
import { EDITHEADER_COMMANDS } from "./commands/editheader.js";
import { FLAG_COMMANDS, FLAG_TESTS } from "./commands/flags.js";
import { MAILBOX_TESTS } from "./commands/mailbox.js";
import { SPAM_TESTS } from "./commands/spamtest.js";
import { TESTS } from "./commands/tests.js";
import { VACATION_COMMANDS } from "./commands/vacation.js";
import { VARIABLE_COMMANDS, VARIABLE_TESTS } from "./commands/variables.js";
import type { CommandDef, TestDef } from "./definition.js";

export const COMMANDS = new Map<string, CommandDef>(
  [
    ...CONTROL_COMMANDS,
    ...ACTION_COMMANDS,
    ...FLAG_COMMANDS,
    ...VARIABLE_COMMANDS,
    ...VACATION_COMMANDS,
    ...EDITHEADER_COMMANDS,
  ].map((def) => [def.name, def]),
);

export const TESTS_BY_NAME = new Map<string, TestDef>(
  [
    ...TESTS,
    ...FLAG_TESTS,
    ...VARIABLE_TESTS,
    ...BODY_TESTS,
    ...DATE_TESTS,
    ...MAILBOX_TESTS,
    ...SPAM_TESTS,
  ].map((def) => [def.name, def]),
);

/** The capabilities "require" accepts (and ManageSieve advertises), in the order of their RFCs. */
export const CAPABILITIES: readonly string[] = [
  "fileinto",
  "reject",
  "envelope",
  "encoded-character",
  "comparator-i;octet",
  "comparator-i;ascii-casemap",
  "comparator-i;ascii-numeric",
  "copy",
  "body",
  "variables",
  "vacation",
  "vacation-seconds",
  "relational",
  "imap4flags",
  "subaddress",
  "spamtest",
  "spamtestplus",
  "virustest",
  "date",
  "index",
  "editheader",
  "ereject",
  "mailbox",
  "include",
  "regex",
];
