// `mailroom import --from imaps://user@host`: another server's mailboxes as an import source, read over
// IMAP by imapflow (a client library; the servers are what mailroom writes itself). Every selectable
// mailbox is opened read-only (EXAMINE, RFC 9051 §6.3.3), so the old server's \Seen flags and \Recent
// state stay as they were; bodies are fetched in batches bounded by octets, so a large mailbox is never
// held whole.

import { isIP } from "node:net";
import { ImapFlow } from "imapflow";
import type { MessageSource, SourceMessage } from "./sources.js";

export interface ImapLocation {
  secure: boolean;
  host: string;
  port: number;
  user: string;
  /** The URL without credentials, for reports. */
  label: string;
}

export class ImapSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImapSourceError";
  }
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);

/** Whether a plain imap:// connection may stay cleartext when the server offers no STARTTLS. */
function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || (isIP(host) === 4 && host.startsWith("127."));
}

/**
 * `imaps://USER@HOST[:PORT]` (implicit TLS, port 993) or `imap://USER@HOST[:PORT]` (STARTTLS required,
 * port 143; only a loopback host may answer without it). USER may be percent-encoded (RFC 5092 §3.2),
 * or hold a plain "@": the last one separates it from the host.
 */
export function parseImapLocation(text: string): ImapLocation {
  const match = /^(imaps?):\/\/(.+)@([^@/]+?)(?::(\d+))?\/?$/i.exec(text);
  if (!match) {
    throw new ImapSourceError(
      `${text} is not an IMAP address; write imaps://USER@HOST or imaps://USER@HOST:PORT (imap:// for STARTTLS)`,
    );
  }
  const [, scheme = "", rawUser = "", rawHost = "", rawPort] = match;
  const secure = scheme.toLowerCase() === "imaps";
  let user: string;
  try {
    user = decodeURIComponent(rawUser);
  } catch {
    throw new ImapSourceError(`the user in ${text} has a broken %-escape`);
  }
  const host = rawHost.replace(/^\[(.*)\]$/, "$1");
  const port = rawPort === undefined ? (secure ? 993 : 143) : Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ImapSourceError(`the port in ${text} is not between 1 and 65535`);
  }
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return { secure, host, port, user, label: `${scheme.toLowerCase()}://${user}@${shownHost}:${port}` };
}

export interface ImapSourceOptions {
  location: ImapLocation;
  password: string;
  /** PEM certificates to trust besides the system's, for a server with a private CA. */
  ca?: string;
  maxMessageSize: number;
}

/** Octets of bodies fetched in one command: a batch is held in memory until the import has stored it. */
const BATCH_OCTETS = 8 * 1024 * 1024;
const BATCH_MESSAGES = 200;

interface Listed {
  uid: number;
  size: number;
  flags: string[];
  internalDate: Date;
}

/**
 * The mail of every selectable mailbox of the account. Connecting and logging in happen before the
 * first message; a failure there is an ImapSourceError that says what to check.
 */
export function imapSource(options: ImapSourceOptions): MessageSource {
  const { location } = options;
  return {
    label: location.label,
    async *messages() {
      const client = new ImapFlow({
        host: location.host,
        port: location.port,
        secure: location.secure,
        ...(location.secure || isLoopback(location.host) ? {} : { doSTARTTLS: true }),
        servername: isIP(location.host) === 0 ? location.host : undefined,
        tls: { rejectUnauthorized: true, ...(options.ca ? { ca: options.ca } : {}) },
        auth: { user: location.user, pass: options.password },
        logger: false,
        disableAutoIdle: true,
      });
      // imapflow reports a dropped connection as an event too; the failing command carries it.
      client.on("error", () => undefined);
      await connect(client, location);
      try {
        for (const mailbox of await client.list()) {
          if (mailbox.flags.has("\\Noselect") || mailbox.flags.has("\\NonExistent")) continue;
          const name =
            mailbox.path.toUpperCase() === "INBOX"
              ? "INBOX"
              : mailbox.delimiter
                ? mailbox.path.split(mailbox.delimiter).join("/")
                : mailbox.path;
          yield* mailboxMessages(client, mailbox.path, name, location.label, options.maxMessageSize);
        }
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
  };
}

async function connect(client: ImapFlow, location: ImapLocation): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    const failure = error as { authenticationFailed?: boolean; code?: string; message?: string };
    if (failure.authenticationFailed) {
      throw new ImapSourceError(
        `${location.label} refused the login of ${location.user}: check the user name and password`,
      );
    }
    const why = failure.code ?? failure.message ?? String(error);
    throw new ImapSourceError(
      `could not connect to ${location.label} (${why}); check the host and port, and for a certificate ` +
        "your system does not trust, give its CA with --ca FILE",
    );
  }
}

async function* mailboxMessages(
  client: ImapFlow,
  path: string,
  name: string,
  label: string,
  maxMessageSize: number,
): AsyncGenerator<SourceMessage> {
  const opened = await client.mailboxOpen(path, { readOnly: true });
  if (opened.exists === 0) return;
  const listed: Listed[] = [];
  for await (const message of client.fetch(
    "1:*",
    { uid: true, flags: true, internalDate: true, size: true },
    { uid: false },
  )) {
    listed.push({
      uid: message.uid,
      size: message.size ?? 0,
      // \Recent belongs to a session, not to the message (RFC 3501 §2.3.2).
      flags: [...(message.flags ?? [])].filter((flag) => flag.toLowerCase() !== "\\recent"),
      internalDate: new Date(message.internalDate ?? Date.now()),
    });
  }
  listed.sort((a, b) => a.uid - b.uid);
  for (const batch of batches(listed, maxMessageSize)) {
    const bodies = new Map<number, Buffer>();
    const wanted = batch.filter((entry) => entry.size <= maxMessageSize).map((entry) => entry.uid);
    if (wanted.length > 0) {
      for await (const message of client.fetch(
        wanted.join(","),
        { uid: true, source: true },
        { uid: true },
      )) {
        if (message.source) bodies.set(message.uid, message.source);
      }
    }
    for (const entry of batch) {
      const origin = `${label}/${name};UID=${entry.uid}`;
      const tooLarge = entry.size > maxMessageSize;
      const bytes = tooLarge ? null : (bodies.get(entry.uid) ?? null);
      if (!tooLarge && bytes === null) {
        // Expunged by another client since it was listed: nothing to copy, and nothing lost.
        continue;
      }
      yield {
        mailbox: name,
        origin,
        bytes,
        size: bytes?.length ?? entry.size,
        flags: entry.flags,
        internalDate: entry.internalDate,
        notes: [],
      };
    }
  }
}

/** Runs of messages whose bodies together stay under BATCH_OCTETS (one large message is a run alone). */
function* batches(listed: Listed[], maxMessageSize: number): Generator<Listed[]> {
  let batch: Listed[] = [];
  let octets = 0;
  for (const entry of listed) {
    const size = entry.size > maxMessageSize ? 0 : entry.size;
    if (batch.length > 0 && (octets + size > BATCH_OCTETS || batch.length >= BATCH_MESSAGES)) {
      yield batch;
      batch = [];
      octets = 0;
    }
    batch.push(entry);
    octets += size;
  }
  if (batch.length > 0) yield batch;
}
