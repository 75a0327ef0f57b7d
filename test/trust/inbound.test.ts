// Inbound authentication fed while the body streams: an SmtpSession on the MX side with the real
// createInboundTrust (mailauth) over an in-memory resolver and the fake agent's blobs. DKIM must verify
// whatever the chunking of DATA or BDAT, the key be asked for as soon as the header section is in, a
// body changed in transit must fail, a transaction that ends without a message must leave no blob and
// stop the verification before it asks for the key itself, and the stored message keeps its
// layout: trace fields, our one Authentication-Results field, then the message exactly as sent, written
// once when it is held in memory and copied from a scratch blob when it is longer.

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { dkimSign } from "mailauth";
import pino from "pino";
import { createInboundTrust, HELD_MESSAGE_LIMIT, lookupNames } from "../../src/trust/inbound.js";
import { codes, FakeAgent, harness, testConfig } from "../smtp/fakes.js";

const HOST = "mx.example.org";
const LINE = `${"x".repeat(76)}\r\n`;
const CLIENT = "192.0.2.7";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const keyRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;

const RECORDS: Record<string, string> = {
  "good.test": `v=spf1 ip4:${CLIENT} -all`,
  "s1._domainkey.good.test": keyRecord,
  "_dmarc.good.test": "v=DMARC1; p=none",
  "strict.test": "v=spf1 -all",
  "_dmarc.strict.test": "v=DMARC1; p=reject",
};

async function signed(body: string): Promise<string> {
  const message =
    "From: <alice@good.test>\r\nTo: <dana@example.org>\r\nSubject: streamed\r\n" +
    `Date: Mon, 07 Dec 2026 12:00:00 +0000\r\nMessage-ID: <streamed@good.test>\r\n\r\n${body}`;
  // mailauth 4.x signs with signatureData; its bundled types still describe the older flat options. A
  // pinned signTime, as src/mail/dkim.ts passes: unpinned, a slow signing may hash one t= and write another.
  const options = {
    signatureData: [{ signingDomain: "good.test", selector: "s1", privateKey: pem }],
    signTime: new Date(),
  };
  const result = await dkimSign(message, options as unknown as Parameters<typeof dkimSign>[1]);
  assert.deepEqual(result.errors, []);
  return result.signatures + message;
}

function mx(maxMessageSize = 10_000) {
  const agent = new FakeAgent();
  const queries: string[] = [];
  const reads: string[] = [];
  const resolve = async (name: string, rrtype: string) => {
    queries.push(`${rrtype} ${name}`);
    const record = rrtype === "TXT" ? RECORDS[name.toLowerCase()] : undefined;
    if (record === undefined) throw Object.assign(new Error(`${name} not found`), { code: "ENOTFOUND" });
    return [[record]];
  };
  const trust = createInboundTrust({
    hostname: HOST,
    blobs: {
      readBlob: (id) => {
        reads.push(id);
        return Readable.from([agent.bodies.get(id) ?? Buffer.alloc(0)]);
      },
      createBlobWriter: () => agent.createBlobWriter(),
    },
    resolve,
    policy: { enforceDmarc: true, trustedArcSealers: [] },
    logger: pino({ level: "silent" }),
  });
  const h = harness({ agent, trust, remoteAddress: CLIENT, config: testConfig({ maxMessageSize }) });
  const keyQueries = () => queries.filter((query) => query === "TXT s1._domainkey.good.test").length;
  // The resolver here caches nothing: the first query is the one made ahead when the header section
  // ends, a second one mailauth's own, after the final dot.
  const keyAsked = () => keyQueries() > 1;
  return { ...h, agent, keyAsked, keyQueries, reads, queries };
}

type Session = ReturnType<typeof mx>;

async function envelope(h: Session, from = "alice@good.test"): Promise<void> {
  assert.deepEqual(codes(await h.send("EHLO client.good.test\r\n")), ["250"]);
  assert.deepEqual(codes(await h.send(`MAIL FROM:<${from}>\r\nRCPT TO:<dana@example.org>\r\n`)), [
    "250",
    "250",
  ]);
}

