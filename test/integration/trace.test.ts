// `mailroom trace` after a real walk, on both stores: alice submits one message to a local user, a
// local address that does not exist, and two recipients at example.net, whose MX (a scripted server on
// loopback, found through a loopback DNS server) first defers both with 451, then takes bob and
// refuses nobody with 550. The trace shows the session, the refusal, the local delivery, the deferral,
// the delivery, the bounce and the DSN's own id; the search options and the errors are checked too.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Remote, startRemote } from "../queue/remote.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { eventually } from "../support/eventually.js";
import { startSendingServer, submitMail } from "../support/sending-server.js";
import { integrationBackends, type TestServer } from "../support/server.js";

const alicePassword = "alice's long passphrase";

interface JsonEvent {
  at: string;
  kind: string;
  recipient: string | null;
  data: Record<string, unknown>;
  text: string;
}

interface JsonTrace {
  messageId: string;
  sender: string | null;
  events: JsonEvent[];
  recipients: Array<{ address: string; state: string; detail: string; dsn: string | null }>;
  dsns: string[];
}

for (const backend of await integrationBackends()) {
  describe(`mailroom trace (${backend.name})`, { skip: backend.skip }, () => {
    let server: TestServer;
    let remote: Remote;
    let dns: TestDns;
    let messageId = "";
    let trace: JsonTrace;

    before(async () => {
      const seen = new Set<string>();
      remote = await startRemote({
        rcpt: (address) => {
          // Greylisting: every address is deferred once, then bob is taken and nobody refused.
          if (!seen.has(address)) {
            seen.add(address);
            return "451 4.7.1 greylisted, try again later";
          }
          return address === "bob@example.net" ? "250 2.1.5 Ok" : "550 5.1.1 no such user here";
        },
      });
      dns = await startTestDns({
        "example.net": { mx: [{ preference: 10, exchange: "mx.example.net" }] },
        "mx.example.net": { a: ["127.0.0.1"] },
      });
      server = await startSendingServer({
        ...(backend.store ? { store: backend.store } : {}),
        dns,
        relayPort: remote.port,
        pollInterval: "200ms",
        retrySchedule: "1s",
        user: { address: "alice@example.org", password: alicePassword },
      });
      const carol = await server.cli(
        ["user", "add", "carol@example.org", "--password-stdin"],
        "carol's secret\n",
      );
      assert.equal(carol.code, 0, carol.stderr);

      const info = await submitMail(
        server,
        { user: "alice@example.org", pass: alicePassword },
        {
          from: "alice@example.org",
          to: ["carol@example.org", "ghost@example.org", "bob@example.net", "nobody@example.net"],
          subject: "traced",
          text: "follow me",
        },
      );
      assert.deepEqual(info.rejected, ["ghost@example.org"]);
      messageId = /queued as (\S+)/.exec(info.response)?.[1] ?? "";
      assert.ok(messageId, info.response);
      trace = await eventually("the trace to reach the DSN", async () => {
        const shown = await server.cli(["trace", messageId, "--json"]);
        if (shown.code !== 0) return undefined;
        const parsed = JSON.parse(shown.stdout) as JsonTrace;
        return parsed.dsns.length > 0 ? parsed : undefined;
      });
    });

    after(async () => {
      await server?.cleanup();
      await remote?.close();
      await dns?.close();
      await backend.release();
    });

    test("the JSON trace: session, verdicts, local delivery, deferral, delivery, bounce, DSN", async () => {
      assert.equal(trace.messageId, messageId);
      assert.equal(trace.sender, "alice@example.org");
      const session = trace.events.find((event) => event.kind === "session");
      assert.equal(session?.data.listener, "submission");
      assert.equal(session?.data.user, "alice@example.org");
      assert.equal(session?.data.client, "127.0.0.1");
      assert.match(String(session?.data.tls), /^TLSv1\.[23]$/);
      const refused = trace.events.find(
        (event) => event.kind === "recipient" && event.data.verdict === "refused",
      );
      assert.equal(refused?.recipient, "ghost@example.org");
      assert.match(String(refused?.data.reply), /^550 5\.1\.1/);
      assert.ok(
        trace.events.some(
          (event) =>
            event.kind === "mailbox" &&
            event.recipient === "carol@example.org" &&
            event.data.mailbox === "INBOX",
        ),
      );
      const relays = trace.events.filter((event) => event.kind === "relay");
      const of = (address: string) =>
        relays.filter((event) => event.recipient === address).map((event) => event.data);
      for (const address of ["bob@example.net", "nobody@example.net"]) {
        const first = of(address)[0];
        assert.equal(first?.result, "deferred");
        assert.equal(first?.mx, "mx.example.net");
        assert.equal(first?.tls, false);
        assert.match(String(first?.reply), /^451 4\.7\.1 greylisted/);
        assert.ok(Date.parse(String(first?.next)) > Date.parse(trace.events[0]?.at ?? ""));
      }
      assert.deepEqual(
        of("bob@example.net").map((each) => each.result),
        ["deferred", "delivered"],
      );
      assert.deepEqual(
        of("nobody@example.net").map((each) => each.result),
        ["deferred", "bounced"],
      );
      const dsnId = trace.dsns[0] ?? "";
      const byAddress = new Map(trace.recipients.map((each) => [each.address, each]));
      assert.equal(byAddress.get("carol@example.org")?.state, "delivered");
      assert.equal(byAddress.get("ghost@example.org")?.state, "refused");
      assert.equal(byAddress.get("bob@example.net")?.state, "delivered");
      assert.equal(byAddress.get("nobody@example.net")?.state, "bounced");
      assert.equal(byAddress.get("nobody@example.net")?.dsn, dsnId);
      assert.equal(remote.transactions.length, 1, "bob's copy went out once");

      // The DSN is a message of its own, traced under its own id, and it is in alice's INBOX.
      const notice = await server.cli(["trace", dsnId, "--json"]);
      assert.equal(notice.code, 0, notice.stderr);
      const noticeTrace = JSON.parse(notice.stdout) as JsonTrace;
      assert.equal(noticeTrace.sender, "");
      assert.deepEqual(noticeTrace.events[0]?.data, { about: messageId, action: "failed" });
      assert.ok(
        noticeTrace.events.some(
          (event) => event.kind === "mailbox" && event.recipient === "alice@example.org",
        ),
      );
    });

    test("the text: one line per event with its time, then where each recipient ended up", async () => {
      const shown = await server.cli(["trace", messageId]);
      assert.equal(shown.code, 0, shown.stderr);
      const lines = shown.stdout.split("\n");
      assert.equal(lines[0], `message ${messageId} from <alice@example.org>`);
      const eventLines = lines.slice(1, lines.indexOf("recipients:"));
      assert.equal(eventLines.length, trace.events.length);
      for (const line of eventLines)
        assert.match(line, /^ {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}\S+ +\S/);
      assert.match(
        shown.stdout,
        /session +<alice@example\.org> by smtp on submission from 127\.0\.0\.1, HELO \S+, TLS TLSv1\.[23], user alice@example\.org/,
      );
      assert.match(
        shown.stdout,
        /<bob@example\.net> deferred via mx\.example\.net \(no TLS\), attempt 1: 451 4\.7\.1 greylisted/,
      );
      assert.match(
        shown.stdout,
        /^ {2}nobody@example\.net +bounced .*550 5\.1\.1 no such user here; reported in DSN \S+$/m,
      );
      assert.match(
        shown.stdout,
        /^ {2}carol@example\.org +delivered +<carol@example\.org> delivered into INBOX$/m,
      );
    });

    test("--to, --from and --since find it; other senders and old windows do not", async () => {
      const find = async (args: string[]) => {
        const result = await server.cli(["trace", ...args, "--json"]);
        return {
          code: result.code,
          ids: (JSON.parse(result.stdout || "[]") as JsonTrace[]).map((each) => each.messageId),
          stderr: result.stderr,
        };
      };
      const byTo = await find(["--to", "Bob@Example.NET", "--since", "1h"]);
      assert.equal(byTo.code, 0, byTo.stderr);
      assert.deepEqual(byTo.ids, [messageId]);
      // The address as written and where it was routed both lead there; so does a refused one.
      assert.deepEqual((await find(["--to", "ghost@example.org"])).ids, [messageId]);
      assert.deepEqual((await find(["--to", "carol@example.org", "--from", "alice@example.org"])).ids, [
        messageId,
      ]);
      // alice got the DSN: it is traced as a message to her from <>.
      const notices = await find(["--to", "alice@example.org", "--from", "<>"]);
      assert.deepEqual(notices.ids, trace.dsns);
      const other = await find(["--to", "bob@example.net", "--from", "mallory@example.org"]);
      assert.equal(other.code, 66);
      assert.deepEqual(other.ids, []);
      assert.match(other.stderr, /no traced message to <bob@example\.net> from <mallory@example\.org>/);
      const text = await server.cli(["trace", "--to", "bob@example.net", "--limit", "1"]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^message ${messageId} from <alice@example\\.org>$`, "m"));
    });

    test("an unknown id exits 66 with a hint; usage errors exit 64", async () => {
      const unknown = await server.cli(["trace", "00000000000000000000"]);
      assert.equal(unknown.code, 66);
      assert.match(
        unknown.stderr,
        /no trace of a message '00000000000000000000'.*queued as ID.*kept 30d.*mailroom trace --to ADDRESS/,
      );
      assert.equal(unknown.stdout, "");
      for (const args of [
        [],
        [messageId, "--to", "bob@example.net"],
        ["--to", "bob@example.net", "--since", "soon"],
        ["--to", "bob@example.net", "--limit", "0"],
        ["--to", "not-an-address"],
        ["a", "b"],
      ]) {
        const result = await server.cli(["trace", ...args]);
        assert.equal(result.code, 64, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, /mailroom trace --help/);
      }
    });
  });
}
