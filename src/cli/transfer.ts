// What `mailroom import` and `mailroom export` share: the progress line, the user directories of an
// --all run, and counting.

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { MBOX_VARIANTS, type MboxVariant } from "../mailio/mbox.js";
import { addressArgument, type ParsedArgs, stringOption, usageError } from "./args.js";

const count = new Intl.NumberFormat("en-US");
export const n = (value: number): string => count.format(value);

/** How often a terminal's progress line is redrawn, and how often a line is written otherwise. */
const TTY_REDRAW_MS = 200;
const LOG_INTERVAL_MS = 10_000;

/** "12,345 messages, 850/s": one line rewritten on a terminal, a line every 10 s otherwise. */
export class TransferProgress {
  private readonly started: number;
  private lastWrite: number;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly verb: string,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.lastWrite = this.started;
  }

  line(messages: number): string {
    const seconds = (this.now() - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(messages / seconds) : 0;
    return `${this.verb} ${n(messages)} messages, ${n(rate)}/s`;
  }

  update(messages: number): void {
    const now = this.now();
    const interval = this.out.isTTY ? TTY_REDRAW_MS : LOG_INTERVAL_MS;
    if (now - this.lastWrite < interval) return;
    this.lastWrite = now;
    if (this.out.isTTY) {
      this.out.write(`\r${this.line(messages)}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${this.line(messages)}\n`);
    }
  }

  finish(): void {
    if (this.drawn) this.out.write("\r\x1b[K");
    this.drawn = false;
  }

  seconds(): number {
    return (this.now() - this.started) / 1000;
  }
}

/**
 * The users below an --all directory: entries named like an address ("alice@example.org"), or domain
 * directories holding one entry per local part ("example.org/alice", Dovecot's usual /var/vmail
 * layout). Returns address and path, sorted by address.
 */
export async function userEntries(root: string): Promise<Array<{ address: string; path: string }>> {
  const out: Array<{ address: string; path: string }> = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(root, entry.name);
    if (entry.name.includes("@")) {
      out.push({ address: entry.name.toLowerCase(), path });
    } else if (entry.isDirectory() && entry.name.includes(".")) {
      for (const local of await readdir(path, { withFileTypes: true })) {
        if (local.name.startsWith(".")) continue;
        out.push({ address: `${local.name}@${entry.name}`.toLowerCase(), path: join(path, local.name) });
      }
    }
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** --user EMAIL (the address) or --all (undefined): exactly one of them. */
export function userOrAll(values: ParsedArgs["values"], helpCommand: string): string | undefined {
  const user = stringOption(values, "user");
  if ((user === undefined) === (values.all !== true))
    throw usageError("give either --user EMAIL or --all", helpCommand);
  return user === undefined ? undefined : addressArgument(user, helpCommand);
}

export function mboxVariantOption(values: ParsedArgs["values"], helpCommand: string): MboxVariant {
  const variant = stringOption(values, "mbox-variant") ?? "mboxrd";
  if (!MBOX_VARIANTS.includes(variant as MboxVariant)) {
    throw usageError(`unknown --mbox-variant '${variant}' (mboxrd or mboxo)`, helpCommand);
  }
  return variant as MboxVariant;
}
