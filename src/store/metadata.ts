// IMAP METADATA (RFC 5464): entries a user keeps on their mailboxes and on the server, such as
// /private/comment. Each mailbox's entries go with it: a rename keeps them (the id stays), a delete
// removes them. The server's entries are kept per user too, since nothing here is shared between users.

export interface MetadataEntry {
  /** The entry name, lower-cased: names are compared without regard to case (RFC 5464 §3.2). */
  entry: string;
  value: Buffer;
}

export interface MetadataChange {
  entry: string;
  /** null removes the entry. */
  value: Buffer | null;
}

/** How far below each named entry GETMETADATA looks (RFC 5464 §4.2.2). */
export type MetadataDepth = 0 | 1 | "infinity";

export interface MetadataStore {
  /**
   * The entries of the user's mailbox `mailboxId` (null: the server) that `entries` name, and as `depth`
   * asks their descendants one level down or all the way ("/a" has "/a/b" one level down), sorted by
   * name. Names are given lower-cased.
   */
  getMetadata(
    userId: number,
    mailboxId: number | null,
    entries: readonly string[],
    depth: MetadataDepth,
  ): Promise<MetadataEntry[]>;
  /**
   * Applies every change at once, or none: StoreError "full" when the user would then hold more than
   * `maxEntries` entries in all, "not-found" when the mailbox is not the user's (or is gone).
   */
  setMetadata(
    userId: number,
    mailboxId: number | null,
    changes: readonly MetadataChange[],
    maxEntries: number,
  ): Promise<void>;
}

/** The SQL LIKE pattern of the descendants of `entry`, with LIKE's own characters escaped by "\". */
export function descendantPattern(entry: string): string {
  return `${entry.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`;
}

/** Whether `name` is within `depth` of `entry` (itself, a child, or any descendant). */
export function withinDepth(entry: string, name: string, depth: MetadataDepth): boolean {
  if (name === entry) return true;
  if (depth === 0 || !name.startsWith(`${entry}/`)) return false;
  return depth === "infinity" || !name.slice(entry.length + 1).includes("/");
}
