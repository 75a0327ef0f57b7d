import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isValidHeloName, parsePath } from "../../src/smtp/protocol/address.js";
import { findForbiddenByte, parseCommandLine } from "../../src/smtp/protocol/command.js";
import { decodeXtext, mailParameters, parseParams, rcptParameters } from "../../src/smtp/protocol/params.js";
import { formatReply, reply } from "../../src/smtp/protocol/reply.js";
import { addressLiteral, receivedHeader, withProtocol } from "../../src/smtp/protocol/trace.js";

const strict = { utf8: false, allowBare: false };

describe("formatReply", () => {
  test("single line with enhanced code", () => {
    assert.equal(formatReply(reply(250, "2.1.0", "Sender ok")), "250 2.1.0 Sender ok\r\n");
  });
  test("multi-line uses '-' on all but the last line", () => {
    assert.equal(formatReply(reply(250, null, ["a", "b", "c"])), "250-a\r\n250-b\r\n250 c\r\n");
  });
  test("enhanced code on every line; control characters cannot break framing", () => {
    assert.equal(formatReply(reply(214, "2.0.0", ["x\r\ny", "z"])), "214-2.0.0 x  y\r\n214 2.0.0 z\r\n");
  });
});

describe("parseCommandLine", () => {
  test("verbs are case-insensitive and args are kept", () => {
    assert.deepEqual(parseCommandLine("mail FROM:<a@b>"), { verb: "MAIL", args: "FROM:<a@b>" });
    assert.deepEqual(parseCommandLine("QUIT"), { verb: "QUIT", args: "" });
  });
  test("a non-word verb is empty", () => {
    assert.equal(parseCommandLine("12 x").verb, "");
    assert.equal(parseCommandLine("").verb, "");
  });
  test("forbidden bytes", () => {
    assert.equal(findForbiddenByte(Buffer.from("NOOP"), false), null);
    assert.equal(findForbiddenByte(Buffer.from("NO\0OP"), true), 0);
    assert.equal(findForbiddenByte(Buffer.from("RCPT TO:<é@x>"), false), 0xc3);
    assert.equal(findForbiddenByte(Buffer.from("RCPT TO:<é@x>"), true), null);
  });
});

