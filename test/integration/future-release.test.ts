// Future release (RFC 4865) against a real `mailroom serve` on both stores: python3 smtplib submits with
// HOLDFOR on port 587 and the local recipient gets nothing before the release and the message after it,
// across a kill -9 too; JMAP EmailSubmission with envelope.mailFrom.parameters shows sendAt, stays
// "pending" while held and can be canceled then (RFC 8621 §7); and the user's display name is the
// default Identity's name.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { eventually } from "../support/eventually.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

const run = promisify(execFile);

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
type Call = [string, Loose, string];
/** Method responses, as many as a test destructures. */
type Calls = Call[] & [Call, Call, Call];

const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";
const SUBMISSION = "urn:ietf:params:jmap:submission";
const alicePassword = "alice's long passphrase";
const bobPassword = "bob's long passphrase";

/**
 * Submits one message from alice to bob over STARTTLS with the MAIL parameters given; prints the EHLO
 * FUTURERELEASE line, then MAIL's and the final reply (code and text), or the refusal.
 */
const SUBMIT = [
  "import smtplib, ssl, sys",
  's = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))',
  "s.starttls(context=ssl._create_unverified_context())",
  "s.ehlo()",
  'print("ehlo", s.esmtp_features.get("futurerelease", "-"))',
  's.login("alice@example.org", sys.argv[2])',
  "code, text = s.mail('alice@example.org', sys.argv[4:])",
  'print("mail", code, text.decode())',
  "if code == 250:",
  "    s.rcpt('bob@example.org')",
  "    body = 'From: alice@example.org\\r\\nTo: bob@example.org\\r\\nSubject: ' + sys.argv[3] + '\\r\\n\\r\\nlater\\r\\n'",
  "    code, text = s.data(body.encode())",
  '    print("data", code, text.decode())',
  "s.quit()",
].join("\n");

let counter = 0;
const subjectFor = (label: string) => `${label}-${process.pid}-${++counter}`;

