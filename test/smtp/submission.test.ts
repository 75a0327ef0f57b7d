// The submission policy in the session: the sender check before MAIL is accepted, the Date and
// Message-ID fields added on submission listeners only, and signing through the agent before the commit.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  RecipientContext,
  SenderVerdict,
  SignedMessage,
  SigningContext,
} from "../../src/delivery/types.js";
import { MAX_HEADER_SECTION, SubmissionHeaders } from "../../src/smtp/server/submission-headers.js";
import type { BlobRef } from "../../src/store/types.js";
import { codes, FakeAgent, harness, testConfig } from "./fakes.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const LOGIN = `AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`;

/** FakeAgent plus the optional policy members: alice owns alice@ and team@; signing inserts a marker. */
class PolicyAgent extends FakeAgent {
  senders: Array<{ address: string; user: string | null }> = [];
  signed: Array<{ blob: string; context: SigningContext }> = [];
  signError: Error | null = null;
  senderError: Error | null = null;
  discarded: string[] = [];
  /** What checkHeaderSenders answers; it records the blobs it was asked about. */
  headerVerdict: SenderVerdict = { kind: "accept" };
  headerChecks: string[] = [];

  async checkHeaderSenders(blob: BlobRef): Promise<SenderVerdict> {
    this.headerChecks.push(blob.id);
    return this.headerVerdict;
  }

  async checkSender(address: string, context: RecipientContext): Promise<SenderVerdict> {
    this.senders.push({ address, user: context.authenticated?.address ?? null });
    if (this.senderError) throw this.senderError;
    if (address === "" || address === "alice@example.org" || address === "team@example.org") {
      return { kind: "accept" };
    }
    return { kind: "reject", code: 550, enhanced: "5.7.1", text: `<${address}>: not owned by user alice` };
  }

  async sign(blob: BlobRef, context: SigningContext): Promise<SignedMessage | null> {
    this.signed.push({ blob: blob.id, context });
    if (this.signError) throw this.signError;
    const original = this.bodies.get(blob.id)!;
    const writer = await this.createBlobWriter();
    await writer.write(context.traceFor(writer.id));
    await writer.write(Buffer.from("DKIM-Signature: test\r\n"));
    await writer.write(original.subarray(context.traceLength));
    const ref = await writer.finish();
    return {
      blob: ref,
      discard: async () => {
        this.discarded.push(ref.id);
        await writer.abort();
      },
    };
  }
}

async function submission(options: { submission?: boolean; authenticate?: boolean } = {}) {
  const agent = new PolicyAgent();
  const h = harness({
    agent,
    authRequired: options.submission ?? true,
    submission: options.submission ?? true,
    tls: { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" },
    starttls: false,
    config: testConfig({ maxMessageSize: 1_000_000, maxDataLine: 100_000 }),
  });
  await h.send("EHLO client.example\r\n");
  if (options.authenticate ?? true) assert.match(await h.send(LOGIN), /^235 /);
  return { ...h, agent };
}

/** The stored message after the trace fields and the test signer's marker. */
function stored(h: Awaited<ReturnType<typeof submission>>): string {
  return h.agent.body(h.agent.commits.at(-1)!.blob.id).replace(/^DKIM-Signature: test\r\n/, "");
}

/** Sends one message by DATA and returns what was stored, as `stored` does. */
async function sendData(h: Awaited<ReturnType<typeof submission>>, message: string): Promise<string> {
  const replies = await h.send(
    `MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n${message}.\r\n`,
  );
  assert.deepEqual(codes(replies), ["250", "250", "354", "250"], replies);
  return stored(h);
}

const DATE =
  /^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$/m;
const MESSAGE_ID = /^Message-ID: <[A-Za-z0-9.]+@mx\.example\.org>$/m;

describe("sender policy", () => {
  test("an authenticated user's own address and allowed aliases are accepted", async () => {
    const h = await submission();
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^250 2\.1\.0 /);
    assert.match(await h.send("RSET\r\n"), /^250 /);
    assert.match(await h.send("MAIL FROM:<team@example.org>\r\n"), /^250 2\.1\.0 /);
    assert.deepEqual(h.agent.senders, [
      { address: "alice@example.org", user: "alice@example.org" },
      { address: "team@example.org", user: "alice@example.org" },
    ]);
  });

  test("someone else's address is refused with the agent's 550 5.7.1, and no transaction starts", async () => {
    const h = await submission();
    assert.equal(
      await h.send("MAIL FROM:<boss@example.org>\r\n"),
      "550 5.7.1 <boss@example.org>: not owned by user alice\r\n",
    );
    assert.match(await h.send("RCPT TO:<carol@example.org>\r\n"), /^503 5\.5\.1 Send MAIL first/);
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^250 /);
  });

  test("the null sender is put to the agent as an empty address", async () => {
    const h = await submission();
    assert.match(await h.send("MAIL FROM:<>\r\n"), /^250 /);
    assert.deepEqual(h.agent.senders, [{ address: "", user: "alice@example.org" }]);
  });

  test("a failing sender lookup is a temporary 451", async () => {
    const h = await submission();
    h.agent.senderError = new Error("database gone");
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^451 4\.3\.0 /);
  });

  test("unauthenticated sessions (MX) are not asked about their sender", async () => {
    const h = await submission({ submission: false, authenticate: false });
    assert.match(await h.send("MAIL FROM:<anyone@remote.example>\r\n"), /^250 /);
    assert.deepEqual(h.agent.senders, []);
  });
});

