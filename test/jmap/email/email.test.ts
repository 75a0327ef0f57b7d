// JMAP Email objects (RFC 8621 §4.1) read from messages shaped like real mail: what clients send
// (alternatives, related HTML with inline images, attachments, attached messages), in the charsets and
// encodings they use, and the damage mail picks up on the way.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkProperties, EMAIL_PROPERTIES, parseEmail } from "../../../src/jmap/email/email.js";
import { MethodError } from "../../../src/jmap/errors.js";

function message(...lines: Array<string | Buffer>): Buffer {
  return Buffer.concat(
    lines.flatMap((line) => [
      typeof line === "string" ? Buffer.from(line, "latin1") : line,
      Buffer.from("\r\n"),
    ]),
  );
}

type Part = { size?: unknown; subParts?: unknown };

/** The body part at `path` (indexes into subParts) of a bodyStructure. */
function partAt(root: Part, path: number[]): Part {
  return path.reduce<Part>((part, i) => (part.subParts as Part[])[i] ?? {}, root);
}

const blobs = { partBlobId: (partId: string) => `G1.${partId}` };

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").toString("base64");

const HTML =
  '<html><head><style>p{color:red}</style></head><body><p>Voilà the <b>report</b>,<br>see <img src="cid:chart@laptop"></p></body></html>';

// Thunderbird / Apple Mail shape: mixed( alternative( plain, related( html, image ) ), pdf, message ).
const FULL = message(
  "Return-Path: <joel@example.com>",
  "Received: from mx.example.com by mail.example.org; Tue, 7 Oct 2014 15:59:14 +0200",
  "Received: from laptop by mx.example.com; Tue, 7 Oct 2014 15:59:13 +0200",
  "From: =?UTF-8?Q?Jo=C3=ABl_Dup=C3=A9?= <joel@example.com>",
  "To: Friends: ann@example.org, =?ISO-8859-1?Q?Ren=E9?= <rene@example.org>;, boss@example.org",
  "Cc: undisclosed-recipients:;",
  "Subject: =?UTF-8?B?UmU6IHRoZSDinJMgcmVwb3J0?=",
  "  for Q3",
  "Date: Tue, 7 Oct 2014 15:59:13 +0200",
  "Message-ID: <1234@laptop.example.com>",
  "In-Reply-To: <1000@example.org>",
  "References: <999@example.org>\r\n <1000@example.org>",
  "List-Unsubscribe: <mailto:leave@example.org>, <https://example.org/leave>",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="outer"',
  "",
  "This is a multi-part message in MIME format.",
  "--outer",
  'Content-Type: multipart/alternative; boundary="alt"',
  "",
  "--alt",
  "Content-Type: text/plain; charset=ISO-8859-1; format=flowed",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Voil=E0 the report, see the chart.=",
  "",
  "Jo=EBl",
  "--alt",
  'Content-Type: multipart/related; boundary="rel"',
  "",
  "--rel",
  "Content-Type: text/html; charset=UTF-8",
  "Content-Transfer-Encoding: 8bit",
  "",
  Buffer.from(HTML),
  "--rel",
  "Content-Type: image/png; name=chart.png",
  "Content-ID: <chart@laptop>",
  "Content-Transfer-Encoding: base64",
  "",
  PNG,
  "--rel--",
  "--alt--",
  "--outer",
  "Content-Type: application/pdf",
  "Content-Disposition: attachment; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf",
  "Content-Language: en, fr",
  "Content-Transfer-Encoding: base64",
  "",
  "JVBERi0xLjQK",
  "--outer",
  "Content-Type: message/rfc822",
  "Content-Disposition: attachment",
  "",
  "From: Ann <ann@example.org>",
  "Subject: The original",
  "Content-Type: text/plain; charset=windows-1252",
  "",
  Buffer.from([0x93, 0x51, 0x33, 0x94, 0x20, 0x63, 0x6f, 0x73, 0x74, 0x73, 0x20, 0x80, 0x35]),
  "--outer--",
  "",
);

