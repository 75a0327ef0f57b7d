// JMAP Sieve (RFC 9661) against a real `mailroom serve` on both stores, over plain HTTP with fetch: the
// capability and its limits in the session, scripts uploaded as blobs, validated, created, activated
// (onSuccessActivateScript), renamed, replaced, deactivated and destroyed, /get, /changes and /query,
// and the SetErrors (invalidSieve, sieveIsActive, alreadyExists with existingId, tooLarge, overQuota,
// blobNotFound). A script set over JMAP then files a message delivered over SMTP (read back over IMAP),
// and ManageSieve (python3-sievelib) and `mailroom sieve list` see the same scripts.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { jmapUser } from "./jmap-helpers.js";

const run = promisify(execFile);

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: the method responses, destructured as the calls were made
type Responses = any;

const CORE = "urn:ietf:params:jmap:core";
const SIEVE = "urn:ietf:params:jmap:sieve";
const ALICE = "alice@example.org";
const PASSWORD = "alice's long sieve passphrase";

const FILING = `require ["fileinto", "mailbox"];
if header :contains "subject" "[invoices]" { fileinto :create "Invoices"; }
`;

for (const backend of await integrationBackends()) {
  describe(`JMAP Sieve on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    const alice = jmapUser(() => server, ALICE, PASSWORD);
    let accountId: string;

    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...alice.auth, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const api = async (methodCalls: unknown[]): Promise<Responses> => {
      const response = await post({ using: [CORE, SIEVE], methodCalls });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses as Responses;
    };
    const upload = (source: string) => alice.upload(accountId, Buffer.from(source), "application/sieve");
    const download = async (blobId: string) => {
      const response = await fetch(
        `http://127.0.0.1:${server.ports.http}/jmap/download/${accountId}/${blobId}/script.sieve?accept=application/sieve`,
        { headers: alice.auth },
      );
      return { status: response.status, text: await response.text() };
    };
    const getAll = async () => {
      const [[, got]] = await api([["SieveScript/get", { accountId }, "g"]]);
      return got as Loose;
    };

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: { MAILROOM_MANAGESIEVE_MAX_SCRIPTS: "3", MAILROOM_MANAGESIEVE_MAX_SCRIPT_SIZE: "4096" },
      });
      await alice.add();
      accountId = (await alice.session()).primaryAccounts[SIEVE];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("the session names the capability; the account has ManageSieve's limits", async () => {
      const session = await alice.session();
      assert.match(session.capabilities[SIEVE].implementation, /^mailroom /);
      const capability = session.accounts[accountId].accountCapabilities[SIEVE];
      assert.equal(capability.maxSizeScriptName, 512);
      assert.equal(capability.maxSizeScript, 4096);
      assert.equal(capability.maxNumberScripts, 3);
      assert.equal(capability.maxNumberRedirects, 4);
      assert.ok(capability.sieveExtensions.includes("fileinto"));
      assert.equal(capability.notificationMethods, null);
      assert.equal(capability.externalLists, null);
    });

    test("validate: a good script has no error, a bad one invalidSieve with its line, a missing blob blobNotFound", async () => {
      const good = await upload(FILING);
      const bad = await upload('require "fileinto";\nfileinto;\n');
      const [[, ok], [, broken], [, missing]] = await api([
        ["SieveScript/validate", { accountId, blobId: good }, "a"],
        ["SieveScript/validate", { accountId, blobId: bad }, "b"],
        ["SieveScript/validate", { accountId, blobId: "Gnosuchblob000000000" }, "c"],
      ]);
      assert.equal(ok.error, null);
      assert.equal(broken.error.type, "invalidSieve");
      assert.match(broken.error.description, /^2:/);
      assert.equal(missing.error.type, "blobNotFound");
      assert.deepEqual((await getAll()).list, []);
    });

    test("create and activate in one call, then get, changes, query, rename, replace, deactivate, destroy", async () => {
      const empty = await getAll();
      const blobId = await upload(FILING);
      const [[, set]] = await api([
        [
          "SieveScript/set",
          {
            accountId,
            ifInState: empty.state,
            create: { filing: { name: "filing", blobId }, spare: { blobId: await upload("keep;\n") } },
            onSuccessActivateScript: "#filing",
          },
          "s",
        ],
      ]);
      assert.equal(set.oldState, empty.state);
      assert.notEqual(set.newState, empty.state);
      const filingId = set.created.filing.id;
      assert.equal(set.created.filing.isActive, true);
      assert.equal(set.created.spare.isActive, false);
      // A script without a name is given one (RFC 9661 §2.1).
      assert.equal(set.created.spare.name, "script");
      // The stored script has a blob of its own: its text.
      assert.notEqual(set.created.filing.blobId, blobId);
      assert.deepEqual(await download(set.created.filing.blobId), { status: 200, text: FILING });

      const got = await getAll();
      assert.deepEqual(
        got.list.map((script: Loose) => [script.name, script.isActive]),
        [
          ["filing", true],
          ["script", false],
        ],
      );
      const [[, changes]] = await api([["SieveScript/changes", { accountId, sinceState: empty.state }, "c"]]);
      assert.deepEqual(changes.created.sort(), [filingId, set.created.spare.id].sort());
      assert.equal(changes.newState, got.state);

      const [[, active], [, named]] = await api([
        ["SieveScript/query", { accountId, filter: { isActive: true } }, "q1"],
        [
          "SieveScript/query",
          { accountId, filter: { name: "ipt" }, sort: [{ property: "name", isAscending: false }] },
          "q2",
        ],
      ]);
      assert.deepEqual(active.ids, [filingId]);
      assert.deepEqual(named.ids, [set.created.spare.id]);

      // Rename the active one and replace its text: it stays active, and its blobId follows the text.
      const replacement = FILING.replace("Invoices", "Bills");
      const [[, updated]] = await api([
        [
          "SieveScript/set",
          { accountId, update: { [filingId]: { name: "bills", blobId: await upload(replacement) } } },
          "u",
        ],
      ]);
      assert.deepEqual(Object.keys(updated.updated), [filingId]);
      assert.deepEqual(await download(updated.updated[filingId].blobId), { status: 200, text: replacement });
      assert.equal((await download(set.created.filing.blobId)).status, 404);
      const [[, since]] = await api([["SieveScript/changes", { accountId, sinceState: got.state }, "c"]]);
      assert.deepEqual(since.updated, [filingId]);

      // The active script cannot be destroyed; deactivated, it can (and is reported isActive false).
      const [[, refused]] = await api([["SieveScript/set", { accountId, destroy: [filingId] }, "d"]]);
      assert.equal(refused.notDestroyed[filingId].type, "sieveIsActive");
      const [[, deactivated]] = await api([
        ["SieveScript/set", { accountId, onSuccessDeactivateScript: true }, "x"],
      ]);
      assert.deepEqual(deactivated.updated, { [filingId]: { isActive: false } });
      const [[, destroyed]] = await api([
        ["SieveScript/set", { accountId, destroy: [filingId, set.created.spare.id] }, "d"],
      ]);
      assert.deepEqual(destroyed.destroyed, [filingId, set.created.spare.id]);
      const [[, gone]] = await api([["SieveScript/changes", { accountId, sinceState: since.newState }, "c"]]);
      assert.deepEqual(gone.destroyed.sort(), [filingId, set.created.spare.id].sort());
      assert.deepEqual((await getAll()).list, []);
    });

    test("refusals: invalidSieve, alreadyExists with existingId, tooLarge, overQuota, isActive, notFound; a failure skips activation", async () => {
      const [[, first]] = await api([
        ["SieveScript/set", { accountId, create: { a: { name: "a", blobId: await upload("keep;") } } }, "s"],
      ]);
      const aId = first.created.a.id;
      const [[, set]] = await api([
        [
          "SieveScript/set",
          {
            accountId,
            create: {
              broken: { name: "broken", blobId: await upload("fileinto;") },
              same: { name: "a", blobId: await upload("keep;") },
              big: { name: "big", blobId: await upload(`# ${"x".repeat(5000)}\nkeep;`) },
              badName: { name: "tab\there", blobId: await upload("keep;") },
              activeNow: { name: "c", blobId: await upload("keep;"), isActive: true },
              noBlob: { name: "d", blobId: "Gnosuchblob000000000" },
            },
            update: { S999999: { name: "zzz" } },
            onSuccessActivateScript: aId,
          },
          "s",
        ],
      ]);
      assert.equal(set.notCreated.broken.type, "invalidSieve");
      assert.equal(set.notCreated.same.type, "alreadyExists");
      assert.equal(set.notCreated.same.existingId, aId);
      assert.equal(set.notCreated.big.type, "tooLarge");
      assert.deepEqual(set.notCreated.badName.properties, ["name"]);
      assert.deepEqual(set.notCreated.activeNow.properties, ["isActive"]);
      assert.equal(set.notCreated.noBlob.type, "blobNotFound");
      assert.equal(set.notUpdated.S999999.type, "notFound");
      assert.equal(set.created, null);
      // Something failed, so nothing was activated (RFC 9661 §2.4).
      assert.equal((await getAll()).list.find((script: Loose) => script.id === aId).isActive, false);

      const [[, more]] = await api([
        [
          "SieveScript/set",
          {
            accountId,
            create: {
              b: { name: "b", blobId: await upload("keep;") },
              c: { name: "c", blobId: await upload("keep;") },
              d: { name: "d", blobId: await upload("keep;") },
            },
          },
          "s",
        ],
      ]);
      // maxNumberScripts is 3: a, b, c fit, d does not.
      assert.deepEqual(Object.keys(more.created).sort(), ["b", "c"]);
      assert.equal(more.notCreated.d.type, "overQuota");

      // Bad arguments refuse the whole call.
      const [[name, error]] = await api([
        ["SieveScript/set", { accountId, onSuccessActivateScript: 7 }, "s"],
      ]);
      assert.equal(name, "error");
      assert.equal(error.type, "invalidArguments");
      const [[, stale]] = await api([
        ["SieveScript/set", { accountId, ifInState: "s0", destroy: [aId] }, "s"],
      ]);
      assert.equal(stale.type, "stateMismatch");
      const [[, cannot]] = await api([["SieveScript/changes", { accountId, sinceState: "s99999" }, "c"]]);
      assert.equal(cannot.type, "cannotCalculateChanges");

      const ids = (await getAll()).list.map((script: Loose) => script.id);
      await api([["SieveScript/set", { accountId, destroy: ids }, "d"]]);
      assert.deepEqual((await getAll()).list, []);
    });

    test("without the capability in using, the methods are refused", async () => {
      const response = await post({ using: [CORE], methodCalls: [["SieveScript/get", { accountId }, "g"]] });
      const [[name, error]] = ((await response.json()) as Loose).methodResponses;
      assert.equal(name, "error");
      assert.equal(error.type, "unknownMethod");
    });

    test("a script set over JMAP files SMTP mail, and ManageSieve and `mailroom sieve list` see it", async () => {
      const [[, set]] = await api([
        [
          "SieveScript/set",
          {
            accountId,
            create: { filing: { name: "from-jmap", blobId: await upload(FILING) } },
            onSuccessActivateScript: "#filing",
          },
          "s",
        ],
      ]);
      assert.equal(set.created.filing.isActive, true);
      await alice.deliver({ subject: "[invoices] March", text: "Pay up.\n" }, "billing@shop.test");
      await alice.deliver({ subject: "Hello", text: "Hi.\n" }, "friend@else.test");
      const imap = await alice.imap();
      try {
        const subjects = async (mailbox: string) => {
          const lock = await imap.getMailboxLock(mailbox);
          try {
            const found: string[] = [];
            for await (const message of imap.fetch("1:*", { envelope: true })) {
              found.push(message.envelope?.subject ?? "");
            }
            return found;
          } finally {
            lock.release();
          }
        };
        assert.deepEqual(await subjects("Invoices"), ["[invoices] March"]);
        assert.deepEqual(await subjects("INBOX"), ["Hello"]);
      } finally {
        await imap.logout();
      }

      const listed = await server.cli(["sieve", "list", ALICE]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(listed.stdout, "* from-jmap\n");
    });

    test("ManageSieve's writes reach JMAP: listed with their state moved", {
      skip: needs(clients.pythonSievelib),
    }, async () => {
      const before = await getAll();
      const script = `
import json, sys
from sievelib.managesieve import Client
c = Client("127.0.0.1", int(sys.argv[1]))
c.connect(sys.argv[2], sys.argv[3], starttls=False, authmech="PLAIN")
out = {"list": c.listscripts(), "put": c.putscript("from-managesieve", "discard;\\n")}
c.logout()
print(json.dumps(out))
`;
      const { stdout } = await run(
        "/usr/bin/python3",
        ["-c", script, String(server.ports.managesieve), ALICE, PASSWORD],
        { timeout: 60_000 },
      );
      const out = JSON.parse(stdout) as Loose;
      assert.deepEqual(out.list, ["from-jmap", []]);
      assert.equal(out.put, true);
      const [[, changes]] = await api([
        ["SieveScript/changes", { accountId, sinceState: before.state }, "c"],
      ]);
      assert.equal(changes.created.length, 1);
      const after = await getAll();
      const created = after.list.find((each: Loose) => each.id === changes.created[0]);
      assert.equal(created.name, "from-managesieve");
      assert.equal((await download(created.blobId)).text, "discard;\n");
    });
  });
}
