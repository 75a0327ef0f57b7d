// What the JMAP integration tests share: one user added with the CLI, their session resource and
// uploads over HTTP, mail delivered to them by SMTP, and an IMAP connection as the same user, against a
// running `mailroom serve`.

import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import nodemailer, { type SendMailOptions } from "nodemailer";
import type { TestServer } from "../support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests assert what they read of it
type Loose = Record<string, any>;

export function jmapUser(server: () => TestServer, address: string, password: string) {
  const auth = { Authorization: `Basic ${Buffer.from(`${address}:${password}`).toString("base64")}` };
  const base = () => `http://127.0.0.1:${server().ports.http}`;
  return {
    auth,
    /** Adds the user, and their domain, with the CLI. */
    async add(): Promise<void> {
      const domain = address.slice(address.indexOf("@") + 1);
      assert.equal((await server().cli(["domain", "add", domain])).code, 0);
      const added = await server().cli(["user", "add", address, "--password-stdin"], `${password}\n`);
      assert.equal(added.code, 0, added.stderr);
    },
    async session(): Promise<Loose> {
      return (await (await fetch(`${base()}/.well-known/jmap`, { headers: auth })).json()) as Loose;
    },
    /** The blob id of the uploaded bytes (RFC 8620 §6.1). */
    async upload(accountId: string, bytes: Buffer, type = "message/rfc822"): Promise<string> {
      const response = await fetch(`${base()}/jmap/upload/${accountId}/`, {
        method: "POST",
        headers: { ...auth, "Content-Type": type },
        body: bytes,
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { blobId: string }).blobId;
    },
    /** Delivers a message to this user over the server's SMTP listener (nodemailer message fields). */
    async deliver(message: SendMailOptions, from: string): Promise<void> {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server().ports.smtp,
        secure: false,
        ignoreTLS: true,
      });
      await transport.sendMail({ from, to: address, ...message });
      transport.close();
    },
    async imap(): Promise<ImapFlow> {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server().ports.imap,
        secure: false,
        auth: { user: address, pass: password },
        tls: { rejectUnauthorized: false },
        logger: false,
      });
      await client.connect();
      return client;
    },
  };
}