describe("a full multipart/mixed message", () => {
  const email = parseEmail(FULL, blobs);

  test("convenience header properties", () => {
    assert.deepEqual(
      email.properties(["from", "to", "cc", "bcc", "sender", "replyTo", "subject", "sentAt"]),
      {
        from: [{ name: "Joël Dupé", email: "joel@example.com" }],
        to: [
          { name: null, email: "ann@example.org" },
          { name: "René", email: "rene@example.org" },
          { name: null, email: "boss@example.org" },
        ],
        cc: [],
        bcc: null,
        sender: null,
        replyTo: null,
        subject: "Re: the ✓ report  for Q3",
        sentAt: "2014-10-07T15:59:13+02:00",
      },
    );
    assert.deepEqual(email.properties(["messageId", "inReplyTo", "references"]), {
      messageId: ["1234@laptop.example.com"],
      inReplyTo: ["1000@example.org"],
      references: ["999@example.org", "1000@example.org"],
    });
  });

  test("header: properties, last instance or :all", () => {
    assert.equal(
      email.header("header:received"),
      " from laptop by mx.example.com; Tue, 7 Oct 2014 15:59:13 +0200",
    );
    assert.equal((email.header("header:Received:all") as string[]).length, 2);
    assert.deepEqual(email.header("header:To:asGroupedAddresses"), [
      {
        name: "Friends",
        addresses: [
          { name: null, email: "ann@example.org" },
          { name: "René", email: "rene@example.org" },
        ],
      },
      { name: null, addresses: [{ name: null, email: "boss@example.org" }] },
    ]);
    assert.deepEqual(email.header("header:List-Unsubscribe:asURLs"), [
      "mailto:leave@example.org",
      "https://example.org/leave",
    ]);
    assert.equal(email.header("header:X-Missing"), null);
    assert.deepEqual(email.header("header:X-Missing:asText:all"), []);
    assert.throws(() => email.header("header:Subject:asAddresses"), MethodError);
  });

  test("headers: every field in order, Raw values", () => {
    const headers = email.headers;
    assert.equal(headers.length, 14);
    assert.deepEqual(headers[0], { name: "Return-Path", value: " <joel@example.com>" });
    assert.deepEqual(headers[6], {
      name: "Subject",
      value: " =?UTF-8?B?UmU6IHRoZSDinJMgcmVwb3J0?=\r\n  for Q3",
    });
  });

  test("bodyStructure: IMAP-style partIds, decoded sizes, names, cids, charsets", () => {
    const structure = email.bodyStructure([
      "partId",
      "blobId",
      "size",
      "type",
      "charset",
      "disposition",
      "cid",
      "name",
    ]);
    const none = { charset: null, disposition: null, cid: null, name: null };
    // A multipart has no blob; its size is that of its body as stored.
    const container = (type: string, path: number[], subParts: object[]) => ({
      partId: null,
      blobId: null,
      size: partAt(structure, path).size,
      type,
      ...none,
      subParts,
    });
    const leaf = (partId: string, size: unknown, type: string, fields: object) => ({
      partId,
      blobId: `G1.${partId}`,
      size,
      type,
      ...none,
      ...fields,
      subParts: null,
    });
    const html = Buffer.byteLength(HTML);
    assert.deepEqual(
      structure,
      container(
        "multipart/mixed",
        [],
        [
          container(
            "multipart/alternative",
            [0],
            [
              leaf("1.1", 38, "text/plain", { charset: "ISO-8859-1" }),
              container(
                "multipart/related",
                [0, 1],
                [
                  leaf("1.2.1", html, "text/html", { charset: "UTF-8" }),
                  leaf("1.2.2", 16, "image/png", { cid: "chart@laptop", name: "chart.png" }),
                ],
              ),
            ],
          ),
          leaf("2", 9, "application/pdf", { disposition: "attachment", name: "Q3 résumé.pdf" }),
          leaf("3", email.partBytes("3")?.length, "message/rfc822", { disposition: "attachment" }),
        ],
      ),
    );
    assert.deepEqual(email.attachments(["language", "location"])[1], {
      language: ["en", "fr"],
      location: null,
    });
  });

  test("textBody, htmlBody and attachments by the RFC 8621 §4.1.4 algorithm", () => {
    assert.deepEqual(ids(email.textBody()), ["1.1"]);
    assert.deepEqual(ids(email.htmlBody()), ["1.2.1"]);
    assert.deepEqual(ids(email.attachments()), ["1.2.2", "2", "3"]);
    assert.equal(email.hasAttachment, true);
    assert.equal("subParts" in (email.textBody()[0] ?? {}), false);
  });

  test("bodyValues per fetch argument, charsets decoded, CRLF as LF", () => {
    assert.deepEqual(email.bodyValues({ fetchTextBodyValues: true }), {
      "1.1": {
        value: "Voilà the report, see the chart.\nJoël",
        isEncodingProblem: false,
        isTruncated: false,
      },
    });
    assert.deepEqual(Object.keys(email.bodyValues({ fetchHTMLBodyValues: true })), ["1.2.1"]);
    assert.deepEqual(
      Object.keys(email.bodyValues({ fetchTextBodyValues: true, fetchHTMLBodyValues: true })),
      ["1.1", "1.2.1"],
    );
    // The attached message is message/rfc822, not text/*: no body value even with fetchAllBodyValues.
    assert.deepEqual(Object.keys(email.bodyValues({ fetchAllBodyValues: true })), ["1.1", "1.2.1"]);
    assert.deepEqual(email.bodyValues(), {});
  });

  test("preview comes from the text body", () => {
    assert.equal(email.preview, "Voilà the report, see the chart. Joël");
  });

  test("part bytes are decoded, and an attached message parses as an Email of its own", () => {
    assert.equal(email.partBytes("2")?.toString("latin1"), "%PDF-1.4\n");
    assert.equal(email.partBytes("1.2.2")?.toString("base64"), PNG);
    assert.equal(email.partBytes("1"), null);
    assert.equal(email.partBytes("9"), null);
    const inner = email.partBytes("3");
    assert.ok(inner !== null);
    const attached = parseEmail(inner, { partBlobId: (p) => `G1.3.${p}` });
    assert.deepEqual(
      attached.properties(["from", "subject", "sentAt", "textBody", "bodyValues"], {
        fetchTextBodyValues: true,
        bodyProperties: ["partId", "blobId", "type", "charset"],
      }),
      {
        from: [{ name: "Ann", email: "ann@example.org" }],
        subject: "The original",
        sentAt: null,
        textBody: [{ partId: "1", blobId: "G1.3.1", type: "text/plain", charset: "windows-1252" }],
        bodyValues: { "1": { value: "“Q3” costs €5", isEncodingProblem: false, isTruncated: false } },
      },
    );
  });

  test("body part header properties and headers", () => {
    const [pdf] = email
      .attachments(["headers", "header:Content-Disposition:asText", "header:Content-Type"])
      .slice(1);
    assert.deepEqual(pdf, {
      headers: [
        { name: "Content-Type", value: " application/pdf" },
        { name: "Content-Disposition", value: " attachment; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf" },
        { name: "Content-Language", value: " en, fr" },
        { name: "Content-Transfer-Encoding", value: " base64" },
      ],
      "header:Content-Disposition:asText": "attachment; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf",
      "header:Content-Type": " application/pdf",
    });
  });
});

