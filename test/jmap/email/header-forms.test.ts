// The header forms of RFC 8621 §4.1.2 on field values as messages carry them, and the "header:" property
// syntax with the rule of which form goes with which field.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formValue, parseHeaderProperty } from "../../../src/jmap/email/header-forms.js";

// The To field of RFC 8621 §4.1.2.3 and its two results, as the RFC gives them.
const RFC_TO =
  ' "James Smythe" <james@example.com>, Friends:\r\n jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n <john@example.com>;';

describe("addresses", () => {
  test("Addresses form of the RFC 8621 §4.1.2.3 example", () => {
    assert.deepEqual(formValue("Addresses", RFC_TO), [
      { name: "James Smythe", email: "james@example.com" },
      { name: null, email: "jane@example.com" },
      { name: "John Smîth", email: "john@example.com" },
    ]);
  });

  test("GroupedAddresses form of the RFC 8621 §4.1.2.4 example", () => {
    assert.deepEqual(formValue("GroupedAddresses", RFC_TO), [
      { name: null, addresses: [{ name: "James Smythe", email: "james@example.com" }] },
      {
        name: "Friends",
        addresses: [
          { name: null, email: "jane@example.com" },
          { name: "John Smîth", email: "john@example.com" },
        ],
      },
    ]);
  });

  test("an empty group stays in the grouped form and vanishes from the flat one", () => {
    const raw = " undisclosed-recipients:;";
    assert.deepEqual(formValue("GroupedAddresses", raw), [{ name: "undisclosed-recipients", addresses: [] }]);
    assert.deepEqual(formValue("Addresses", raw), []);
  });

  test("quoted names lose quotes and quoted pairs; a trailing comment is the name", () => {
    assert.deepEqual(formValue("Addresses", ' "Smith, \\"Jo\\"" <jo@example.com>, bob@example.com (Bob B)'), [
      { name: 'Smith, "Jo"', email: "jo@example.com" },
      { name: "Bob B", email: "bob@example.com" },
    ]);
  });

  test("adjacent encoded words join, and a name split over folded lines unfolds", () => {
    const raw = " =?UTF-8?B?Sm9zw6k=?=\r\n =?ISO-8859-1?Q?_M=FCller?= <jm@example.de>";
    assert.deepEqual(formValue("Addresses", raw), [{ name: "José Müller", email: "jm@example.de" }]);
  });

  test("RFC 6532 UTF-8 names and addresses pass through", () => {
    assert.deepEqual(formValue("Addresses", " Jörg Ünal <jörg@bücher.example>"), [
      { name: "Jörg Ünal", email: "jörg@bücher.example" },
    ]);
  });

  test("best effort on junk: an address without @ is kept", () => {
    assert.deepEqual(formValue("Addresses", " Undisclosed recipients"), [
      { name: null, email: "Undisclosedrecipients" },
    ]);
    assert.deepEqual(formValue("Addresses", ""), []);
  });
});

describe("text", () => {
  test("unfolded, trimmed, encoded words decoded", () => {
    assert.equal(
      formValue("Text", " =?ISO-8859-1?Q?Caf=E9?= and\r\n =?UTF-8?B?8J+Ygg==?= ok  "),
      "Café and 😂 ok",
    );
  });

  test("NFC: a decomposed é becomes one code point", () => {
    assert.equal(formValue("Text", " =?UTF-8?Q?e=CC=81?="), "\u00e9");
  });

  test("controls an encoded word decodes to are dropped", () => {
    assert.equal(formValue("Text", " a=?UTF-8?Q?=00=07b?="), "ab");
  });

  test("Raw keeps the leading space and the folding", () => {
    assert.equal(formValue("Raw", " a\r\n b"), " a\r\n b");
  });
});

describe("message ids", () => {
  test("brackets, comments and folding removed", () => {
    assert.deepEqual(formValue("MessageIds", " <a@x> (first)\r\n <b@y>,<c@z>"), ["a@x", "b@y", "c@z"]);
  });

  test("anything that is not a msg-id list is null", () => {
    assert.equal(formValue("MessageIds", " a@x"), null);
    assert.equal(formValue("MessageIds", " <a@x> junk"), null);
    assert.equal(formValue("MessageIds", " <a@x"), null);
    assert.equal(formValue("MessageIds", ""), null);
  });
});

