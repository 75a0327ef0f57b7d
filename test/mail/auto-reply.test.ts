import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildAutoReply, noReplyReason, type ReplyCheck, vacationActive } from "../../src/mail/auto-reply.js";
import { headerFields, splitMessage } from "../../src/mail/compose.js";

const now = new Date("2026-12-03T12:00:00Z");

function check(overrides: Partial<ReplyCheck> = {}): ReplyCheck {
  return {
    envelopeSender: "bob@example.net",
    fields: [
      ["From", "Bob <bob@example.net>"],
      ["To", "Alice <alice@example.org>"],
      ["Subject", "Lunch"],
    ],
    userAddresses: ["alice@example.org"],
    ...overrides,
  };
}

const withField = (name: string, value: string) => check({ fields: [...check().fields, [name, value]] });

describe("noReplyReason (RFC 3834)", () => {
  it("allows a plain personal message", () => assert.equal(noReplyReason(check()), null));

  it("never answers the null return path", () => {
    assert.equal(noReplyReason(check({ envelopeSender: "" })), "null-sender");
    assert.equal(noReplyReason(check({ envelopeSender: "<>" })), "null-sender");
  });

  it("never answers automatic mail, but does answer Auto-Submitted: no", () => {
    assert.equal(noReplyReason(withField("Auto-Submitted", "auto-generated")), "auto-submitted");
    assert.equal(
      noReplyReason(withField("auto-submitted", "auto-replied; owner-email=x@y")),
      "auto-submitted",
    );
    assert.equal(noReplyReason(withField("Auto-Submitted", "No")), null);
  });

  it("never answers list mail", () => {
    assert.equal(noReplyReason(withField("List-Id", "<dev.example.net>")), "mailing-list");
    assert.equal(noReplyReason(withField("List-Unsubscribe", "<mailto:u@example.net>")), "mailing-list");
  });

  it("never answers Precedence bulk, list or junk", () => {
    for (const value of ["bulk", "List", "junk"]) {
      assert.equal(noReplyReason(withField("Precedence", value)), "precedence");
    }
    assert.equal(noReplyReason(withField("Precedence", "first-class")), null);
  });

  it("never answers daemons and list managers", () => {
    for (const sender of ["MAILER-DAEMON@example.net", "owner-dev@example.net", "dev-request@example.net"]) {
      assert.equal(noReplyReason(check({ envelopeSender: sender })), "system-sender", sender);
    }
  });

  it("answers only when the user is in To or Cc", () => {
    const bcc = check({ fields: [["To", "carol@example.net"]] });
    assert.equal(noReplyReason(bcc), "not-addressed");
    const cc = check({
      fields: [
        ["To", "carol@example.net"],
        ["Cc", "x@y.z, ALICE@example.org"],
      ],
    });
    assert.equal(noReplyReason(cc), null);
    const alias = check({
      fields: [["To", "a@example.org"]],
      userAddresses: ["alice@example.org", "a@example.org"],
    });
    assert.equal(noReplyReason(alias), null);
  });

  it("never answers the user's own address", () => {
    assert.equal(noReplyReason(check({ envelopeSender: "Alice@Example.org" })), "own-address");
  });
});

describe("vacationActive", () => {
  const base = {
    isEnabled: true,
    fromDate: null,
    toDate: null,
    subject: null,
    textBody: "away",
    htmlBody: null,
  };
  it("follows isEnabled and the [fromDate, toDate) window", () => {
    assert.equal(vacationActive(base, now), true);
    assert.equal(vacationActive({ ...base, isEnabled: false }, now), false);
    assert.equal(vacationActive({ ...base, fromDate: new Date(now.getTime() + 1) }, now), false);
    assert.equal(vacationActive({ ...base, fromDate: now }, now), true);
    assert.equal(vacationActive({ ...base, toDate: now }, now), false);
  });
});

describe("buildAutoReply", () => {
  const fields = [
    ["From", "bob@example.net"],
    ["Subject", "Lunch"],
    ["Message-ID", "<m2@example.net>"],
    ["References", "<m1@example.net>"],
  ] as const;

  async function reply(setting: {
    subject: string | null;
    textBody: string | null;
    htmlBody: string | null;
  }) {
    const message = await buildAutoReply({
      from: "alice@example.org",
      to: "bob@example.net",
      fields,
      setting,
      now,
    });
    const { header, body } = splitMessage(message);
    const map = new Map(headerFields(header).map(([name, value]) => [name.toLowerCase(), value]));
    return { map, body: body.toString("latin1"), raw: message.toString("latin1") };
  }

  it("marks, threads and addresses the reply", async () => {
    const { map, body, raw } = await reply({ subject: null, textBody: "I am away.", htmlBody: null });
    assert.equal(map.get("auto-submitted"), "auto-replied");
    assert.equal(map.get("in-reply-to"), "<m2@example.net>");
    assert.equal(map.get("references"), "<m1@example.net> <m2@example.net>");
    assert.equal(map.get("subject"), "Re: Lunch");
    assert.equal(map.get("from"), "alice@example.org");
    assert.equal(map.get("to"), "bob@example.net");
    assert.match(map.get("message-id") ?? "", /@example\.org>$/);
    assert.match(body, /I am away\./);
    assert.doesNotMatch(raw, /[^\r]\n/);
  });

  it("has a default body when neither is set (RFC 8621 §8.1)", async () => {
    const { body } = await reply({ subject: null, textBody: null, htmlBody: null });
    assert.match(body, /This is an automatic reply: I am away/);
  });

  it("uses the set subject and an HTML body", async () => {
    const { map, raw } = await reply({ subject: "Out of office", textBody: null, htmlBody: "<p>Away</p>" });
    assert.equal(map.get("subject"), "Out of office");
    assert.match(raw, /text\/html/);
    assert.match(raw, /<p>Away<\/p>/);
  });
});