type Lines = Array<string | Buffer>;

/** A multipart entity: its Content-Type, then each part between delimiter lines. */
function multipart(subtype: string, boundary: string, ...parts: Lines[]): Lines {
  return [
    `Content-Type: multipart/${subtype}; boundary=${boundary}`,
    "",
    ...parts.flatMap((part) => [`--${boundary}`, ...part]),
    `--${boundary}--`,
  ];
}

const gif = (cid: string): Lines => ["Content-Type: image/gif", `Content-ID: <${cid}>`, "", "GIF89a"];
const ids = (parts: Array<{ partId?: unknown }>) => parts.map((p) => p.partId);

describe("body lists", () => {
  test("inline images between text parts show in both bodies and are no attachment (iOS Mail shape)", () => {
    const email = parseEmail(
      message(
        ...multipart(
          "mixed",
          "b",
          ["Content-Type: text/plain", "", "Look at this:"],
          [
            "Content-Type: image/jpeg; name=IMG_0001.JPG",
            "Content-Disposition: inline; filename=IMG_0001.JPG",
            "Content-Transfer-Encoding: base64",
            "",
            "/9j/4AAQ",
          ],
          ["Content-Type: text/plain", "", "Sent from my phone"],
        ),
      ),
      blobs,
    );
    assert.deepEqual(ids(email.textBody()), ["1", "2", "3"]);
    assert.deepEqual(ids(email.htmlBody()), ["1", "2", "3"]);
    assert.deepEqual(email.attachments(), []);
    assert.equal(email.hasAttachment, false);
    assert.equal(email.preview, "Look at this: Sent from my phone");
  });

  test("an HTML-only alternative serves as the text body too; the image it shows is not downloadable", () => {
    const html = '<p>Logo: <img src="cid:logo%40x"> &amp; more&nbsp;text &#8364;</p>';
    const related = multipart(
      "related",
      "r",
      ["Content-Type: text/html; charset=us-ascii", "", html],
      gif("logo@x"),
    );
    const email = parseEmail(message(...multipart("alternative", "a", related)), blobs);
    assert.deepEqual(ids(email.textBody()), ["1.1"]);
    assert.deepEqual(ids(email.htmlBody()), ["1.1"]);
    assert.deepEqual(ids(email.attachments()), ["1.2"]);
    assert.equal(email.hasAttachment, false);
    assert.equal(email.preview, "Logo: & more text €");
  });

  test("an image nothing refers to is an attachment to offer", () => {
    const related = multipart(
      "related",
      "r",
      ["Content-Type: text/html", "", "<p>No pictures</p>"],
      gif("orphan@x"),
    );
    assert.equal(parseEmail(message(...related), blobs).hasAttachment, true);
  });

  test("a named text part after the first is an attachment", () => {
    const email = parseEmail(
      message(
        ...multipart(
          "mixed",
          "b",
          ["Content-Type: text/plain", "", "See the log."],
          ['Content-Type: text/plain; name="=?UTF-8?Q?build_=E2=80=94_log.txt?="', "", "error: it broke"],
        ),
      ),
      blobs,
    );
    assert.deepEqual(email.textBody(["partId"]), [{ partId: "1" }]);
    assert.deepEqual(email.attachments(["partId", "name"]), [{ partId: "2", name: "build — log.txt" }]);
  });

  test("a single-part message is part 1 and carries the message header", () => {
    const email = parseEmail(message("Subject: hi", "X-Mailer: test", "", "Hello"), blobs);
    assert.deepEqual(email.bodyStructure(["partId", "type", "charset", "headers"]), {
      partId: "1",
      type: "text/plain",
      charset: "us-ascii",
      headers: [
        { name: "Subject", value: " hi" },
        { name: "X-Mailer", value: " test" },
      ],
      subParts: null,
    });
    assert.deepEqual(email.textBody(["partId"]), [{ partId: "1" }]);
    assert.deepEqual(email.htmlBody(["partId"]), [{ partId: "1" }]);
    assert.equal(email.hasAttachment, false);
  });
});