/** Sends `bytes` in pieces of `size` octets, each its own receive() as separate socket reads are. */
async function trickle(h: Session, bytes: Buffer, size: number): Promise<string> {
  let replies = "";
  for (let at = 0; at < bytes.length; at += size) replies += await h.send(bytes.subarray(at, at + size));
  return replies;
}

/**
 * The stored message split at our Authentication-Results field, which must be the one field between
 * the trace fields the session wrote (Return-Path, Received naming the stored id) and the message.
 */
function stored(h: Session): { trace: string; field: string; message: string } {
  assert.equal(h.agent.commits.length, 1);
  const id = h.agent.commits[0]!.blob.id;
  const text = h.agent.bodies.get(id)?.toString("latin1") ?? "";
  const at = text.indexOf(`Authentication-Results: ${HOST};`);
  assert.ok(at > 0, text);
  const trace = text.slice(0, at);
  assert.match(trace, /^Return-Path: <alice@good\.test>\r\nReceived: from client\.good\.test /);
  assert.ok(trace.includes(`id ${id}`), trace);
  const end = text.slice(at).search(/\r\n(?![ \t])/) + at + 2;
  return { trace, field: text.slice(at, end).replace(/\r\n[ \t]+/g, " "), message: text.slice(end) };
}

describe("inbound authentication while the body streams", () => {
  test("DATA in 7-octet reads: DKIM, SPF and DMARC pass; trace, one field, then the message as sent", async () => {
    const h = mx();
    await envelope(h);
    const raw = await signed("hello\r\n..a line that starts with a dot\r\n");
    assert.deepEqual(codes(await h.send("DATA\r\n")), ["354"]);
    // The dot-stuffing (RFC 5321 §4.5.2) is undone before the octets reach the verification.
    const wire = Buffer.from(`${raw.replace(/^\./gm, "..")}.\r\n`, "latin1");
    assert.deepEqual(codes(await trickle(h, wire, 7)), ["250"]);
    const { field, message } = stored(h);
    assert.equal(message, raw);
    assert.match(field, /dkim=pass[^;]*header\.i=@good\.test/);
    assert.match(field, /spf=pass[^;]*smtp\.mailfrom=alice@good\.test/);
    assert.match(field, /dmarc=pass[^;]*header\.from=good\.test/);
    // Held while it streamed, then written once with its result: no scratch blob, nothing read back.
    assert.equal(h.agent.commits[0]!.blob.id, "msg1");
    assert.deepEqual(h.agent.aborted, []);
    assert.deepEqual(h.reads, []);
  });

  test("the key and the DMARC record are asked for once the header section is in, before the final dot", async () => {
    const h = mx();
    await envelope(h);
    const raw = await signed(LINE.repeat(20));
    const body = raw.indexOf("\r\n\r\n") + 4;
    assert.deepEqual(codes(await h.send(`DATA\r\n${raw.slice(0, body - 1)}`)), ["354"]);
    await turn();
    assert.equal(h.keyQueries(), 0, "asked before the header section ended");
    assert.deepEqual(codes(await h.send(raw.slice(body - 1, body + 100))), []);
    await turn();
    assert.equal(h.keyQueries(), 1);
    assert.ok(h.queries.includes("TXT _dmarc.good.test"), h.queries.join("\n"));
    assert.deepEqual(codes(await h.send(`${raw.slice(body + 100)}.\r\n`)), ["250"]);
    assert.match(stored(h).field, /dkim=pass/);
  });

  test("lookupNames: every signature's key record and each From: domain's DMARC record", () => {
    const header =
      "DKIM-Signature: v=1; a=rsa-sha256; d=Lists.Example;\r\n\ts=2026 ; h=from; bh=x; b=y\r\n" +
      "dkim-signature: v=1; d=good.test; s=s1; b=z\r\n" +
      "DKIM-Signature: v=1; b=no-domain-or-selector\r\n" +
      'From: "A" <alice@Good.Test>, bob@other.test\r\nSubject: d=x; s=y\r\n\r\n';
    assert.deepEqual(lookupNames(header), [
      "2026._domainkey.Lists.Example",
      "s1._domainkey.good.test",
      "_dmarc.good.test",
      "_dmarc.other.test",
    ]);
    const many = Array.from({ length: 20 }, (_, i) => `DKIM-Signature: d=d${i}.test; s=s\r\n`).join("");
    assert.equal(lookupNames(`${many}\r\n`).length, 8);
  });

  test("BDAT in three chunks, split inside the header section: DKIM passes", async () => {
    const h = mx();
    await envelope(h);
    const raw = Buffer.from(await signed("chunked\r\n"), "latin1");
    const cuts = [0, 40, 300, raw.length];
    let replies = "";
    for (let i = 0; i < 3; i += 1) {
      const piece = raw.subarray(cuts[i], cuts[i + 1]);
      replies += await h.send(
        Buffer.concat([Buffer.from(`BDAT ${piece.length}${i === 2 ? " LAST" : ""}\r\n`), piece]),
      );
    }
    assert.deepEqual(codes(replies), ["250", "250", "250"]);
    const { field, message } = stored(h);
    assert.equal(message, raw.toString("latin1"));
    assert.match(field, /dkim=pass/);
  });

  test("a message of several megabytes goes through a scratch blob; backpressure loses nothing", async () => {
    const h = mx(8 * 1024 * 1024);
    await envelope(h);
    const raw = await signed(LINE.repeat(Math.ceil((3 * 1024 * 1024) / LINE.length)));
    assert.deepEqual(codes(await h.send("DATA\r\n")), ["354"]);
    assert.deepEqual(codes(await trickle(h, Buffer.from(`${raw}.\r\n`, "latin1"), 64 * 1024)), ["250"]);
    const { field, message } = stored(h);
    assert.equal(message, raw);
    assert.match(field, /dkim=pass/);
    // Delivered under the id its trace fields name; the scratch copy was read once and removed.
    assert.equal(h.agent.commits[0]!.blob.id, "msg1");
    assert.deepEqual(h.reads, ["msg2"]);
    assert.deepEqual(h.agent.aborted, ["msg2"]);
  });

  test("one octet past the held limit spills to the scratch blob; at the limit it does not", async () => {
    for (const extra of [0, 1]) {
      const h = mx(1024 * 1024);
      await envelope(h);
      const base = await signed("");
      const padded = await signed(`${"z".repeat(HELD_MESSAGE_LIMIT - base.length - 2 + extra)}\r\n`);
      assert.equal(padded.length, HELD_MESSAGE_LIMIT + extra);
      assert.deepEqual(codes(await h.send(`BDAT ${padded.length} LAST\r\n${padded}`)), ["250"]);
      assert.equal(stored(h).message, padded);
      assert.deepEqual(h.agent.aborted, extra === 0 ? [] : ["msg2"]);
    }
  });

  test("a body changed after signing fails: the body hash does not verify", async () => {
    const h = mx();
    await envelope(h);
    const raw = (await signed("the original text\r\n")).replace("original", "altered");
    assert.deepEqual(codes(await h.send(`DATA\r\n${raw}.\r\n`)), ["354", "250"]);
    const { field, message } = stored(h);
    assert.equal(message, raw);
    assert.match(field, /dkim=neutral \(body hash did not verify\)[^;]*header\.i=@good\.test/);
    assert.doesNotMatch(field, /dkim=pass/);
  });

  test("a connection dropped in the middle of DATA: the blobs are gone, mailauth never asks for the key", async () => {
    for (const lines of [1, 2000]) {
      const h = mx(1024 * 1024);
      await envelope(h);
      const raw = await signed(LINE.repeat(lines));
      assert.deepEqual(codes(await h.send(`DATA\r\n${raw.slice(0, raw.length - 10)}`)), ["354"]);
      await h.session.dispose();
      await turn();
      assert.deepEqual(h.agent.commits, []);
      assert.deepEqual([...h.agent.bodies.keys()], []);
      assert.deepEqual(h.agent.aborted.sort(), lines === 1 ? ["msg1"] : ["msg1", "msg2"]);
      assert.ok(!h.keyAsked(), "the verification went on after the transaction ended");
    }
  });

  test("refused by the sender's DMARC policy: 550, held or spilled, and no blob is kept", async () => {
    for (const lines of [1, 2000]) {
      const h = mx(1024 * 1024);
      await envelope(h, "ceo@strict.test");
      const raw = `From: <ceo@strict.test>\r\nTo: <dana@example.org>\r\nSubject: forged\r\n\r\n${LINE.repeat(lines)}`;
      const replies = await h.send(`DATA\r\n${raw}.\r\n`);
      assert.deepEqual(codes(replies), ["354", "550"], replies);
      assert.deepEqual(h.agent.commits, []);
      assert.deepEqual([...h.agent.bodies.keys()], []);
    }
  });

  test("RSET after a BDAT chunk ends that verification; the next message on the session verifies alone", async () => {
    const h = mx();
    await envelope(h);
    const first = await signed("first\r\n");
    assert.deepEqual(codes(await h.send(`BDAT 100\r\n${first.slice(0, 100)}RSET\r\n`)), ["250", "250"]);
    assert.deepEqual(h.agent.aborted, ["msg1"]);
    assert.ok(!h.keyAsked());
    await envelope(h);
    const second = await signed("second\r\n");
    assert.deepEqual(codes(await h.send(`BDAT ${second.length} LAST\r\n${second}`)), ["250"]);
    const { field, message } = stored(h);
    assert.equal(message, second);
    assert.match(field, /dkim=pass/);
  });

  test("a message over the size limit is refused with 552, over DATA and over BDAT, and nothing is kept", async () => {
    for (const over of ["data", "bdat"] as const) {
      const h = mx(2_000);
      await envelope(h);
      const raw = await signed(`${"y".repeat(70)}\r\n`.repeat(40));
      const replies =
        over === "data"
          ? await h.send(`DATA\r\n${raw}.\r\n`)
          : await h.send(
              `BDAT 1500\r\n${raw.slice(0, 1500)}BDAT ${raw.length - 1500} LAST\r\n${raw.slice(1500)}`,
            );
      assert.equal(codes(replies).at(-1), "552", replies);
      await turn();
      assert.deepEqual(h.agent.commits, []);
      assert.deepEqual([...h.agent.bodies.keys()], []);
      assert.ok(!h.keyAsked(), over);
    }
  });

  test("the store failing mid-body (scratch) or at the end (held): 451, nothing kept, the next message verifies", async () => {
    for (const when of ["mid-body", "at the end"] as const) {
      const h = mx(1024 * 1024);
      await envelope(h);
      const raw = await signed(LINE.repeat(when === "mid-body" ? 2000 : 10));
      assert.deepEqual(codes(await h.send(`DATA\r\n${raw.slice(0, raw.length - 1000)}`)), ["354"]);
      h.agent.writeError = new Error("disk on fire");
      assert.deepEqual(codes(await h.send(`${raw.slice(raw.length - 1000)}.\r\n`)), ["451"]);
      assert.deepEqual(h.agent.commits, []);
      assert.deepEqual([...h.agent.bodies.keys()], []);
      // A store failing before the end stops the verification with it.
      if (when === "mid-body") assert.ok(!h.keyAsked());
      h.agent.writeError = null;
      await envelope(h);
      assert.deepEqual(codes(await h.send(`DATA\r\n${raw}.\r\n`)), ["354", "250"]);
      assert.match(stored(h).field, /dkim=pass/);
    }
  });
});
