// Option parsing shared by the subcommands: node:util parseArgs, with its errors turned into usage
// errors that point at the command's help.

import { parseArgs } from "node:util";
import { ADDRESS_EXAMPLE, DOMAIN_EXAMPLE, domainName, mailAddress } from "../admin/names.js";
import { CliError, ExitCode } from "./command.js";

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** The options every store-backed command accepts. */
export const storeOptions = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpec;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** `helpCommand` is how to ask for help, e.g. "mailroom user --help", named in every usage error. */
export function parseCommandArgs(argv: string[], options: OptionSpec, helpCommand: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw usageError(detail ?? "invalid arguments", helpCommand);
  }
}

export function usageError(message: string, helpCommand: string): CliError {
  return new CliError(`${message}; see '${helpCommand}'`, ExitCode.usage);
}

/** Checks the count of positional arguments; the names of the missing ones go into the error. */
export function expectPositionals(
  positionals: string[],
  required: string[],
  optional: string[],
  helpCommand: string,
): void {
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length).join(" ");
    throw usageError(`missing ${missing}`, helpCommand);
  }
  if (positionals.length > required.length + optional.length) {
    const extra = positionals.slice(required.length + optional.length).join(" ");
    throw usageError(`unexpected argument '${extra}'`, helpCommand);
  }
}

export function stringOption(values: ParsedArgs["values"], name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A domain name as typed, in the form the store keeps (src/admin/names.ts). */
export function domainArgument(value: string, helpCommand: string): string {
  const domain = domainName(value);
  if (domain === null) {
    throw usageError(`'${value}' is not a valid domain name (${DOMAIN_EXAMPLE})`, helpCommand);
  }
  return domain;
}

/** A full address local@domain, lower-cased, with the domain in ASCII form. */
export function addressArgument(value: string, helpCommand: string): string {
  const address = mailAddress(value);
  if (address === null) {
    throw usageError(`'${value}' is not a valid address (${ADDRESS_EXAMPLE})`, helpCommand);
  }
  return address;
}
