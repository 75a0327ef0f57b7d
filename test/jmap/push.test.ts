// The EventSource URL's parameters and frames (RFC 8620 §7.3).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MethodError } from "../../src/jmap/errors.js";
import { parsePushParameters, pingFrame, stateFrame } from "../../src/jmap/push.js";

const parse = (query: string) => parsePushParameters(new URLSearchParams(query));

describe("push parameters and frames", () => {
  test("types (* or a list, unknown ones dropped), closeafter, and a ping clamped to 10..600 s", () => {
    assert.deepEqual(parse("types=*&closeafter=state&ping=0"), {
      types: new Set(["Mailbox", "Email", "Thread", "Quota", "SieveScript", "Identity"]),
      closeAfterState: true,
      ping: 0,
    });
    assert.deepEqual(parse("types=Email,Mailbox,EmailSubmission&closeafter=no&ping=1"), {
      types: new Set(["Email", "Mailbox"]),
      closeAfterState: false,
      ping: 10,
    });
    assert.deepEqual(parse("types=CalendarEvent&ping=100000"), {
      types: new Set(),
      closeAfterState: false,
      ping: 600,
    });
  });

  test("bad closeafter or ping values are invalidArguments", () => {
    for (const query of ["closeafter=maybe", "ping=-1", "ping=1.5", "ping=x"]) {
      const result = parse(query);
      assert.ok(result instanceof MethodError, query);
      assert.equal(result.type, "invalidArguments");
    }
  });

  test("frames are event-stream events with JSON data", () => {
    assert.equal(
      stateFrame("A1", { Mailbox: "s1" }),
      'event: state\ndata: {"@type":"StateChange","changed":{"A1":{"Mailbox":"s1"}}}\n\n',
    );
    assert.equal(pingFrame(30), 'event: ping\ndata: {"interval":30}\n\n');
  });
});
