// Authentication of MX mail through a real `mailroom serve` on both stores: a loopback DNS server
// publishes SPF, DKIM and DMARC records for three sender domains; messages DKIM-signed with mailauth's
// dkimSign (keys made here) are sent with nodemailer over SMTP, and read back with imapflow over IMAP.
// Good mail gets our Authentication-Results (and a forged one claiming our name is gone); a forgery of a
// p=reject domain gets 550 5.7.1 and is stored nowhere; a p=quarantine failure lands in Junk.

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ImapFlow } from "imapflow";
import { dkimSign, sealMessage } from "mailauth";
import nodemailer from "nodemailer";
import { startTestDns, type TestDns } from "../support/dns.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const user = "dana@example.org";
const password = "dana's trust passphrase";
const HOST = "mx.mailroom.test";

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const der = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  return { pem, record: `v=DKIM1; k=rsa; p=${der}` };
}

async function signed(message: string, domain: string, pem: string): Promise<string> {
  // mailauth 4.x signs with signatureData; its bundled types still describe the older flat options. A
  // pinned signTime, as src/mail/dkim.ts passes: unpinned, a slow signing may hash one t= and write another.
  const options = {
    signatureData: [{ signingDomain: domain, selector: "s1", privateKey: pem }],
    signTime: new Date(),
  };
  const result = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
  assert.deepEqual(result.errors, []);
  assert.match(result.signatures, /^DKIM-Signature:/);
  return result.signatures + message;
}

function message(from: string, subject: string, extra = ""): string {
  return (
    `${extra}From: <${from}>\r\nTo: <${user}>\r\nSubject: ${subject}\r\n` +
    `Date: Thu, 03 Dec 2026 22:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@test>\r\n\r\nhello\r\n`
  );
}