describe("Date and Message-ID on submission", () => {
  test("added before the empty line when absent", async () => {
    const h = await submission();
    const text = await sendData(h, "Subject: hi\r\n\r\nbody\r\n");
    const [header, body] = text.split("\r\n\r\n");
    const lines = header!.split("\r\n");
    assert.equal(lines[0], "Subject: hi");
    assert.match(lines[1]!, DATE);
    assert.match(lines[2]!, MESSAGE_ID);
    assert.equal(lines.length, 3);
    assert.equal(body, "body\r\n");
  });

  test("present fields (any case, folded, space before the colon) are kept and not doubled", async () => {
    const h = await submission();
    const message =
      "date : Mon, 03 Jun 2024 10:00:00 +0000\r\nMESSAGE-ID:\r\n <given@client.example>\r\nSubject: x\r\n\r\nbody\r\n";
    assert.equal(await sendData(h, message), message);
  });

  test("only the missing one is added; a folded line that mentions Date: is no Date field", async () => {
    const h = await submission();
    const text = await sendData(h, "Message-ID: <m@x>\r\nSubject: a\r\n Date: not a field\r\n\r\nb\r\n");
    assert.match(
      text,
      /^Message-ID: <m@x>\r\nSubject: a\r\n Date: not a field\r\nDate: [^\r]+\r\n\r\nb\r\n$/,
    );
    assert.equal(text.match(/^Message-ID:/gm)?.length, 1);
  });

  test("a header section without a body, by DATA and by BDAT without a final CRLF", async () => {
    const h = await submission();
    const text = await sendData(h, "Subject: only header\r\n");
    assert.match(text, /^Subject: only header\r\nDate: [^\r]+\r\nMessage-ID: <[^>]+>\r\n$/);
    const chunk = "Subject: bdat";
    const replies = await h.send(
      `MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nBDAT ${chunk.length} LAST\r\n${chunk}`,
    );
    assert.deepEqual(codes(replies), ["250", "250", "250"]);
    const bdat = stored(h);
    assert.match(bdat, /^Subject: bdat\r\nDate: [^\r]+\r\nMessage-ID: <[^>]+>\r\n$/);
  });

  test("BDAT chunks split inside the header section and inside a line", async () => {
    const h = await submission();
    const parts = ["Subj", "ect: split\r", "\nDate: Mon, 03 Jun 2024 10:00:00 +0000\r\n", "\r\nbody\r\n"];
    let commands = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\n";
    parts.forEach((part, index) => {
      commands += `BDAT ${part.length}${index === parts.length - 1 ? " LAST" : ""}\r\n${part}`;
    });
    const replies = await h.send(commands);
    assert.deepEqual(codes(replies), ["250", "250", "250", "250", "250", "250"]);
    assert.match(
      stored(h),
      /^Subject: split\r\nDate: Mon, 03 Jun 2024 10:00:00 \+0000\r\nMessage-ID: <[^>]+>\r\n\r\nbody\r\n$/,
    );
  });

  test("a message without any header fields gets them at the top", async () => {
    const h = await submission();
    const text = await sendData(h, "\r\njust a body\r\n");
    assert.match(text, /^Date: [^\r]+\r\nMessage-ID: <[^>]+>\r\n\r\njust a body\r\n$/);
  });

  test("MX mail (port 25 role) is stored exactly as received", async () => {
    const h = await submission({ submission: false, authenticate: false });
    const text = await sendData(h, "Subject: from afar\r\n\r\nbody\r\n");
    assert.equal(text, "Subject: from afar\r\n\r\nbody\r\n");
  });

  test("a header section past the limit passes unchanged", () => {
    const fields = { date: () => "D", messageId: () => "<M>" };
    const completer = new SubmissionHeaders(fields, 64);
    const long = `X-Long: ${"a".repeat(100)}\r\n`;
    assert.equal(completer.push(Buffer.from(long)).toString(), long);
    assert.equal(completer.push(Buffer.from("\r\nbody\r\n")).toString(), "\r\nbody\r\n");
    assert.equal(completer.finish().length, 0);
    assert.equal(MAX_HEADER_SECTION, 256 * 1024);
  });
});

