// The webmail's drafts as data: address fields split and written back, reply and reply-all recipients
// without the user's own address, quoting, In-Reply-To and References (RFC 5322 §3.6.4), "Re:"/"Fwd:"
// once only, a forward carrying the attachments, and the Email/set object a draft becomes; addresses
// written out parse back to themselves (fast-check).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  emailObject,
  envelopeOf,
  formatAddresses,
  forwardAsAttachmentDraft,
  forwardDraft,
  newDraft,
  parseAddresses,
  replyDraft,
  resumedDraft,
  withSignature,
} from "../../web/src/draft.js";
import type { EmailFull, Identity } from "../../web/src/jmap.js";

const alice: Identity = {
  id: "Ialice",
  name: "Alice",
  email: "alice@example.org",
  textSignature: "",
  mayDelete: false,
};

function email(fields: Partial<EmailFull>): EmailFull {
  return {
    id: "E1",
    blobId: "B1",
    threadId: "T1",
    from: [{ name: "Bob", email: "bob@example.net" }],
    to: [{ name: null, email: "Alice@example.org" }],
    cc: null,
    bcc: null,
    replyTo: null,
    subject: "Plans",
    preview: "",
    receivedAt: "2026-01-02T03:04:05Z",
    sentAt: "2026-01-02T03:04:00Z",
    keywords: {},
    mailboxIds: {},
    messageId: ["m2@example.net"],
    inReplyTo: ["m1@example.net"],
    references: ["m0@example.net", "m1@example.net"],
    htmlBody: [],
    textBody: [{ partId: "1", blobId: "B1_1", type: "text/plain", name: null, size: 20 }],
    attachments: [],
    bodyValues: { "1": { value: "Shall we?\n> earlier\n" } },
    size: 321,
    ...fields,
  };
}