describe("parsePath", () => {
  test("plain mailbox with parameters after it", () => {
    const result = parsePath("<User@Example.ORG> SIZE=10", strict);
    assert.ok(result.ok);
    assert.equal(result.mailbox?.address, "User@Example.ORG");
    assert.equal(result.mailbox?.routingAddress, "User@example.org");
    assert.equal(result.rest, "SIZE=10");
  });
  test("null path and postmaster", () => {
    const empty = parsePath("<>", strict);
    assert.ok(empty.ok && empty.mailbox === null && !empty.postmaster);
    const postmaster = parsePath("<PostMaster>", strict);
    assert.ok(postmaster.ok && postmaster.postmaster);
  });
  test("quoted local part with escapes", () => {
    const result = parsePath('<"john \\"jr\\" doe"@example.org>', strict);
    assert.ok(result.ok);
    assert.equal(result.mailbox?.localPart, '"john \\"jr\\" doe"');
  });
  test("address literals, IPv4 and IPv6", () => {
    const v4 = parsePath("<a@[192.0.2.1]>", strict);
    assert.ok(v4.ok && v4.mailbox?.routingDomain === "[192.0.2.1]");
    const v6 = parsePath("<a@[IPv6:2001:db8::1]>", strict);
    assert.ok(v6.ok && v6.mailbox?.domain === "[IPv6:2001:db8::1]");
    assert.equal(parsePath("<a@[300.1.1.1]>", strict).ok, false);
    assert.equal(parsePath("<a@[IPv6:zz::1]>", strict).ok, false);
  });
  test("source routes are accepted and ignored", () => {
    const result = parsePath("<@relay1.example,@relay2.example:user@example.org>", strict);
    assert.ok(result.ok);
    assert.equal(result.mailbox?.address, "user@example.org");
  });
  test("UTF-8 only with SMTPUTF8; IDN domains get an A-label routing key", () => {
    assert.equal(parsePath("<jürgen@bücher.example>", strict).ok, false);
    const result = parsePath("<jürgen@Bücher.example>", { utf8: true, allowBare: false });
    assert.ok(result.ok);
    assert.equal(result.mailbox?.routingDomain, "xn--bcher-kva.example");
    assert.equal(result.mailbox?.address, "jürgen@Bücher.example");
  });
  test("bare addresses only when allowed", () => {
    assert.equal(parsePath("user@example.org", strict).ok, false);
    const bare = parsePath("user@example.org SIZE=1", { utf8: false, allowBare: true });
    assert.ok(bare.ok && bare.mailbox?.address === "user@example.org" && bare.rest === "SIZE=1");
  });
  test("syntax errors", () => {
    for (const bad of [
      "<user>",
      "<@example.org>",
      "<a..b@example.org>",
      "<.a@example.org>",
      "<a@-example.org>",
      "<a@example-.org>",
      "<a@example..org>",
      "<a@example.org",
      "<a@example.org>x",
      "<a b@example.org>",
      '<"unterminated@example.org>',
    ]) {
      assert.equal(parsePath(bad, strict).ok, false, bad);
    }
  });
  test("length limits of RFC 5321 §4.5.3.1", () => {
    assert.equal(parsePath(`<${"a".repeat(64)}@example.org>`, strict).ok, true);
    assert.equal(parsePath(`<${"a".repeat(65)}@example.org>`, strict).ok, false);
    const longDomain = `${Array.from({ length: 5 }, () => "d".repeat(60)).join(".")}.org`;
    assert.equal(parsePath(`<a@${longDomain}>`, strict).ok, false);
  });
});

describe("EHLO names", () => {
  test("domains and literals pass, junk fails", () => {
    assert.ok(isValidHeloName("client.example.org"));
    assert.ok(isValidHeloName("my_pc"));
    assert.ok(isValidHeloName("[192.0.2.1]"));
    assert.ok(isValidHeloName("[IPv6:::1]"));
    assert.equal(isValidHeloName(""), false);
    assert.equal(isValidHeloName("a b"), false);
    assert.equal(isValidHeloName("evil(comment)"), false);
    assert.equal(isValidHeloName("[1.2.3]"), false);
  });
});

