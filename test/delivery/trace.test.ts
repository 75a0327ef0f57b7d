// Delivery traces as data and text: each event's sentence, where each recipient ended up, the
// `mailroom trace` layout, the batching recorder (never failing its caller) and the pruner.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { formatTrace } from "../../src/cli/trace.js";
import {
  createTraceRecorder,
  describeEvent,
  loadTrace,
  startTracePruner,
  summarize,
  traceEvents,
} from "../../src/delivery/trace.js";
import type { TraceEvent, TraceEventInput, TraceStore } from "../../src/store/types.js";

const silent = pino({ level: "silent" });
const t = (seconds: number) => new Date(Date.UTC(2026, 11, 4, 6, 0, seconds));

function stored(messageId: string, inputs: TraceEventInput[]): TraceEvent[] {
  return inputs.map((input, index) => ({
    messageId,
    seq: index + 1,
    at: input.at,
    kind: input.kind,
    recipient: input.recipient?.toLowerCase() ?? null,
    data: input.data,
  }));
}

const walk = [
  traceEvents.session(t(0), "alice@example.org", {
    protocol: "smtp",
    listener: "submission",
    client: "192.0.2.7",
    helo: "laptop.example.org",
    tls: "TLSv1.3",
    user: "alice@example.org",
  }),
  traceEvents.refused(t(0), "ghost@example.org", "550 5.1.1 <ghost@example.org>: no such user here"),
  traceEvents.accepted(t(0), "carol+news@example.org"),
  traceEvents.route(t(0), "plus-tag", "carol+news@example.org", "carol@example.org"),
  traceEvents.mailbox(t(0), "carol@example.org", "INBOX", false),
  traceEvents.accepted(t(0), "bob@example.net"),
  traceEvents.queued(t(0), "bob@example.net"),
  traceEvents.accepted(t(0), "nobody@example.net"),
  traceEvents.queued(t(0), "nobody@example.net"),
  traceEvents.relay(t(1), "bob@example.net", {
    queueId: "Q1",
    attempt: 1,
    mx: "mx.example.net",
    tls: true,
    reply: "451 4.7.1 greylisted",
    result: "deferred",
    next: "2026-12-04T06:05:01.000Z",
  }),
  traceEvents.relay(t(2), "bob@example.net", {
    queueId: "Q1",
    attempt: 2,
    mx: "mx.example.net",
    tls: false,
    reply: "250 2.0.0 Ok",
    result: "delivered",
  }),
  traceEvents.relay(t(2), "nobody@example.net", {
    queueId: "Q2",
    attempt: 2,
    mx: "mx.example.net",
    tls: true,
    reply: "550 5.1.1 no such user",
    result: "bounced",
  }),
  traceEvents.dsn(t(3), "DSN1", "failed", ["nobody@example.net"]),
];

