// JMAP VacationResponse (RFC 8621 §8) against a real `mailroom serve` on both stores: the capability in
// the session, /get and /set over HTTP, and the setting really answering: mail that bob sends alice over
// SMTP while she is away puts her reply in bob's INBOX (read over JMAP as bob), and nothing once she is
// back. A local sender gets the reply in the INBOX, so this needs no relay; the queue is vacation.test.ts's.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: the method responses, destructured as the calls were made
type Responses = any;

const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";
const VACATION = "urn:ietf:params:jmap:vacationresponse";
const ALICE = "alice@example.org";
const BOB = "bob@example.org";
const CAROL = "carol@example.org";

for (const backend of await integrationBackends()) {
  describe(`JMAP VacationResponse on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    const alice = jmapUser(() => server, ALICE, "alice's long passphrase");
    const bob = jmapUser(() => server, BOB, "bob's long passphrase");
    const carol = jmapUser(() => server, CAROL, "carol's long passphrase");
    let aliceAccount: string;

    const api = async (
      user: typeof alice,
      methodCalls: unknown[],
      using = [CORE, VACATION],
    ): Promise<Responses> => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...user.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using, methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses as Responses;
    };

    const send = async (from: string, subject: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        secure: false,
        ignoreTLS: true,
      });
      try {
        await transport.sendMail({ from, to: ALICE, subject, text: "Are you in?" });
      } finally {
        transport.close();
      }
    };

    /** "from: subject" of the auto-replies in the user's mailboxes, read over JMAP as that user. */
    const replies = async (user: typeof alice): Promise<string[]> => {
      const accountId = (await user.session()).primaryAccounts[MAIL];
      const [, [, got]] = await api(
        user,
        [
          ["Email/query", { accountId }, "q"],
          [
            "Email/get",
            {
              accountId,
              "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
              properties: ["subject", "header:Auto-Submitted:asText", "from"],
            },
            "g",
          ],
        ],
        [CORE, MAIL],
      );
      return (got.list as Loose[])
        .filter((email) => email["header:Auto-Submitted:asText"] === "auto-replied")
        .map((email) => `${email.from[0].email}: ${email.subject}`);
    };

    before(async () => {
      server = await startTestServer(backend.store ? { store: backend.store } : {});
      await alice.add();
      for (const [address, password] of [
        [BOB, "bob's long passphrase"],
        [CAROL, "carol's long passphrase"],
      ]) {
        const added = await server.cli(["user", "add", address ?? "", "--password-stdin"], `${password}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
      aliceAccount = (await alice.session()).primaryAccounts[VACATION];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("the session names the capability, and the account has it", async () => {
      const session = await alice.session();
      assert.deepEqual(session.capabilities[VACATION], {});
      assert.deepEqual(session.accounts[aliceAccount].accountCapabilities[VACATION], {});
    });

    test("set while away: bob's mail is answered once; create and destroy are refused", async () => {
      const [[, got]] = await api(alice, [["VacationResponse/get", { accountId: aliceAccount }, "g"]]);
      assert.equal(got.list[0].isEnabled, false);
      const [[name, set]] = await api(alice, [
        [
          "VacationResponse/set",
          {
            accountId: aliceAccount,
            ifInState: got.state,
            create: { c: { isEnabled: true } },
            update: {
              singleton: {
                isEnabled: true,
                fromDate: "2020-01-01T00:00:00Z",
                subject: "Out of office",
                textBody: "Back on Monday.",
              },
            },
            destroy: ["singleton"],
          },
          "s",
        ],
      ]);
      assert.equal(name, "VacationResponse/set");
      assert.deepEqual(set.updated, { singleton: null });
      assert.equal(set.notCreated.c.type, "singleton");
      assert.equal(set.notDestroyed.singleton.type, "singleton");
      assert.notEqual(set.newState, got.state);

      await send(BOB, "Lunch?");
      await send(BOB, "Lunch tomorrow then?");
      assert.deepEqual(await replies(bob), [`${ALICE}: Out of office`]);
    });

    test("disabled: no more replies; /get shows the stored setting", async () => {
      await api(alice, [
        [
          "VacationResponse/set",
          { accountId: aliceAccount, update: { singleton: { isEnabled: false } } },
          "s",
        ],
      ]);
      const [[, got]] = await api(alice, [["VacationResponse/get", { accountId: aliceAccount }, "g"]]);
      assert.deepEqual(got.list, [
        {
          id: "singleton",
          isEnabled: false,
          fromDate: "2020-01-01T00:00:00Z",
          toDate: null,
          subject: "Out of office",
          textBody: "Back on Monday.",
          htmlBody: null,
        },
      ]);
      // Carol has had no reply yet, so only the setting can keep her from getting one.
      await send(CAROL, "Are you back?");
      assert.deepEqual(await replies(carol), []);
    });
  });
}
