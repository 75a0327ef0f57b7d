// JMAP over WebSocket messages (RFC 8887 §4.3) and the state watch push sits on, without sockets.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { changedStates, watchStates } from "../../src/jmap/state-watch.js";
import {
  decodePushState,
  encodePushState,
  parseClientMessage,
  requestErrorMessage,
  responseMessage,
  stateChangeMessage,
} from "../../src/jmap/websocket.js";
import type { MailboxEvent } from "../../src/store/events.js";

describe("RFC 8887 client messages", () => {
  test("a Request keeps its id apart and loses @type; the dispatcher gets the rest", () => {
    const message = parseClientMessage(
      JSON.stringify({ "@type": "Request", id: "r1", using: ["urn:ietf:params:jmap:core"], methodCalls: [] }),
    );
    assert.deepEqual(message, {
      kind: "request",
      id: "r1",
      request: { using: ["urn:ietf:params:jmap:core"], methodCalls: [] },
    });
  });

  test("not JSON is notJSON; JSON of another shape or @type is notRequest, with the id when there is one", () => {
    const notJson = parseClientMessage("{not json");
    assert.equal(notJson.kind === "error" && notJson.error.type, "urn:ietf:params:jmap:error:notJSON");
    for (const text of ["[1,2]", '"text"', "null", '{"using":[]}', '{"@type":"Response","id":"x"}']) {
      const message = parseClientMessage(text);
      assert.equal(message.kind, "error", text);
      assert.equal(message.kind === "error" && message.error.type, "urn:ietf:params:jmap:error:notRequest");
    }
    const withId = parseClientMessage('{"@type":"Nope","id":"q7"}');
    assert.equal(withId.kind === "error" && withId.id, "q7");
    const badId = parseClientMessage('{"@type":"Request","id":7,"using":[],"methodCalls":[]}');
    assert.equal(badId.kind, "error");
  });

  test("WebSocketPushEnable with dataTypes null or a list and an optional pushState; bad ones refused", () => {
    assert.deepEqual(parseClientMessage('{"@type":"WebSocketPushEnable","dataTypes":null}'), {
      kind: "push-enable",
      types: null,
      pushState: undefined,
    });
    assert.deepEqual(
      parseClientMessage('{"@type":"WebSocketPushEnable","dataTypes":["Mailbox"],"pushState":"abc"}'),
      { kind: "push-enable", types: ["Mailbox"], pushState: "abc" },
    );
    assert.equal(parseClientMessage('{"@type":"WebSocketPushEnable","dataTypes":"Mailbox"}').kind, "error");
    assert.equal(parseClientMessage('{"@type":"WebSocketPushEnable","pushState":5}').kind, "error");
    assert.deepEqual(parseClientMessage('{"@type":"WebSocketPushDisable"}'), { kind: "push-disable" });
  });

  test("server messages carry @type and requestId; a StateChange's pushState decodes to its states", () => {
    assert.deepEqual(JSON.parse(responseMessage({ methodResponses: [], sessionState: "s" }, "r1")), {
      "@type": "Response",
      requestId: "r1",
      methodResponses: [],
      sessionState: "s",
    });
    const error = JSON.parse(
      requestErrorMessage(
        { type: "urn:ietf:params:jmap:error:notJSON", status: 400, detail: "d" },
        undefined,
      ),
    );
    assert.equal(error["@type"], "RequestError");
    assert.equal("requestId" in error, false);
    const change = JSON.parse(stateChangeMessage("A1", { Mailbox: "m2" }, { Mailbox: "m2", Email: "e1" }));
    assert.deepEqual(change.changed, { A1: { Mailbox: "m2" } });
    assert.deepEqual(decodePushState(change.pushState), { Mailbox: "m2", Email: "e1" });
  });

  test("any text parses to a message without throwing; a foreign pushState decodes to null or states", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        assert.ok(
          ["request", "push-enable", "push-disable", "error"].includes(parseClientMessage(text).kind),
        );
        const decoded = decodePushState(text);
        assert.ok(decoded === null || Object.values(decoded).every((state) => typeof state === "string"));
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (states) => {
        assert.deepEqual(
          Object.entries(decodePushState(encodePushState(states)) ?? {}),
          Object.entries(states),
        );
      }),
    );
  });
});

describe("the state watch", () => {
  const bus = () => {
    const listeners = new Set<(event: MailboxEvent) => void>();
    return {
      events: {
        subscribe(listener: (event: MailboxEvent) => void) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
      publish: (event: MailboxEvent) => {
        for (const listener of listeners) listener(event);
      },
      size: () => listeners.size,
    };
  };

  test("a burst of this account's events is one check; only moved states are reported; others ignored", async () => {
    const { events, publish, size } = bus();
    let state = 1;
    let checks = 0;
    const seen: Array<Record<string, string>> = [];
    const stop = watchStates({
      events,
      userId: 7,
      states: async () => {
        checks += 1;
        return { Mailbox: `m${state}`, Email: "e1" };
      },
      baseline: { Mailbox: "m1", Email: "e1" },
      onChange: (changed) => seen.push(changed),
      onError: (error) => assert.fail(String(error)),
      coalesceMs: 5,
    });
    publish({ kind: "mailboxes", userId: 8 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(checks, 0, "another account's event is not looked at");
    state = 2;
    for (let i = 0; i < 5; i++) publish({ kind: "exists", userId: 7, mailboxId: 1, uids: [i], modseq: i });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(checks, 1);
    assert.deepEqual(seen, [{ Mailbox: "m2" }]);
    publish({ kind: "mailboxes", userId: 7 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(seen.length, 1, "an event that moved no state reports nothing");
    stop();
    assert.equal(size(), 0);
    assert.deepEqual(changedStates({ A: "1", B: "2" }, { A: "1", B: "3", C: "1" }), { B: "3", C: "1" });
  });
});