describe("ESMTP parameters", () => {
  test("parseParams splits keywords and values, rejects duplicates", () => {
    const result = parseParams("size=100  BODY=8BITMIME SMTPUTF8");
    assert.ok(result.ok);
    assert.deepEqual(result.value, [
      { keyword: "SIZE", value: "100" },
      { keyword: "BODY", value: "8BITMIME" },
      { keyword: "SMTPUTF8", value: null },
    ]);
    const duplicate = parseParams("SIZE=1 SIZE=2");
    assert.ok(!duplicate.ok && duplicate.reply.code === 501);
    assert.equal(parseParams("-X=1").ok, false);
    assert.equal(parseParams("X=a=b").ok, false);
  });
  test("xtext decoding (RFC 3461 §4)", () => {
    assert.equal(decodeXtext("user+40example.org"), "user@example.org");
    assert.equal(decodeXtext("a+2Bb"), "a+b");
    assert.equal(decodeXtext("a+2b"), null);
    assert.equal(decodeXtext("a+4"), null);
    assert.equal(decodeXtext("a=b"), null);
  });
  test("MAIL parameters", () => {
    const parsed = parseParams("SIZE=500 BODY=binarymime SMTPUTF8 RET=HDRS ENVID=abc+2Bd AUTH=<>");
    assert.ok(parsed.ok);
    const ok = mailParameters(parsed.value, 1000);
    assert.ok(ok.ok);
    assert.deepEqual(ok.value, {
      size: 500,
      body: "BINARYMIME",
      smtputf8: true,
      dsn: { ret: "HDRS", envid: "abc+d" },
      holdUntil: null,
    });
    const big = mailParameters([{ keyword: "SIZE", value: "1001" }], 1000);
    assert.ok(!big.ok && big.reply.code === 552 && big.reply.enhanced === "5.3.4");
    const unknown = mailParameters([{ keyword: "XFOO", value: null }], 1000);
    assert.ok(!unknown.ok && unknown.reply.code === 555 && unknown.reply.enhanced === "5.5.4");
    const rcptOnly = mailParameters([{ keyword: "NOTIFY", value: "NEVER" }], 1000);
    assert.ok(!rcptOnly.ok && rcptOnly.reply.code === 555);
    for (const bad of [
      { keyword: "SIZE", value: "x" },
      { keyword: "BODY", value: "9BIT" },
      { keyword: "SMTPUTF8", value: "1" },
      { keyword: "RET", value: "ALL" },
      { keyword: "ENVID", value: "a".repeat(101) },
    ]) {
      const result = mailParameters([bad], 1000);
      assert.ok(!result.ok && result.reply.code === 501, bad.keyword);
    }
  });
  test("RCPT parameters", () => {
    const ok = rcptParameters([
      { keyword: "NOTIFY", value: "success,DELAY" },
      { keyword: "ORCPT", value: "rfc822;bob+40example.org" },
    ]);
    assert.ok(ok.ok);
    assert.deepEqual(ok.value, { notify: ["SUCCESS", "DELAY"], orcpt: "rfc822;bob@example.org" });
    const none = rcptParameters([]);
    assert.ok(none.ok && none.value === null);
    for (const notify of ["NEVER,SUCCESS", "SUCCESS,SUCCESS", "SOMETIMES", ""]) {
      assert.equal(rcptParameters([{ keyword: "NOTIFY", value: notify }]).ok, false, notify);
    }
    assert.equal(rcptParameters([{ keyword: "ORCPT", value: "bob@example.org" }]).ok, false);
    const unknown = rcptParameters([{ keyword: "SIZE", value: "1" }]);
    assert.ok(!unknown.ok && unknown.reply.code === 555);
  });
});

describe("trace headers", () => {
  test("with-protocol keywords (RFC 3848, RFC 6531)", () => {
    assert.equal(withProtocol({ esmtp: false, utf8: false, tls: true, authenticated: true }), "SMTP");
    assert.equal(withProtocol({ esmtp: true, utf8: false, tls: false, authenticated: false }), "ESMTP");
    assert.equal(withProtocol({ esmtp: true, utf8: false, tls: true, authenticated: true }), "ESMTPSA");
    assert.equal(withProtocol({ esmtp: true, utf8: true, tls: true, authenticated: false }), "UTF8SMTPS");
  });
  test("address literals for client IPs", () => {
    assert.equal(addressLiteral("192.0.2.1"), "[192.0.2.1]");
    assert.equal(addressLiteral("::ffff:192.0.2.1"), "[192.0.2.1]");
    assert.equal(addressLiteral("2001:db8::1"), "[IPv6:2001:db8::1]");
  });
  test("Received header", () => {
    const header = receivedHeader({
      heloName: "client.example",
      remoteAddress: "192.0.2.1",
      hostname: "mx.example.org",
      protocol: "ESMTPS",
      tls: { protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" },
      id: "abc",
      recipient: "bob@example.org",
      date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
    assert.equal(
      header,
      "Received: from client.example ([192.0.2.1])\r\n\tby mx.example.org (mailroom) with ESMTPS\r\n" +
        "\t(TLSv1.3 cipher TLS_AES_256_GCM_SHA384)\r\n\tid abc\r\n\tfor <bob@example.org>; Tue, 02 Jan 2024 03:04:05 +0000\r\n",
    );
  });
});