describe("decoding", () => {
  const cases: Array<[string, string[], Buffer | string, string, boolean]> = [
    [
      "ISO-8859-1 quoted-printable",
      ["Content-Type: text/plain; charset=iso-8859-1", "Content-Transfer-Encoding: quoted-printable"],
      "Gr=FC=DFe",
      "Grüße\n",
      false,
    ],
    [
      "windows-1252 8bit",
      ["Content-Type: text/plain; charset=windows-1252"],
      Buffer.from([0x80, 0x20, 0x96, 0x20, 0xe9]),
      "€ – é\n",
      false,
    ],
    [
      "ISO-8859-1 is read as windows-1252, as the WHATWG encodings (and mail in the wild) have it",
      ["Content-Type: text/plain; charset=ISO-8859-1"],
      Buffer.from([0x93, 0x61, 0x94]),
      "“a”\n",
      false,
    ],
    [
      "UTF-8 base64",
      ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"],
      Buffer.from("Zürich 🏔\r\n").toString("base64"),
      "Zürich 🏔\n",
      false,
    ],
    [
      "bad base64 is decoded as far as it goes and flagged",
      ["Content-Transfer-Encoding: base64"],
      "SGVsbG8g*d29ybGQ=",
      "Hello world",
      true,
    ],
    [
      "bad quoted-printable is flagged, the stray = kept",
      ["Content-Transfer-Encoding: quoted-printable"],
      "100=% sure",
      "100=% sure\n",
      true,
    ],
    [
      "an unknown charset is flagged and read as UTF-8 or Latin-1",
      ["Content-Type: text/plain; charset=x-martian"],
      Buffer.from("h\u00e9", "latin1"),
      "hé\n",
      true,
    ],
    [
      "an unknown transfer encoding leaves the bytes and is flagged",
      ["Content-Transfer-Encoding: x-uuencode"],
      "begin 644 a",
      "begin 644 a\n",
      true,
    ],
    [
      "bytes invalid in the charset become U+FFFD and are flagged",
      ["Content-Type: text/plain; charset=utf-8"],
      Buffer.from([0x61, 0xff, 0xfe, 0x62]),
      "a\ufffd\ufffdb\n",
      true,
    ],
    [
      "8-bit text in a part that names no charset is read, and flagged: us-ascii has no such bytes",
      [],
      Buffer.from("naïve"),
      "naïve\n",
      true,
    ],
  ];
  for (const [title, headers, body, value, isEncodingProblem] of cases) {
    test(title, () => {
      const values = parseEmail(message(...headers, "", body), blobs).bodyValues({
        fetchAllBodyValues: true,
      });
      assert.deepEqual(values, { "1": { value, isEncodingProblem, isTruncated: false } });
    });
  }
});