describe("signing through the agent", () => {
  test("authenticated mail is committed signed, after the trace fields; the original is removed", async () => {
    const h = await submission();
    await sendData(h, "From: alice@example.org\r\nSubject: s\r\n\r\nbody\r\n");
    const commit = h.agent.commits.at(-1)!;
    const [signedCall] = h.agent.signed;
    assert.ok(signedCall);
    assert.notEqual(commit.blob.id, signedCall.blob, "the commit names the signed copy");
    assert.deepEqual(h.agent.aborted, [signedCall.blob]);
    const bytes = h.agent.bodies.get(commit.blob.id)!.toString("latin1");
    const trace = bytes.slice(0, signedCall.context.traceLength);
    assert.match(trace, /^Return-Path: <alice@example\.org>\r\nReceived: from client\.example /);
    assert.ok(bytes.slice(signedCall.context.traceLength).startsWith("DKIM-Signature: test\r\nFrom: alice"));
    assert.equal(signedCall.context.authenticated.address, "alice@example.org");
  });

  test("the signed copy's Received names its own id, the one in the 250 reply", async () => {
    const h = await submission();
    const replies = await h.send(
      "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nFrom: alice@example.org\r\n\r\nb\r\n.\r\n",
    );
    const id = /queued as (\S+)\r\n$/.exec(replies)?.[1];
    const [signedCall] = h.agent.signed;
    assert.ok(id && signedCall && id !== signedCall.blob, replies);
    const bytes = h.agent.bodies.get(id)!.toString("latin1");
    assert.match(bytes, new RegExp(`\\bid ${id}\\b`));
    assert.ok(!bytes.includes(signedCall.blob), "the unsigned copy's id appears nowhere");
  });

  test("a From: the agent refuses: its reply, the received copy thrown away, nothing signed or committed", async () => {
    const h = await submission();
    h.agent.headerVerdict = {
      kind: "reject",
      code: 550,
      enhanced: "5.7.1",
      text: "the From: header names <boss@x>",
    };
    const replies = await h.send(
      "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nFrom: boss@x\r\n\r\nb\r\n.\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "354", "550"]);
    assert.match(replies, /550 5\.7\.1 the From: header names <boss@x>\r\n$/);
    assert.equal(h.agent.headerChecks.length, 1);
    assert.deepEqual(h.agent.signed, []);
    assert.equal(h.agent.commits.length, 0);
    assert.equal(h.agent.bodies.size, 0);
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^250 /, "the session goes on");
  });

  test("unauthenticated mail (MX) is not checked for its From:", async () => {
    const h = await submission({ submission: false, authenticate: false });
    await sendData(h, "From: anyone@remote.example\r\n\r\nb\r\n");
    assert.deepEqual(h.agent.headerChecks, []);
  });

  test("a signing failure refuses the message with 451 and commits nothing", async () => {
    const h = await submission();
    h.agent.signError = new Error("bad key");
    const replies = await h.send(
      "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: x\r\n\r\nb\r\n.\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "354", "451"]);
    assert.match(replies, /451 4\.3\.0 Temporary failure signing the message \(DKIM\)/);
    assert.equal(h.agent.commits.length, 0);
    assert.equal(h.agent.bodies.size, 0, "the received copy was thrown away");
  });

  test("a failed commit throws away both copies", async () => {
    const h = await submission();
    h.agent.commitError = new Error("disk trouble");
    const replies = await h.send(
      "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: x\r\n\r\nb\r\n.\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "354", "451"]);
    assert.equal(h.agent.discarded.length, 1);
    assert.equal(h.agent.bodies.size, 0);
  });

  test("unauthenticated mail is not offered for signing", async () => {
    const h = await submission({ submission: false, authenticate: false });
    await sendData(h, "From: alice@example.org\r\n\r\nb\r\n");
    assert.deepEqual(h.agent.signed, []);
  });
});
