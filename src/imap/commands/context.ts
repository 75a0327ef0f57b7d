/** What the command implementations need from the session that runs them. */

import type { Logger } from "pino";
import { type Mailbox, type Store, StoreError } from "../../store/types.js";
import { decodeMailboxUtf7, encodeMailboxUtf7 } from "../protocol/utf7.js";
import type { ImapValue } from "../protocol/value.js";
import type { SelectedMailbox } from "../selected.js";
import type { UpdateContexts } from "./updates.js";

/** The store parts IMAP reads and writes: no directory (login goes through the authenticator), no queue. */
export type ImapStore = Pick<
  Store,
  "mailboxes" | "messages" | "blobs" | "events" | "quotas" | "metadata" | "urlAuthKeys" | "search"
> & {
  /** Only to find the owner an authorized URL names (URLAUTH, RFC 4467). */
  readonly directory: Pick<Store["directory"], "getUser">;
};

/** METADATA (RFC 5464) limits: octets of one value, entries per user. */
export interface MetadataLimits {
  maxSize: number;
  maxEntries: number;
}

export interface ImapContext {
  readonly store: ImapStore;
  readonly logger: Logger | undefined;
  readonly userId: number;
  /** The logged-in user's address, as IMAP URLs name them (RFC 5092 enc-user). */
  readonly userAddress: string;
  /** This server's name, which absolute IMAP URLs of its mailboxes carry. */
  readonly hostname: string;
  selected: SelectedMailbox | null;
  /** RFC 7162: CONDSTORE is in force (enabled or implied by a CONDSTORE-using command). */
  condstore: boolean;
  readonly qresync: boolean;
  /** Mailbox names are UTF-8 on the wire (IMAP4rev2 or UTF8=ACCEPT enabled). */
  readonly utf8Names: boolean;
  /** IMAP4rev2 enabled: SEARCH answers with ESEARCH (RFC 9051 §7.3.4). */
  readonly rev2: boolean;
  /** UIDs saved by SEARCH ... RETURN (SAVE) (RFC 5182). */
  savedUids: Set<number>;
  /** The updating searches (RFC 5267 §4.3) on the selected mailbox. */
  readonly updates: UpdateContexts;
  /** Largest message APPEND accepts. */
  readonly maxMessageSize: number;
  readonly metadataLimits: MetadataLimits;
  select(mailbox: SelectedMailbox | null): void;
}

/** A failure the client caused or may fix: becomes a tagged NO with the response code, if any. */
export class CommandFailure extends Error {
  /** `cause`: the server-side failure behind it, which the session logs (the client sees only `message`). */
  constructor(
    readonly code: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CommandFailure";
  }
}

/** A command the client may not issue now (e.g. STORE in a read-only mailbox): tagged BAD. */
export class CommandRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandRefused";
  }
}

/**
 * The wire form of a mailbox name into the store's UTF-8 name (RFC 9051 §5.1, RFC 3501 §5.1.3); null
 * when a rev1 client sent something that is not modified UTF-7, which no mailbox can be named.
 */
export function canonicalName(context: ImapContext, raw: string): string | null {
  const name = context.utf8Names ? raw : decodeMailboxUtf7(raw);
  return name === null ? null : inboxCased(name);
}

/** INBOX is named without regard to case, also as the start of a name below it (RFC 9051 §5.1). */
export function inboxCased(name: string): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (/^inbox\//i.test(name)) return `INBOX${name.slice(5)}`;
  return name;
}

export function decodeName(context: ImapContext, raw: string): string {
  const name = canonicalName(context, raw);
  if (name === null) {
    throw new CommandFailure(
      "CANNOT",
      `"${raw}" is not valid modified UTF-7; encode non-ASCII names as RFC 3501 §5.1.3 says`,
    );
  }
  return name;
}

export function encodeName(context: ImapContext, name: string): ImapValue {
  return context.utf8Names ? name : encodeMailboxUtf7(name);
}

/** Finds a mailbox of the logged-in user; a missing one is NO [NONEXISTENT]. */
export async function requireMailbox(context: ImapContext, name: string): Promise<Mailbox> {
  const mailbox = await context.store.mailboxes.getMailbox(context.userId, name);
  if (mailbox === null)
    throw new CommandFailure("NONEXISTENT", `mailbox "${name}" does not exist; LIST shows the ones that do`);
  return mailbox;
}

/**
 * Turns a store refusal into the NO the client should see (RFC 5530 response codes). Only refusals of
 * what the client asked for ("exists", "invalid", "not-empty") carry the store's words, which name the
 * client's own mailbox; the others describe the server (file paths, database hosts), so the client gets
 * a fixed text and the store's is kept as the cause, for the log.
 */
export function storeFailure(error: unknown): never {
  if (!(error instanceof StoreError)) throw error;
  const cause = { cause: error };
  switch (error.code) {
    case "exists":
      throw new CommandFailure("ALREADYEXISTS", error.message);
    case "invalid":
    case "not-empty":
    case "cannot-calculate":
      throw new CommandFailure("CANNOT", error.message);
    case "not-found":
      throw new CommandFailure(
        "NONEXISTENT",
        "the mailbox or message no longer exists; LIST or NOOP shows what there is now",
        cause,
      );
    case "in-use":
      throw new CommandFailure("INUSE", "the mailbox is busy with another operation; try again", cause);
    case "full":
      throw new CommandFailure("OVERQUOTA", "the server is out of storage space; try again later", cause);
    case "unavailable":
    case "locked":
      throw new CommandFailure(
        "UNAVAILABLE",
        "the mail store is unavailable right now; try again later",
        cause,
      );
  }
}

export function requireSelected(context: ImapContext): SelectedMailbox {
  if (context.selected === null)
    throw new CommandRefused("no mailbox is selected; SELECT or EXAMINE one first");
  return context.selected;
}