describe("delivery trace", () => {
  test("the text: one line per event with its time, then each recipient's outcome", () => {
    const events = stored("M1", walk);
    const text = formatTrace({
      messageId: "M1",
      sender: "alice@example.org",
      events: events.map((event) => ({ ...event, text: describeEvent(event) })),
      recipients: summarize(events),
      dsns: ["DSN1"],
    });
    assert.equal(
      text,
      [
        "message M1 from <alice@example.org>",
        "  2026-12-04T06:00:00.000Z  session    <alice@example.org> by smtp on submission from 192.0.2.7, HELO laptop.example.org, TLS TLSv1.3, user alice@example.org",
        "  2026-12-04T06:00:00.000Z  recipient  <ghost@example.org> refused: 550 5.1.1 <ghost@example.org>: no such user here",
        "  2026-12-04T06:00:00.000Z  recipient  <carol+news@example.org> accepted",
        "  2026-12-04T06:00:00.000Z  route      <carol+news@example.org> → <carol@example.org> (plus-tag)",
        "  2026-12-04T06:00:00.000Z  mailbox    <carol@example.org> delivered into INBOX",
        "  2026-12-04T06:00:00.000Z  recipient  <bob@example.net> accepted",
        "  2026-12-04T06:00:00.000Z  queued     <bob@example.net> queued for relay",
        "  2026-12-04T06:00:00.000Z  recipient  <nobody@example.net> accepted",
        "  2026-12-04T06:00:00.000Z  queued     <nobody@example.net> queued for relay",
        "  2026-12-04T06:00:01.000Z  relay      <bob@example.net> deferred via mx.example.net (TLS), attempt 1: 451 4.7.1 greylisted; next try 2026-12-04T06:05:01.000Z",
        "  2026-12-04T06:00:02.000Z  relay      <bob@example.net> delivered via mx.example.net (no TLS), attempt 2: 250 2.0.0 Ok",
        "  2026-12-04T06:00:02.000Z  relay      <nobody@example.net> bounced via mx.example.net (TLS), attempt 2: 550 5.1.1 no such user",
        "  2026-12-04T06:00:03.000Z  dsn        DSN DSN1 (failed) sent to the sender for <nobody@example.net>",
        "recipients:",
        "  ghost@example.org       refused    <ghost@example.org> refused: 550 5.1.1 <ghost@example.org>: no such user here",
        "  carol+news@example.org  routed     <carol+news@example.org> → <carol@example.org> (plus-tag)",
        "  carol@example.org       delivered  <carol@example.org> delivered into INBOX",
        "  bob@example.net         delivered  <bob@example.net> delivered via mx.example.net (no TLS), attempt 2: 250 2.0.0 Ok",
        "  nobody@example.net      bounced    <nobody@example.net> bounced via mx.example.net (TLS), attempt 2: 550 5.1.1 no such user; reported in DSN DSN1",
        "",
      ].join("\n"),
    );
  });

  test("control characters from a remote's reply are shown inert", () => {
    const events = stored("M2", [traceEvents.refused(t(0), "x@example.org", "550 \u001b[31mred\u0007")]);
    const text = formatTrace({
      messageId: "M2",
      sender: null,
      events: events.map((event) => ({ ...event, text: describeEvent(event) })),
      recipients: summarize(events),
      dsns: [],
    });
    assert.doesNotMatch(text, /[\u0007\u001b]/);
    assert.match(text, /^message M2 unknown sender$/m);
  });

  test("Sieve, quarantine, expiry, notices and unknown kinds have sentences", () => {
    const sentence = (input: TraceEventInput) => describeEvent(stored("M", [input])[0] as TraceEvent);
    assert.equal(
      sentence(
        traceEvents.sieve(t(0), "u@x.example", {
          file: ["Lists"],
          redirect: ["v@y.example"],
          discard: false,
          notDone: [],
        }),
      ),
      "<u@x.example> Sieve: fileinto Lists; redirect to <v@y.example>",
    );
    assert.equal(
      sentence(
        traceEvents.sieve(t(0), "u@x.example", { file: [], redirect: [], discard: true, notDone: [] }),
      ),
      "<u@x.example> Sieve: discard",
    );
    assert.equal(
      sentence(
        traceEvents.sieve(t(0), "u@x.example", {
          file: [],
          redirect: [],
          discard: false,
          reject: "ereject",
          notDone: [],
        }),
      ),
      "<u@x.example> Sieve: ereject (the sender is told)",
    );
    assert.equal(
      sentence(traceEvents.mailbox(t(0), "u@x.example", "Junk", true)),
      "<u@x.example> delivered into Junk (quarantined: DMARC)",
    );
    assert.equal(
      sentence(
        traceEvents.relay(t(0), "r@y.example", {
          queueId: "Q",
          attempt: 10,
          mx: null,
          tls: null,
          reply: "no MX",
          result: "bounced",
          expired: true,
        }),
      ),
      "<r@y.example> bounced (too old to retry), attempt 10: no MX",
    );
    assert.equal(
      sentence(traceEvents.notice(t(0), "M1", "failed")),
      "delivery notice (failed) about message M1",
    );
    assert.equal(
      sentence(
        traceEvents.session(t(0), "u@x.example", { protocol: "jmap", client: "", user: "u@x.example" }),
      ),
      "<u@x.example> by jmap, user u@x.example",
    );
    assert.equal(describeEvent({ kind: "future", recipient: null, data: { a: 1 } }), '{"a":1}');
    const discarded = summarize(
      stored("M", [
        traceEvents.accepted(t(0), "u@x.example"),
        traceEvents.sieve(t(0), "u@x.example", { file: [], redirect: [], discard: true, notDone: [] }),
      ]),
    );
    assert.deepEqual(
      discarded.map((each) => each.state),
      ["discarded"],
    );
    const rejected = summarize(
      stored("M", [
        traceEvents.accepted(t(0), "u@x.example"),
        traceEvents.sieve(t(0), "u@x.example", {
          file: [],
          redirect: [],
          discard: false,
          reject: "reject",
          notDone: [],
        }),
      ]),
    );
    assert.deepEqual(
      rejected.map((each) => each.state),
      ["rejected"],
    );
  });

  test("loadTrace: null for an unknown id; the sender from the session, <> for a notice", async () => {
    const traces = new Map<string, TraceEvent[]>([
      ["M1", stored("M1", walk)],
      ["N1", stored("N1", [traceEvents.notice(t(3), "M1", "failed")])],
    ]);
    const store = {
      traces: { getTrace: async (id: string) => traces.get(id) ?? [] } as unknown as TraceStore,
    };
    assert.equal(await loadTrace(store, "nope"), null);
    const trace = await loadTrace(store, "M1");
    assert.equal(trace?.sender, "alice@example.org");
    assert.deepEqual(trace?.dsns, ["DSN1"]);
    assert.equal((await loadTrace(store, "N1"))?.sender, "");
  });

  test("the recorder writes queued events in one batch and swallows a failing store", async () => {
    const batches: Array<Array<{ messageId: string }>> = [];
    let fail = false;
    const store = {
      traces: {
        recordMany: async (batch: Array<{ messageId: string }>) => {
          if (fail) throw new Error("disk on fire");
          batches.push(batch);
        },
      } as unknown as TraceStore,
    };
    const recorder = createTraceRecorder({ store, logger: silent, delayMs: 10_000 });
    recorder.add("A", [traceEvents.queued(t(0), "a@x.example")]);
    recorder.add("B", [traceEvents.queued(t(0), "b@x.example")]);
    recorder.add("C", []);
    await recorder.flush();
    assert.deepEqual(
      batches.map((batch) => batch.map((each) => each.messageId)),
      [["A", "B"]],
    );
    fail = true;
    recorder.add("D", [traceEvents.queued(t(0), "d@x.example")]);
    await recorder.flush();
    assert.equal(batches.length, 1);
  });

  test("the pruner prunes at start with now minus the retention, and stops", async () => {
    const cutoffs: Date[] = [];
    const store = {
      traces: {
        prune: async (before: Date) => {
          cutoffs.push(before);
          return 0;
        },
      } as unknown as TraceStore,
    };
    const pruner = startTracePruner({ store, logger: silent, retention: 60_000, now: () => t(120) });
    await pruner.stop();
    assert.deepEqual(cutoffs, [t(60)]);
  });
});