for (const backend of await integrationBackends()) {
  describe(`future release on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    const alice = jmapUser(() => server, "alice@example.org", alicePassword);
    let accountId = "";

    async function submit(subject: string, ...parameters: string[]): Promise<string> {
      const { stdout } = await run("python3", [
        "-c",
        SUBMIT,
        String(server.ports.submission),
        alicePassword,
        subject,
        ...parameters,
      ]);
      return stdout;
    }

    /** When bob's INBOX got the message with this subject (its internal date); null when it has none. */
    async function bobGot(subject: string): Promise<Date | null> {
      const listed = await server.cli(["mail", "list", "bob@example.org", "--json"]);
      assert.equal(listed.code, 0, listed.stderr);
      const found = (JSON.parse(listed.stdout) as Array<{ subject: string; internalDate: string }>).find(
        (m) => m.subject === subject,
      );
      return found === undefined ? null : new Date(found.internalDate);
    }
    const bobHas = async (subject: string) => (await bobGot(subject)) !== null;

    /**
     * Waits for the message in bob's INBOX and checks it arrived at its release or after: the copy's
     * internal date is when the runner committed it. (Listings alone prove little: one CLI run takes
     * seconds.)
     */
    async function arrivesAfter(subject: string, release: Date): Promise<void> {
      // Waiting starts counting at the release: before it there is nothing to wait for.
      const wait = release.getTime() - Date.now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      const at = await eventually(
        `${subject} in bob's INBOX`,
        async () => (await bobGot(subject)) ?? undefined,
      );
      assert.ok(
        at >= release,
        `delivered at ${at.toISOString()}, before its release ${release.toISOString()}`,
      );
    }

    const api = async (methodCalls: unknown[]): Promise<Calls> => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...alice.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, MAIL, SUBMISSION], methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses;
    };

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          // An hour: every release below comes from the runner waking at the release time, not from a poll.
          MAILROOM_RELAY_POLL_INTERVAL: "1h",
          MAILROOM_SUBMISSION_MAX_FUTURE_RELEASE: "1h",
        },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      const added = await server.cli(
        ["user", "add", "alice@example.org", "--name", "Alice Example", "--password-stdin"],
        `${alicePassword}\n`,
      );
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stderr, /added user alice@example\.org \("Alice Example"\)/);
      const bob = await server.cli(
        ["user", "add", "bob@example.org", "--password-stdin"],
        `${bobPassword}\n`,
      );
      assert.equal(bob.code, 0, bob.stderr);
      accountId = (await alice.session()).primaryAccounts[MAIL];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("smtplib HOLDFOR=30: bob gets nothing before the release and the message after; the trace says so", {
      skip: needs(clients.python3),
    }, async () => {
      const subject = subjectFor("holdfor");
      // Long enough for the two CLI runs below (each a few seconds) to see it still held.
      const out = await submit(subject, "HOLDFOR=30");
      assert.match(out, /^ehlo 3600 \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/m);
      assert.match(out, /^mail 250 /m);
      const accepted = /^data 250 2\.0\.0 Ok: queued as (\S+), held until (\S+)$/m.exec(out);
      assert.ok(accepted, out);
      const [, messageId = "", until = ""] = accepted;
      const release = new Date(until);
      assert.ok(release.getTime() > Date.now() && release.getTime() <= Date.now() + 31_000, until);

      assert.equal(await bobHas(subject), false, "delivered at once despite HOLDFOR");
      const listed = await server.cli(["queue", "list", "--json"]);
      const held = (JSON.parse(listed.stdout) as Loose[]).filter((entry) => entry.messageId === messageId);
      assert.deepEqual(
        held.map((entry) => [entry.recipient, entry.holdUntil]),
        [["bob@example.org", release.toISOString()]],
      );
      await arrivesAfter(subject, release);

      const trace = await server.cli(["trace", messageId]);
      assert.equal(trace.code, 0, trace.stderr);
      assert.match(trace.stdout, /held until \S+ \(future release, RFC 4865\)/);
      assert.match(trace.stdout, /<bob@example\.org> queued until its release, then delivered here/);
      assert.match(
        trace.stdout,
        /<bob@example\.org> delivered, attempt 1: 250 2\.0\.0 released and delivered here/,
      );
    });

    test("smtplib: a hold longer than the limit, or HOLDFOR with HOLDUNTIL, gets 501 5.5.4", {
      skip: needs(clients.python3),
    }, async () => {
      assert.match(
        await submit(subjectFor("too-long"), "HOLDFOR=3601"),
        /^mail 501 5\.5\.4 HOLDFOR=3601 is longer than the 3600 seconds/m,
      );
      assert.match(
        await submit(subjectFor("both"), "HOLDFOR=5", "HOLDUNTIL=2099-01-01T00:00:00Z"),
        /^mail 501 5\.5\.4 HOLDFOR and HOLDUNTIL cannot be used together/m,
      );
    });

    test("the hold survives kill -9: released after the restart, not before", {
      skip: needs(clients.python3),
    }, async () => {
      const subject = subjectFor("kill");
      const until = new Date(Math.ceil((Date.now() + 8000) / 1000) * 1000).toISOString().replace(".000", "");
      const out = await submit(subject, `HOLDUNTIL=${until}`);
      assert.match(out, /^data 250 .*held until/m);
      await server.kill();
      await server.restart();
      // Whenever the restarted runner looks, the copy bob gets is dated at or after the release.
      await arrivesAfter(subject, new Date(until));
    });

    test("JMAP: maxDelayedSend and FUTURERELEASE in the session follow the configuration", async () => {
      const session = await alice.session();
      const capability = session.accounts[accountId].accountCapabilities[SUBMISSION];
      assert.equal(capability.maxDelayedSend, 3600);
      assert.equal(capability.submissionExtensions.FUTURERELEASE[0], "3600");
      assert.match(capability.submissionExtensions.FUTURERELEASE[1], /Z$/);
    });

    test("JMAP: a held EmailSubmission is pending with sendAt its release, cancelable, then final once released", async () => {
      const [[, boxes], [, identities]] = await api([
        ["Mailbox/get", { accountId, properties: ["role"] }, "m"],
        ["Identity/get", { accountId }, "i"],
      ]);
      const drafts = (boxes.list as Loose[]).find((box) => box.role === "drafts")?.id as string;
      const identityId = identities.list[0].id as string;
      const draft = (subject: string) => ({
        mailboxIds: { [drafts]: true },
        keywords: { $draft: true },
        from: [{ email: "alice@example.org" }],
        to: [{ email: "bob@example.org" }],
        subject,
        textBody: [{ partId: "t", type: "text/plain" }],
        bodyValues: { t: { value: "later, over JMAP" } },
      });
      const envelope = (parameters: Loose) => ({
        mailFrom: { email: "alice@example.org", parameters },
        rcptTo: [{ email: "bob@example.org", parameters: null }],
      });
      const canceledSubject = subjectFor("jmap-cancel");
      const releasedSubject = subjectFor("jmap-release");
      const before = Date.now();
      const [, [, set]] = await api([
        [
          "Email/set",
          { accountId, create: { a: draft(canceledSubject), b: draft(releasedSubject), c: draft("x") } },
          "e",
        ],
        [
          "EmailSubmission/set",
          {
            accountId,
            create: {
              held: { identityId, emailId: "#a", envelope: envelope({ HOLDFOR: "600" }) },
              soon: { identityId, emailId: "#b", envelope: envelope({ holdfor: "2" }) },
              tooLong: { identityId, emailId: "#c", envelope: envelope({ HOLDFOR: "7200" }) },
              unknown: { identityId, emailId: "#c", envelope: envelope({ NOTIFY: "SUCCESS" }) },
            },
          },
          "s",
        ],
      ]);
      assert.equal(set.notCreated.tooLong.type, "invalidProperties");
      assert.match(set.notCreated.tooLong.description, /longer than the 3600 seconds/);
      assert.equal(set.notCreated.unknown.type, "invalidProperties");
      for (const id of ["held", "soon"]) assert.equal(set.created[id].undoStatus, "pending", id);
      const heldAt = Date.parse(set.created.held.sendAt);
      assert.ok(heldAt >= Math.floor(before / 1000) * 1000 + 600_000 && heldAt <= Date.now() + 601_000);
      const heldId = set.created.held.id as string;
      const soonId = set.created.soon.id as string;

      const [[, got]] = await api([["EmailSubmission/get", { accountId, ids: [heldId] }, "g"]]);
      const held = got.list[0] as Loose;
      assert.equal(held.undoStatus, "pending");
      assert.equal(held.sendAt, set.created.held.sendAt);
      assert.deepEqual(held.envelope.mailFrom, {
        email: "alice@example.org",
        parameters: { HOLDFOR: "600" },
      });
      assert.equal(held.deliveryStatus["bob@example.org"].delivered, "queued");
      const [[, pending]] = await api([
        ["EmailSubmission/query", { accountId, filter: { undoStatus: "pending" } }, "q"],
      ]);
      assert.ok(pending.ids.includes(heldId) && pending.ids.includes(soonId), JSON.stringify(pending.ids));

      // During the hold: canceled, the queue no longer has it, and it never arrives.
      const [[, canceled]] = await api([
        ["EmailSubmission/set", { accountId, update: { [heldId]: { undoStatus: "canceled" } } }, "c"],
      ]);
      assert.deepEqual(canceled.updated, { [heldId]: null });
      const [[, after]] = await api([["EmailSubmission/get", { accountId, ids: [heldId] }, "g"]]);
      assert.equal(after.list[0].undoStatus, "canceled");
      const queue = JSON.parse((await server.cli(["queue", "list", "--json"])).stdout) as Loose[];
      assert.equal(
        queue.filter((entry) => entry.holdUntil === new Date(heldAt).toISOString()).length,
        0,
        JSON.stringify(queue),
      );

      // The other one is released: final, delivered, in bob's INBOX.
      const soonAt = new Date(set.created.soon.sendAt);
      await arrivesAfter(releasedSubject, soonAt);
      const released = await eventually("the released submission's outcome", async () => {
        const [[, now]] = await api([["EmailSubmission/get", { accountId, ids: [soonId] }, "g"]]);
        const one = now.list[0] as Loose;
        return one.undoStatus === "final" ? one : undefined;
      });
      assert.equal(released.deliveryStatus["bob@example.org"].delivered, "yes");
      assert.equal(released.sendAt, set.created.soon.sendAt);
      assert.equal(await bobHas(canceledSubject), false);
    });

    test("the user's display name is the default Identity's name, set and removed by the CLI", async () => {
      const defaultName = async () => {
        const [[, identities]] = await api([["Identity/get", { accountId }, "i"]]);
        const own = (identities.list as Loose[]).find((identity) => identity.mayDelete === false);
        assert.equal(own?.email, "alice@example.org");
        return own?.name as string;
      };
      assert.equal(await defaultName(), "Alice Example");
      const renamed = await server.cli(["user", "name", "alice@example.org", "Alice Q. Example"]);
      assert.equal(renamed.code, 0, renamed.stderr);
      assert.equal(await defaultName(), "Alice Q. Example");
      const refused = await server.cli(["user", "name", "alice@example.org", "two\nlines"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /control characters/);
      assert.equal(await defaultName(), "Alice Q. Example");
      assert.equal((await server.cli(["user", "name", "alice@example.org"])).code, 0);
      assert.equal(await defaultName(), "");
    });
  });
}