describe("truncation and preview", () => {
  test("maxBodyValueBytes cuts on a character boundary", () => {
    const email = parseEmail(
      message("Content-Type: text/plain; charset=utf-8", "", Buffer.from("añb€c")),
      blobs,
    );
    assert.deepEqual(email.bodyValues({ fetchTextBodyValues: true, maxBodyValueBytes: 2 })["1"], {
      value: "a",
      isEncodingProblem: false,
      isTruncated: true,
    });
    assert.equal(email.bodyValues({ fetchTextBodyValues: true, maxBodyValueBytes: 6 })["1"]?.value, "añb");
    assert.equal(
      email.bodyValues({ fetchTextBodyValues: true, maxBodyValueBytes: 9 })["1"]?.isTruncated,
      false,
    );
  });

  test("HTML is not cut inside a tag", () => {
    const email = parseEmail(
      message("Content-Type: text/html", "", '<p>Hi <a href="https://example.com">x</a></p>'),
      blobs,
    );
    assert.equal(
      email.bodyValues({ fetchHTMLBodyValues: true, maxBodyValueBytes: 20 })["1"]?.value,
      "<p>Hi ",
    );
  });

  test("the preview collapses white space and stops at 256 characters", () => {
    const email = parseEmail(
      message("Content-Type: text/plain; charset=utf-8", "", "  a\t\tb  ", Buffer.from("😀".repeat(300))),
      blobs,
    );
    const preview = email.preview;
    assert.ok(preview.startsWith("a b 😀"));
    assert.equal(Array.from(preview).length, 256);
  });
});

describe("header edge cases", () => {
  test("a missing Date gives a null sentAt", () => {
    const email = parseEmail(message("Subject: no date", "", "x"), blobs);
    assert.deepEqual(
      email.properties(["sentAt", "header:Date:asDate", "header:Date:asDate:all", "messageId"]),
      {
        sentAt: null,
        "header:Date:asDate": null,
        "header:Date:asDate:all": [],
        messageId: null,
      },
    );
  });

  test("RFC 6532 UTF-8 header fields; invalid bytes in Raw become U+FFFD, NUL is dropped", () => {
    const email = parseEmail(
      message(
        Buffer.from("From: Zoë Ångström <zoe@example.se>"),
        Buffer.from("Subject: Grüße aus Köln"),
        Buffer.concat([Buffer.from("X-Junk: a"), Buffer.from([0xff, 0x00]), Buffer.from("b")]),
        "",
        "x",
      ),
      blobs,
    );
    assert.deepEqual(email.properties(["from", "subject", "header:X-Junk"]), {
      from: [{ name: "Zoë Ångström", email: "zoe@example.se" }],
      subject: "Grüße aus Köln",
      "header:X-Junk": " a\ufffdb",
    });
  });

  test("a message that is all header, or nothing at all", () => {
    const headerOnly = parseEmail(Buffer.from("Subject: only\r\n"), blobs);
    assert.equal(headerOnly.properties(["subject"]).subject, "only");
    assert.deepEqual(headerOnly.bodyValues({ fetchAllBodyValues: true }), {
      "1": { value: "", isEncodingProblem: false, isTruncated: false },
    });
    const empty = parseEmail(Buffer.alloc(0), blobs);
    assert.deepEqual(empty.properties(["subject", "from", "headers", "preview", "size"]), {
      subject: null,
      from: null,
      headers: [],
      preview: "",
      size: 0,
    });
  });
});

describe("property validation", () => {
  test("unknown and inapplicable properties are invalidArguments", () => {
    checkProperties(["subject", "header:X-A:asDate:all", "bodyValues"], EMAIL_PROPERTIES);
    for (const bad of ["subjects", "header:From:asText", "header:Subject:asURLs", "header:X:asNothing"]) {
      assert.throws(
        () => checkProperties([bad], EMAIL_PROPERTIES),
        (e: unknown) => e instanceof MethodError && e.type === "invalidArguments",
        bad,
      );
    }
  });
});
