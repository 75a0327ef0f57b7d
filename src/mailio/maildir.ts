// Maildir folders on disk, as Dovecot and Courier lay them out. The root is INBOX; other folders are
// either Maildir++ directories ".Sub.Folder" beside cur/new/tmp, or (Dovecot's LAYOUT=fs) plain
// directories "Sub/Folder" below the root, each a maildir of its own. Both are found, so either layout
// imports without being named. Folder names on disk are modified UTF-7, as Dovecot writes them.
// Messages are read from new/ and cur/; tmp/ holds deliveries in progress and is never read.

import { randomBytes } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { decodeMailboxUtf7, encodeMailboxUtf7 } from "../imap/protocol/utf7.js";
import { parseDovecotKeywords } from "./flags.js";

export const KEYWORDS_FILE = "dovecot-keywords";

export type MaildirLayout = "maildir++" | "fs";

export const MAILDIR_LAYOUTS: readonly MaildirLayout[] = ["maildir++", "fs"];

export interface MaildirFolder {
  /** The mailbox name in the store: "/" between levels, UTF-8. */
  name: string;
  path: string;
}

export interface MaildirFile {
  /** "cur/…" or "new/…": where the file is within its folder, for reports. */
  relative: string;
  path: string;
  fileName: string;
  size: number;
  /** The file's mtime: the message's INTERNALDATE, as Dovecot keeps it. */
  mtime: Date;
}

export class NotMaildirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotMaildirError";
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `path` is a maildir: it has cur/ or new/ (an empty maildir may lack tmp/). */
export async function isMaildir(path: string): Promise<boolean> {
  return (await isDirectory(join(path, "cur"))) || (await isDirectory(join(path, "new")));
}

const decodeSegment = (segment: string): string => decodeMailboxUtf7(segment) ?? segment;

const RESERVED = new Set(["cur", "new", "tmp"]);

/** Every folder of the maildir at `root`, INBOX first. */
export async function listMaildirFolders(root: string): Promise<MaildirFolder[]> {
  if (!(await isMaildir(root))) {
    throw new NotMaildirError(`${root} is not a Maildir: it has neither cur/ nor new/`);
  }
  const folders: MaildirFolder[] = [{ name: "INBOX", path: root }];
  const entries = await readdir(root, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || RESERVED.has(entry.name)) continue;
    const path = join(root, entry.name);
    if (entry.name.startsWith(".")) {
      // Maildir++: ".A.B" is A/B; "." and ".." never appear in readdir, a bare "." name is no folder.
      const segments = entry.name.slice(1).split(".");
      if (segments.some((segment) => segment === "") || !(await isMaildir(path))) continue;
      folders.push({ name: segments.map(decodeSegment).join("/"), path });
    } else {
      await collectFsFolders(path, [decodeSegment(entry.name)], folders);
    }
  }
  return folders;
}

/** LAYOUT=fs: a directory is a folder when it is a maildir; either way its subdirectories may be. */
async function collectFsFolders(path: string, names: string[], out: MaildirFolder[]): Promise<void> {
  if (await isMaildir(path)) out.push({ name: names.join("/"), path });
  const entries = await readdir(path, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || RESERVED.has(entry.name) || entry.name.startsWith(".")) continue;
    await collectFsFolders(join(path, entry.name), [...names, decodeSegment(entry.name)], out);
  }
}

/** The folder's keyword slots from its dovecot-keywords file (none when there is no file). */
export async function readFolderKeywords(folder: string): Promise<Array<string | undefined>> {
  try {
    return parseDovecotKeywords(await readFile(join(folder, KEYWORDS_FILE), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** The message files of a folder: new/ then cur/, each in name order (delivery order for Dovecot). */
export async function listMaildirFiles(folder: string): Promise<MaildirFile[]> {
  const files: MaildirFile[] = [];
  for (const sub of ["new", "cur"]) {
    let names: string[];
    try {
      names = await readdir(join(folder, sub));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    // Names starting with "." are not messages (the Maildir specification's rule for readers).
    for (const fileName of names.filter((name) => !name.startsWith(".")).sort(byTimeThenName)) {
      const path = join(folder, sub, fileName);
      const info = await stat(path);
      if (!info.isFile()) continue;
      files.push({ relative: `${sub}/${fileName}`, path, fileName, size: info.size, mtime: info.mtime });
    }
  }
  return files;
}

/** Unique names start with the delivery time in seconds: order by it, then by the whole name. */
function byTimeThenName(a: string, b: string): number {
  const time = (name: string) => Number(/^([0-9]+)/.exec(name)?.[1] ?? Number.NaN);
  const ta = time(a);
  const tb = time(b);
  if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The directory of mailbox `name` below `root`, or null when the layout cannot hold the name
 * (Maildir++ separates levels with ".", so a level with a "." in it has no directory there).
 */
export function folderPath(root: string, name: string, layout: MaildirLayout): string | null {
  if (name.toUpperCase() === "INBOX") return root;
  const segments = name.split("/").map(encodeMailboxUtf7);
  if (layout === "fs") {
    if (segments.some((s) => s === "" || s.startsWith(".") || RESERVED.has(s))) return null;
    return join(root, ...segments);
  }
  if (segments.some((s) => s === "" || s.includes("."))) return null;
  return join(root, `.${segments.join(".")}`);
}

/**
 * A new unique file name (before the ":2," info): time, microseconds, process and a counter, and the
 * host, whose "/" and ":" are escaped as the Maildir specification asks. S= is the file's size, W= the
 * message's size with CRLF line ends: Dovecot reads both to skip a stat() and a count.
 */
export class MaildirNames {
  private counter = 0;
  private readonly host = hostname().replace(/\//g, "\\057").replace(/:/g, "\\072") || "localhost";
  private readonly nonce = randomBytes(3).toString("hex");

  next(at: Date, fileSize: number, storedSize: number): string {
    this.counter++;
    const seconds = Math.floor(at.getTime() / 1000);
    return `${seconds}.R${this.nonce}P${process.pid}Q${this.counter}.${this.host},S=${fileSize},W=${storedSize}`;
  }
}
