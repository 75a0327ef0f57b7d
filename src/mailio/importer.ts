// The import engine: messages from sources into one user's mailboxes. Each message is one body write
// and one APPEND-like store call, so what is in the store after any interruption is whole messages
// only, and running the import again adds just the ones still missing (dedupe.ts). Whatever is not
// imported is listed with the reason; nothing is dropped without a word.

import type { Mailbox, Store } from "../store/types.js";
import { mailboxKeys, messageKey } from "./dedupe.js";
import { cleanFlags } from "./flags.js";
import { toStoredLineEnds } from "./line-ends.js";
import type { MessageSource, SourceMessage } from "./sources.js";

export interface ImportSummary {
  imported: number;
  /** Already in the target mailbox (same Message-ID, Date and size): left alone. */
  duplicates: number;
  bytes: number;
  mailboxesCreated: string[];
  skipped: Array<{ origin: string; reason: string }>;
  /** Messages imported with something worked around, and what. */
  notes: Array<{ origin: string; note: string }>;
}

export function emptyImportSummary(): ImportSummary {
  return { imported: 0, duplicates: 0, bytes: 0, mailboxesCreated: [], skipped: [], notes: [] };
}

export interface ImportOptions {
  maxMessageSize: number;
  /** Called after each message, imported or not. */
  onMessage?: (summary: ImportSummary) => void;
}

/** Stops an import: the store failed, so going on would only fail the same way for every message. */
export class ImportStopped extends Error {
  constructor(
    message: string,
    readonly summary: ImportSummary,
  ) {
    super(message);
    this.name = "ImportStopped";
  }
}

type Target = { mailbox: Mailbox; keys: Set<string> } | { error: string };

export class UserImport {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly store: Store,
    private readonly userId: number,
    private readonly options: ImportOptions,
    readonly summary: ImportSummary = emptyImportSummary(),
  ) {}

  /**
   * Imports every message of the source. A source that cannot be read at all (not a Maildir, not an
   * mbox) throws before anything of it is imported; one that fails midway throws after what it gave.
   */
  async run(source: MessageSource): Promise<void> {
    for await (const message of source.messages()) {
      await this.one(message);
      this.options.onMessage?.(this.summary);
    }
  }

  private async one(message: SourceMessage): Promise<void> {
    const skip = (reason: string): void => {
      this.summary.skipped.push({ origin: message.origin, reason });
    };
    if (message.bytes === null) {
      return skip(
        `${message.size} octets is more than smtp.max_message_size (${this.options.maxMessageSize}); raise it to import this message`,
      );
    }
    if (message.bytes.length === 0) return skip("the file is empty: no message");
    const target = await this.target(message.mailbox);
    if ("error" in target) return skip(target.error);
    const stored = toStoredLineEnds(message.bytes);
    const key = messageKey(stored);
    if (target.keys.has(key)) {
      this.summary.duplicates++;
      return;
    }
    const { flags, invalid } = cleanFlags(message.flags);
    const notes = [...message.notes];
    if (invalid.length > 0) notes.push(`not valid IMAP keywords, dropped: ${invalid.join(" ")}`);
    try {
      const writer = await this.store.blobs.createBlobWriter();
      try {
        await writer.write(stored);
        const blob = await writer.finish();
        await this.store.messages.append(target.mailbox.id, blob, flags, message.internalDate);
      } catch (error) {
        await writer.abort();
        throw error;
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ImportStopped(
        `storing ${message.origin} failed: ${reason}; the messages before it are imported, and running the same import again continues from there`,
        this.summary,
      );
    }
    target.keys.add(key);
    this.summary.imported++;
    this.summary.bytes += stored.length;
    for (const note of notes) this.summary.notes.push({ origin: message.origin, note });
  }

  private async target(name: string): Promise<Target> {
    const known = this.targets.get(name);
    if (known) return known;
    let target: Target;
    try {
      let mailbox = await this.store.mailboxes.getMailbox(this.userId, name);
      if (mailbox === null) {
        mailbox = await this.store.mailboxes.createMailbox(this.userId, name);
        this.summary.mailboxesCreated.push(mailbox.name);
      }
      target = { mailbox, keys: await mailboxKeys(this.store, mailbox.id) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      target = { error: `mailbox "${name}" cannot be created: ${reason}` };
    }
    this.targets.set(name, target);
    return target;
  }
}