describe("dates", () => {
  test("the sender's offset is kept (RFC 8620 Date, not UTCDate)", () => {
    assert.equal(formValue("Date", " Tue, 7 Oct 2014 15:59:13 +0200 (CEST)"), "2014-10-07T15:59:13+02:00");
    assert.equal(formValue("Date", " 1 Jan 2024 00:00:00 -0000"), "2024-01-01T00:00:00-00:00");
  });

  test("obsolete forms: two-digit years, named zones, no seconds, folding", () => {
    assert.equal(formValue("Date", " Fri, 21 Nov 97 09:55 EST"), "1997-11-21T09:55:00-05:00");
    assert.equal(formValue("Date", " 3 Mar 03 1:02:03 GMT"), "2003-03-03T01:02:03+00:00");
    assert.equal(formValue("Date", " Mon,\r\n 29 Feb 2016 23:59:60 Z"), "2016-02-29T23:59:60-00:00");
  });

  test("impossible or unparsable dates are null", () => {
    assert.equal(formValue("Date", " 29 Feb 2015 10:00:00 +0000"), null);
    assert.equal(formValue("Date", " 31 Apr 2015 10:00:00 +0000"), null);
    assert.equal(formValue("Date", " 1 Jan 2015 24:00:00 +0000"), null);
    assert.equal(formValue("Date", " 1 Jan 2015 10:00:00 +0160"), null);
    assert.equal(formValue("Date", " 1 Jan 2015 10:00:00 CEST"), null);
    assert.equal(formValue("Date", " Foo, 1 Jan 2015 10:00:00 +0000"), null);
    assert.equal(formValue("Date", " yesterday"), null);
  });
});

describe("urls", () => {
  test("RFC 2369 lists: comments and brackets removed, whitespace in URLs dropped", () => {
    assert.deepEqual(
      formValue(
        "URLs",
        " <mailto:list-off@example.com?subject=unsubscribe> (by mail),\r\n <https://example.com/u?a=(1)>",
      ),
      ["mailto:list-off@example.com?subject=unsubscribe", "https://example.com/u?a=(1)"],
    );
    assert.deepEqual(formValue("URLs", " <http://www.host.com/list\r\n /archive/>"), [
      "http://www.host.com/list/archive/",
    ]);
  });

  test("List-Post: NO is no URL list", () => {
    assert.equal(formValue("URLs", " NO (posting not allowed on this list)"), null);
  });
});

describe("header properties", () => {
  test("the property syntax", () => {
    assert.deepEqual(parseHeaderProperty("header:X-Spam"), {
      ok: true,
      header: { name: "X-Spam", key: "x-spam", form: "Raw", all: false },
    });
    assert.deepEqual(parseHeaderProperty("header:FROM:asAddresses:all"), {
      ok: true,
      header: { name: "FROM", key: "from", form: "Addresses", all: true },
    });
    assert.deepEqual(parseHeaderProperty("header:Received:all"), {
      ok: true,
      header: { name: "Received", key: "received", form: "Raw", all: true },
    });
  });

  test("malformed properties are refused", () => {
    for (const property of [
      "header:",
      "header:From:asNothing",
      "header:From:all:asAddresses",
      "header:From:asAddresses:all:all",
      "header:Bad Name",
      "headers:From",
    ]) {
      assert.equal(parseHeaderProperty(property).ok, false, property);
    }
  });

  test("a form goes with the fields its section names, and with any field RFC 5322 and 2369 do not define", () => {
    const ok = (p: string) => parseHeaderProperty(p).ok;
    assert.ok(ok("header:Subject:asText"));
    assert.ok(ok("header:List-Id:asText"));
    assert.ok(ok("header:Resent-To:asGroupedAddresses"));
    assert.ok(ok("header:References:asMessageIds"));
    assert.ok(ok("header:Resent-Date:asDate"));
    assert.ok(ok("header:List-Unsubscribe:asURLs"));
    assert.ok(ok("header:X-Custom:asAddresses"));
    assert.ok(ok("header:X-Custom:asDate:all"));
    assert.ok(ok("header:Received:asRaw"));
    assert.equal(ok("header:Subject:asAddresses"), false);
    assert.equal(ok("header:From:asText"), false);
    assert.equal(ok("header:Date:asText"), false);
    assert.equal(ok("header:To:asMessageIds"), false);
    assert.equal(ok("header:Received:asDate"), false);
    assert.equal(ok("header:List-Post:asText"), false);
    assert.equal(ok("header:Message-ID:asURLs"), false);
  });
});
