// A real SQLite store and authenticator with one user and a way to deliver raw messages, for the POP3 and
// IMAP session and socket tests.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { hashPassword } from "../../src/auth/password.js";
import type { Authenticator } from "../../src/auth/types.js";
import type { AuthConfig } from "../../src/config/types.js";
import { openStore } from "../../src/store/open.js";
import type { Mailbox, Store } from "../../src/store/types.js";

export const ADDRESS = "alice@example.test";
export const PASSWORD = "correct horse battery";

export const AUTH_CONFIG: AuthConfig = {
  failureDelay: 0,
  maxFailuresPerIp: 1000,
  failureWindow: 60_000,
};

export interface MailFixture {
  store: Store;
  authenticator: Authenticator;
  inbox: Mailbox;
  userId: number;
  dataDir: string;
  /** Delivers raw bytes to a mailbox (INBOX by default), as SMTP would; returns the UID. */
  deliver(message: string | Buffer, mailboxId?: number, flags?: string[]): Promise<number>;
  cleanup(): Promise<void>;
}

export interface MailFixtureOptions {
  /** Prefix of the temporary data directory's name. */
  dirPrefix: string;
  /** How a message given as a string becomes bytes. */
  encoding: BufferEncoding;
  /** The internal date each delivery gets. */
  internalDate: () => Date;
}

export async function createMailFixture(options: MailFixtureOptions): Promise<MailFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), options.dirPrefix));
  const logger = pino({ level: "silent" });
  const store = await openStore({ store: "sqlite", dataDir, logger });
  await store.directory.addDomain("example.test");
  const user = await store.directory.addUser(ADDRESS, await hashPassword(PASSWORD));
  const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
  if (inbox === null) throw new Error("the store created no INBOX");
  const authenticator = createAuthenticator({
    lookupUser: (address) => store.directory.getUser(address),
    config: AUTH_CONFIG,
    logger,
    sleep: async () => {},
  });
  return {
    store,
    authenticator,
    inbox,
    userId: user.id,
    dataDir,
    async deliver(message, mailboxId = inbox.id, flags) {
      const writer = await store.blobs.createBlobWriter();
      await writer.write(typeof message === "string" ? Buffer.from(message, options.encoding) : message);
      const blob = await writer.finish();
      const result = await store.messages.deliver({
        blob,
        sender: "",
        internalDate: options.internalDate(),
        mailboxes: [{ mailboxId, ...(flags === undefined ? {} : { flags }) }],
        queue: [],
      });
      const placed = result.uids[0];
      if (placed === undefined) throw new Error("deliver placed nothing");
      return placed.uid;
    },
    async cleanup() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
