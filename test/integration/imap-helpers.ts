// What the IMAP client tests share: the test user, mail sent in over SMTP, and the store's own view of a
// mailbox (`mailroom mail list/cat`) to compare what the clients see against.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import type { TestServer } from "../support/server.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");

export const user = "bob@example.org";
export const password = "imap secret";

export function mailboxHelpers(server: () => TestServer) {
  const storedBytes = async (mailbox: string, uid: number): Promise<Buffer> => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "mail", "cat", user, mailbox, String(uid)],
      { cwd: root, env: server().env, encoding: "buffer" },
    );
    return stdout;
  };

  const listing = async (
    mailbox = "INBOX",
  ): Promise<Array<{ uid: number; subject: string; flags: string[] }>> => {
    const result = await server().cli(["mail", "list", user, mailbox, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Array<{ uid: number; subject: string; flags: string[] }>;
  };

  const send = async (subject: string) => {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server().ports.smtp,
      ignoreTLS: true,
    });
    try {
      await transport.sendMail({
        from: "carol@remote.test",
        to: user,
        subject,
        text: `${subject} body\nGrüße\n`,
        attachments: [{ filename: "data.bin", content: Buffer.from([0, 1, 2, 255, 13, 10, 46]) }],
      });
    } finally {
      transport.close();
    }
  };

  return { storedBytes, listing, send };
}