for (const backend of await integrationBackends()) {
  describe(`inbound authentication, ${backend.name} store`, { skip: backend.skip ?? false }, () => {
    let server: TestServer;
    let dns: TestDns;
    const good = keyPair();
    const other = keyPair();
    const forwarder = keyPair();
    const stranger = keyPair();

    before(async () => {
      dns = await startTestDns({
        "good.test": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
        "s1._domainkey.good.test": { txt: [good.record] },
        "_dmarc.good.test": { txt: ["v=DMARC1; p=reject"] },
        "strict.test": { txt: ["v=spf1 -all"] },
        "_dmarc.strict.test": { txt: ["v=DMARC1; p=reject"] },
        "soft.test": { txt: ["v=spf1 -all"] },
        "_dmarc.soft.test": { txt: ["v=DMARC1; p=quarantine"] },
        "s1._domainkey.other.test": { txt: [other.record] },
        // Two mailing lists that seal what they forward (RFC 8617); only the first is trusted.
        "lists.forward.test": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
        "arc._domainkey.lists.forward.test": { txt: [forwarder.record] },
        "lists.stranger.test": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
        "arc._domainkey.lists.stranger.test": { txt: [stranger.record] },
        "1.0.0.127.zen.test": { a: ["127.0.0.2"], txt: ["Listed: see https://zen.test/query/127.0.0.1"] },
        // ::1, its 32 nibbles reversed (RFC 5782 §2.4).
        [`1${".0".repeat(31)}.zen.test`]: { a: ["127.0.0.4"], txt: ["Listed: IPv6 ::1"] },
      });
      server = await startTestServer({
        store: backend.store,
        env: {
          MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
          MAILROOM_TRUST_TRUSTED_ARC_SEALERS: "lists.forward.test",
        },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await dns?.close();
      await backend.release();
    });

    const send = async (from: string, raw: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        ignoreTLS: true,
        name: "client.good.test",
      });
      try {
        return await transport.sendMail({ envelope: { from, to: [user] }, raw });
      } finally {
        transport.close();
      }
    };

    /** `read` with `mailbox` selected over IMAP, as the user. */
    const inMailbox = async <T>(mailbox: string, read: (client: ImapFlow) => Promise<T>): Promise<T> => {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: server.ports.imap,
        secure: false,
        doSTARTTLS: false,
        auth: { user, pass: password },
        logger: false,
      });
      await client.connect();
      try {
        const lock = await client.getMailboxLock(mailbox);
        try {
          return await read(client);
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    };

    /** The header section of each message in `mailbox`, in UID order. */
    const headers = (mailbox: string): Promise<string[]> =>
      inMailbox(mailbox, async (client) => {
        const out: string[] = [];
        if ((client.mailbox as { exists: number }).exists === 0) return out;
        for await (const each of client.fetch("1:*", { headers: true })) {
          out.push(each.headers?.toString("latin1") ?? "");
        }
        return out;
      });

    /** The whole stored message (trace fields included) in INBOX whose Subject is `subject`, or "". */
    const source = (subject: string): Promise<string> =>
      inMailbox("INBOX", async (client) => {
        for await (const each of client.fetch("1:*", { source: true })) {
          const text = each.source?.toString("latin1") ?? "";
          if (text.includes(`Subject: ${subject}\r\n`)) return text;
        }
        return "";
      });

    test("signed mail passes SPF, DKIM and DMARC; one Authentication-Results, the forged one removed", async () => {
      const forged = `Authentication-Results: ${HOST.toUpperCase()}; dkim=pass header.d=evil.test\r\nAuthentication-Results: other.example; spf=none\r\n`;
      await send(
        "alice@good.test",
        await signed(message("alice@good.test", "good one", forged), "good.test", good.pem),
      );
      const inbox = await headers("INBOX");
      const header = inbox.find((each) => /Subject: good one/.test(each));
      assert.ok(header, inbox.join("\n---\n"));
      const ours = header.match(/^Authentication-Results:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*/gim) ?? [];
      assert.equal(ours.filter((field) => field.includes(`${HOST};`)).length, 1, ours.join("\n"));
      assert.ok(!/dkim=pass header\.d=evil\.test/.test(header), "the forged field claiming our name stayed");
      assert.ok(
        /Authentication-Results: other\.example; spf=none/.test(header),
        "another server's field was removed",
      );
      const field = ours.find((each) => each.includes(`${HOST};`))!.replace(/\r\n[ \t]+/g, " ");
      assert.match(field, /dkim=pass[^;]*header\.i=@good\.test/);
      assert.match(field, /spf=pass[^;]*smtp\.mailfrom=alice@good\.test/);
      assert.match(field, /spf=\w+ smtp\.helo=client\.good\.test/);
      assert.match(field, /dmarc=pass[^;]*header\.from=good\.test/);
    });

    test("as stored: our trace fields, one Authentication-Results, then the message octet for octet", async () => {
      const raw = await signed(message("alice@good.test", "stored layout"), "good.test", good.pem);
      await send("alice@good.test", raw);
      const text = await source("stored layout");
      const at = text.indexOf(`Authentication-Results: ${HOST};`);
      assert.ok(at > 0, text);
      assert.match(
        text.slice(0, at),
        /^Return-Path: <alice@good\.test>\r\nReceived: from client\.good\.test /,
      );
      const end = text.slice(at).search(/\r\n(?![ \t])/) + at + 2;
      assert.match(text.slice(at, end), /dkim=pass/);
      assert.equal(text.slice(end), raw);
    });

    test("a body changed in transit after signing: dkim fails on the body hash, SPF still passes", async () => {
      const raw = (await signed(message("alice@good.test", "altered body"), "good.test", good.pem)).replace(
        "hello\r\n",
        "hullo\r\n",
      );
      await send("alice@good.test", raw);
      const text = await source("altered body");
      assert.match(text, /dkim=neutral \(body hash did not verify\)/);
      assert.doesNotMatch(text, /dkim=pass/);
      assert.match(text, /spf=pass[^;]*smtp\.mailfrom=alice@good\.test/);
    });

    test("a client gone in the middle of DATA: nothing stored, nothing left behind, the next message verifies", async () => {
      const socket = connect(server.ports.smtp, "127.0.0.1");
      let heard = "";
      socket.on("data", (chunk) => {
        heard += chunk.toString("latin1");
      });
      const until = async (pattern: RegExp) => {
        for (let waited = 0; !pattern.test(heard); waited += 20) {
          assert.ok(waited < 10_000, heard);
          await sleep(20);
        }
      };
      await until(/^220 /m);
      socket.write(`EHLO client.good.test\r\nMAIL FROM:<alice@good.test>\r\nRCPT TO:<${user}>\r\nDATA\r\n`);
      await until(/^354 /m);
      const raw = await signed(message("alice@good.test", "cut short"), "good.test", good.pem);
      socket.write(raw.slice(0, raw.length - 8));
      await sleep(200);
      socket.destroy();
      await sleep(300);
      if (backend.name === "sqlite") assert.deepEqual(await readdir(join(server.dataDir, "tmp")), []);
      await send(
        "alice@good.test",
        await signed(message("alice@good.test", "after the cut"), "good.test", good.pem),
      );
      assert.match(await source("after the cut"), /dkim=pass/);
      assert.equal(await source("cut short"), "");
    });

    test("a second message from the same domain is checked from the cache: no DNS query repeated", async () => {
      const raw = await signed(message("alice@good.test", "good two"), "good.test", good.pem);
      await send("alice@good.test", raw);
      const before = dns.queries().length;
      await send(
        "alice@good.test",
        await signed(message("alice@good.test", "good three"), "good.test", good.pem),
      );
      assert.deepEqual(dns.queries().slice(before), []);
      assert.ok((await headers("INBOX")).some((each) => /Subject: good three/.test(each)));
    });

    test("mail from an authenticated user on submission is not checked", async () => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.submission,
        requireTLS: true,
        auth: { user, pass: password },
        tls: { rejectUnauthorized: false },
      });
      try {
        await transport.sendMail({ from: user, to: user, subject: "own mail", text: "hi\n" });
      } finally {
        transport.close();
      }
      const mine = (await headers("INBOX")).find((each) => /Subject: own mail/.test(each));
      assert.ok(mine);
      assert.ok(!/Authentication-Results/i.test(mine), mine);
    });

    test("a forgery of a p=reject domain gets 550 5.7.1 at the end of DATA and is not stored", async () => {
      const raw = await signed(message("ceo@strict.test", "forged reject"), "other.test", other.pem);
      await assert.rejects(
        send("ceo@strict.test", raw),
        (err: { responseCode?: number; response?: string }) => {
          assert.equal(err.responseCode, 550);
          assert.match(err.response ?? "", /5\.7\.1/);
          return true;
        },
      );
      const all = [...(await headers("INBOX")), ...(await headers("Junk"))];
      assert.ok(!all.some((each) => /forged reject/.test(each)));
    });

    test("a DMARC fail of a p=quarantine domain is delivered into Junk", async () => {
      await send("news@soft.test", message("news@soft.test", "quarantined one"));
      assert.ok((await headers("Junk")).some((each) => /quarantined one/.test(each)));
      assert.ok(!(await headers("INBOX")).some((each) => /quarantined one/.test(each)));
    });

    /**
     * What a mailing list sends on: good.test's signed message with a tag added to its Subject (which
     * breaks good.test's signature), sealed by the list with the results it saw on arrival (RFC 8617 §5.1,
     * i=1 so cv=none). Mail to us from the list's own envelope sender: SPF passes for the list, not for
     * good.test, so DMARC for good.test (p=reject) fails unless the seal is trusted.
     */
    const throughList = async (list: string, pem: string, subject: string) => {
      const original = await signed(message("alice@good.test", subject), "good.test", good.pem);
      const tagged = original.replace(`Subject: ${subject}`, `Subject: [list] ${subject}`);
      const seal = {
        signingDomain: list,
        selector: "arc",
        privateKey: pem,
        authResults: `${list}; dkim=pass header.d=good.test; spf=pass smtp.mailfrom=good.test; dmarc=pass header.from=good.test`,
        cv: "none",
        // The ARC-Message-Signature is signed like a DKIM signature, with the same clock race unpinned.
        signTime: new Date(),
      };
      const headers = await sealMessage(tagged, seal as unknown as Parameters<typeof sealMessage>[1]);
      assert.match(headers.toString(), /^ARC-Seal: i=1;/m);
      return send(`bounces@${list}`, headers.toString() + tagged);
    };

    test("a trusted list's valid ARC seal overrides the DMARC fail its change caused; an untrusted one's does not", async () => {
      await throughList("lists.forward.test", forwarder.pem, "forwarded by a trusted list");
      const inbox = await headers("INBOX");
      const delivered = inbox.find((each) => /forwarded by a trusted list/.test(each));
      assert.ok(delivered, "the trusted list's mail is in INBOX");
      const field = (delivered.match(/^Authentication-Results:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*/gim) ?? [])
        .find((each) => each.includes(`${HOST};`))
        ?.replace(/\r\n[ \t]+/g, " ");
      assert.ok(field, delivered);
      assert.match(field, /arc=pass/);
      assert.match(field, /dmarc=fail[^;]*header\.from=good\.test/);
      await assert.rejects(
        throughList("lists.stranger.test", stranger.pem, "forwarded by a stranger"),
        (err: { responseCode?: number; response?: string }) => {
          assert.equal(err.responseCode, 550);
          assert.match(err.response ?? "", /5\.7\.1/);
          return true;
        },
      );
      const all = [...(await headers("INBOX")), ...(await headers("Junk"))];
      assert.ok(!all.some((each) => /forwarded by a stranger/.test(each)));
    });

    /** A server with two blocklist zones whose SMTP listener is on `host`; the 554 reply must match `reason`. */
    const refusedAsListed = async (host: string, reason: RegExp) => {
      const listed = await startTestServer({
        store: backend.store,
        env: {
          MAILROOM_RELAY_RESOLVER: `${dns.address}:${dns.port}`,
          MAILROOM_TRUST_DNSBL: "clean.test,zen.test",
          MAILROOM_LISTENERS_SMTP_HOST: host,
        },
      });
      try {
        const transport = nodemailer.createTransport({ host, port: listed.ports.smtp, ignoreTLS: true });
        try {
          await assert.rejects(
            transport.sendMail({
              envelope: { from: "alice@good.test", to: [user] },
              raw: message("alice@good.test", `listed on ${host}`),
            }),
            (err: { responseCode?: number; response?: string }) => {
              assert.equal(err.responseCode, 554);
              assert.match(err.response ?? "", reason);
              return true;
            },
          );
        } finally {
          transport.close();
        }
      } finally {
        await listed.cleanup();
      }
    };

    test("a DNS blocklist listing the client: 554 5.7.1 at RCPT with the zone's reason", async () => {
      await refusedAsListed(
        "127.0.0.1",
        /5\.7\.1 127\.0\.0\.1 is listed by zen\.test: Listed: see https:\/\/zen\.test/,
      );
    });

    test("an IPv6 client listed under its nibble-reversed name: 554 5.7.1 at RCPT", async () => {
      await refusedAsListed("::1", /5\.7\.1 ::1 is listed by zen\.test: Listed: IPv6 ::1/);
      // RFC 5782 §2.4: all 32 nibbles, reversed, asked of each zone in turn.
      assert.ok(dns.queries().includes(`A 1${".0".repeat(31)}.clean.test`), dns.queries().join("\n"));
    });
  });
}