describe("webmail drafts", () => {
  test("address fields: names with commas quoted, both separators, bare addresses", () => {
    assert.deepEqual(parseAddresses('"Doe, Jane" <jane@example.org>; bob@example.net,, Carl <c@x.org> '), [
      { name: "Doe, Jane", email: "jane@example.org" },
      { name: null, email: "bob@example.net" },
      { name: "Carl", email: "c@x.org" },
    ]);
    assert.equal(
      formatAddresses([
        { name: "Doe, Jane", email: "jane@example.org" },
        { name: null, email: "b@x.org" },
      ]),
      '"Doe, Jane" <jane@example.org>, b@x.org',
    );
  });

  test("addresses written out parse back to themselves", () => {
    const name = fc.option(
      fc
        .string({ minLength: 1 })
        .map((s) => s.trim())
        .filter((s) => s !== "" && !/[<>\n]/.test(s)),
      { nil: null },
    );
    const address = fc.record({ name, email: fc.emailAddress() });
    fc.assert(
      fc.property(fc.array(address, { maxLength: 4 }), (list) => {
        assert.deepEqual(
          parseAddresses(formatAddresses(list)),
          list.map((entry) => ({ ...entry })),
        );
      }),
    );
  });

  test("a reply goes to Reply-To or From, quotes the text and threads by Message-ID", () => {
    const reply = replyDraft(email({}), alice, false);
    assert.equal(reply.to, "Bob <bob@example.net>");
    assert.equal(reply.cc, "");
    assert.equal(reply.subject, "Re: Plans");
    assert.match(reply.body, /^\n\nOn Fri, 02 Jan 2026 03:04:00 GMT, Bob wrote:\n> Shall we\?\n>> earlier$/);
    assert.deepEqual(reply.inReplyTo, ["m2@example.net"]);
    assert.deepEqual(reply.references, ["m0@example.net", "m1@example.net", "m2@example.net"]);
    const toList = replyDraft(email({ replyTo: [{ name: null, email: "list@example.net" }] }), alice, false);
    assert.equal(toList.to, "list@example.net");
    assert.equal(replyDraft(email({ subject: "RE: Plans" }), alice, false).subject, "RE: Plans");
  });

  test("reply all adds the other To and Cc addresses, never the user's own nor the sender twice", () => {
    const all = replyDraft(
      email({
        to: [
          { name: null, email: "ALICE@example.org" },
          { name: "Carol", email: "carol@example.net" },
        ],
        cc: [
          { name: null, email: "bob@example.net" },
          { name: null, email: "dave@example.net" },
        ],
      }),
      alice,
      true,
    );
    assert.equal(all.to, "Bob <bob@example.net>");
    assert.equal(all.cc, "Carol <carol@example.net>, dave@example.net");
  });

  test("a forward carries the message inline and its attachments; no threading headers", () => {
    const attachment = { partId: "2", blobId: "B1_2", type: "application/pdf", name: "a.pdf", size: 9 };
    const forward = forwardDraft(email({ attachments: [attachment] }), alice);
    assert.equal(forward.subject, "Fwd: Plans");
    assert.equal(forward.to, "");
    assert.match(forward.body, /Forwarded message[\s\S]*From: Bob <bob@example\.net>[\s\S]*Shall we\?/);
    assert.deepEqual(forward.attachments, [
      { blobId: "B1_2", name: "a.pdf", type: "application/pdf", size: 9 },
    ]);
    assert.equal(forward.inReplyTo, null);
    assert.equal(
      forwardDraft(email({ subject: "fwd: Plans" }), { ...alice, textSignature: "A." }).subject,
      "fwd: Plans",
    );
  });

  test("a rich forward carries the original's own markup below the summary, the signature above it", () => {
    const html = email({
      htmlBody: [{ partId: "2", blobId: "B1_2", type: "text/html", name: null, size: 30 }],
      bodyValues: { "1": { value: "Shall we?" }, "2": { value: "<p>Shall <b>we</b>?</p>" } },
    });
    const forward = forwardDraft(html, { ...alice, textSignature: "A & B" });
    assert.match(
      forward.html ?? "",
      /^<div><br><\/div><div data-signature=""><div><br><\/div><div>-- <\/div><div>A &amp; B<\/div><\/div>/,
    );
    assert.match(
      forward.html ?? "",
      /<div>---------- Forwarded message ----------<br>From: Bob &lt;bob@example\.net&gt;<br>[\s\S]*<\/div><div><br><\/div><p>Shall <b>we<\/b>\?<\/p>$/,
    );
    // A plain original goes along line for line, escaped; without a signature there is no block.
    const plain = forwardDraft(email({ bodyValues: { "1": { value: "a < b\nc\n" } } }), alice);
    assert.doesNotMatch(plain.html ?? "", /data-signature/);
    assert.match(plain.html ?? "", /<div>a &lt; b<br>c<\/div>$/);
  });

  test("a forward as attachment carries the whole message as message/rfc822, named after its subject", () => {
    const forward = forwardAsAttachmentDraft(email({ subject: 'Plans: "Q1"/Q2' }), {
      ...alice,
      textSignature: "A.",
    });
    assert.equal(forward.subject, 'Fwd: Plans: "Q1"/Q2');
    assert.equal(forward.body, "\n\n-- \nA.");
    assert.deepEqual(forward.attachments, [
      { blobId: "B1", name: "Plans Q1 Q2.eml", type: "message/rfc822", size: 321 },
    ]);
    assert.equal(forward.inReplyTo, null);
    assert.equal(
      forwardAsAttachmentDraft(email({ subject: null }), alice).attachments[0]?.name,
      "message.eml",
    );
  });

  test("a draft becomes an Email/set object in Drafts with $draft, and opens again as itself", () => {
    const reply = replyDraft(email({}), alice, false);
    // Written in plain text: compose drops the rich version of the reply.
    const object = emailObject({ ...reply, html: null, bcc: "hidden@example.net" }, alice, "M3");
    assert.deepEqual(object.mailboxIds, { M3: true });
    assert.deepEqual(object.keywords, { $draft: true, $seen: true });
    assert.deepEqual(object.from, [{ name: "Alice", email: "alice@example.org" }]);
    assert.deepEqual(object.to, [{ name: "Bob", email: "bob@example.net" }]);
    assert.equal(object.cc, null);
    assert.deepEqual(object.bcc, [{ name: null, email: "hidden@example.net" }]);
    assert.deepEqual(object.inReplyTo, ["m2@example.net"]);
    assert.deepEqual(object.bodyValues, { text: { value: reply.body } });

    const other: Identity = { ...alice, id: "S1", name: "Alice at work" };
    const resumed = resumedDraft(
      email({
        from: [{ name: "Alice at work", email: "alice@example.org" }],
        to: [{ name: "Bob", email: "bob@example.net" }],
        bcc: [{ name: null, email: "hidden@example.net" }],
        subject: "Re: Plans",
        bodyValues: { "1": { value: reply.body } },
        inReplyTo: ["m2@example.net"],
      }),
      [alice, other],
    );
    assert.equal(resumed.identityId, "S1");
    assert.equal(resumed.to, "Bob <bob@example.net>");
    assert.equal(resumed.bcc, "hidden@example.net");
    assert.equal(resumed.body, reply.body);
    assert.deepEqual(resumed.inReplyTo, ["m2@example.net"]);
  });

  test("a rich reply quotes the original's HTML in a blockquote, and goes out with both bodies", () => {
    const html = email({
      htmlBody: [{ partId: "2", blobId: "B1_2", type: "text/html", name: null, size: 30 }],
      bodyValues: { "1": { value: "Shall we?" }, "2": { value: "<p>Shall <b>we</b>?</p>" } },
    });
    const reply = replyDraft(html, { ...alice, textSignature: "A & B" }, false);
    assert.match(
      reply.html ?? "",
      /wrote:<\/div><blockquote type="cite"><p>Shall <b>we<\/b>\?<\/p><\/blockquote>/,
    );
    assert.match(
      reply.html ?? "",
      /<\/blockquote><div data-signature=""><div><br><\/div><div>-- <\/div><div>A &amp; B<\/div><\/div>$/,
    );
    // A plain original is quoted line for line, escaped.
    const plain = replyDraft(email({ bodyValues: { "1": { value: "a < b\nc\n" } } }), alice, false);
    assert.match(plain.html ?? "", /<blockquote type="cite"><div>a &lt; b<br>c<\/div><\/blockquote>$/);

    const object = emailObject({ ...reply, body: "hi", html: "<b>hi</b>" }, alice, "M3");
    assert.deepEqual(object.textBody, [{ partId: "text", type: "text/plain" }]);
    assert.deepEqual(object.htmlBody, [{ partId: "html", type: "text/html" }]);
    assert.deepEqual(object.bodyValues, { text: { value: "hi" }, html: { value: "<b>hi</b>" } });
    // Opened again from Drafts, it is rich again.
    assert.equal(resumedDraft(html, [alice]).html, "<p>Shall <b>we</b>?</p>");
    assert.equal(resumedDraft(email({}), [alice]).html, null);
  });

  test("choosing another identity swaps the signature where it still stands", () => {
    const work = { ...alice, id: "S1", textSignature: "Alice\nat work" };
    const home = { ...alice, id: "S2", textSignature: "A." };
    const body = `Hello\n${newDraft(work).body}`;
    assert.equal(body, "Hello\n\n\n-- \nAlice\nat work");
    assert.equal(withSignature(body, work, home), "Hello\n\n\n-- \nA.");
    assert.equal(withSignature(body, work, alice), "Hello\n");
    assert.equal(withSignature("Hello\n\n", alice, home), "Hello\n\n-- \nA.");
    assert.equal(withSignature("signature edited away", work, home), "signature edited away");
  });

  test("the envelope names every recipient once, Bcc included", () => {
    const draft = {
      ...newDraft(alice),
      to: "Bob <bob@example.net>, carol@example.net",
      cc: "BOB@example.net",
      bcc: "hidden@example.net",
    };
    assert.deepEqual(envelopeOf(draft, alice), {
      mailFrom: { email: "alice@example.org" },
      rcptTo: [{ email: "bob@example.net" }, { email: "carol@example.net" }, { email: "hidden@example.net" }],
    });
  });
});
