// JMAP Sieve (RFC 9661) keeping clients in step, against a real `mailroom serve` on both stores:
// SieveScript/changes paged by maxChanges and its cannotCalculateChanges (RFC 8620 §5.2), no
// SieveScript/queryChanges (RFC 9661 defines none), push of the SieveScript state over EventSource
// (fetch) and WebSocket (the `ws` library) for writes by JMAP, ManageSieve (python3-sievelib) and
// `mailroom sieve`, and max_scripts holding when JMAP requests and ManageSieve PUTSCRIPTs race.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { after, afterEach, before, describe, test } from "node:test";
import { promisify } from "node:util";
import WebSocket from "ws";
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
const WEBSOCKET = "urn:ietf:params:jmap:websocket";
const ALICE = "alice@example.org";
const PASSWORD = "alice's long sieve passphrase";
const MAX_SCRIPTS = 5;

/** python3-sievelib PUTSCRIPTs each of `names` (the text "keep;"); prints what each returned. */
const PUT_SCRIPTS = `
import json, sys
from sievelib.managesieve import Client
c = Client("127.0.0.1", int(sys.argv[1]))
c.connect(sys.argv[2], sys.argv[3], starttls=False, authmech="PLAIN")
print(json.dumps([c.putscript(name, "keep;\\n") for name in sys.argv[4:]]))
c.logout()
`;

for (const backend of await integrationBackends()) {
  describe(`JMAP Sieve changes, push and limits on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    const alice = jmapUser(() => server, ALICE, PASSWORD);
    let accountId: string;

    const api = async (methodCalls: unknown[]): Promise<Responses> => {
      const response = await fetch(`http://127.0.0.1:${server.ports.http}/jmap/api/`, {
        method: "POST",
        headers: { ...alice.auth, "Content-Type": "application/json" },
        body: JSON.stringify({ using: [CORE, SIEVE], methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses as Responses;
    };
    const getAll = async (): Promise<Loose> => (await api([["SieveScript/get", { accountId }, "g"]]))[0][1];
    const create = async (name: string) => {
      const blobId = await alice.upload(accountId, Buffer.from("keep;\n"), "application/sieve");
      const [[, set]] = await api([
        ["SieveScript/set", { accountId, create: { [name]: { name, blobId } } }, "s"],
      ]);
      return set as Loose;
    };
    const managesieve = (names: string[]) =>
      run(
        "/usr/bin/python3",
        ["-c", PUT_SCRIPTS, String(server.ports.managesieve), ALICE, PASSWORD, ...names],
        {
          timeout: 60_000,
        },
      ).then(({ stdout }) => JSON.parse(stdout) as boolean[]);
    const cliPut = async (name: string) => {
      const put = await server.cli(["sieve", "put", ALICE, name, "-"], "keep;\n");
      assert.equal(put.code, 0, put.stderr);
    };

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: { MAILROOM_MANAGESIEVE_MAX_SCRIPTS: String(MAX_SCRIPTS) },
      });
      await alice.add();
      accountId = (await alice.session()).primaryAccounts[SIEVE];
    });

    // Each test starts from no scripts: deactivate, then destroy (the active one cannot be).
    afterEach(async () => {
      await api([["SieveScript/set", { accountId, onSuccessDeactivateScript: true }, "d"]]);
      const ids = (await getAll()).list.map((script: Loose) => script.id);
      const [[, set]] = await api([["SieveScript/set", { accountId, destroy: ids }, "x"]]);
      assert.deepEqual(set.notDestroyed ?? null, null);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("changes are paged by maxChanges; bad states and values are refused; there is no queryChanges", async () => {
      const start = (await getAll()).state;
      const ids: string[] = [];
      for (const name of ["one", "two", "three"]) ids.push((await create(name)).created[name].id);

      const [[, first]] = await api([
        ["SieveScript/changes", { accountId, sinceState: start, maxChanges: 2 }, "c"],
      ]);
      assert.deepEqual(first.created, ids.slice(0, 2));
      assert.equal(first.hasMoreChanges, true);
      const [[, rest]] = await api([
        ["SieveScript/changes", { accountId, sinceState: first.newState, maxChanges: 2 }, "c"],
      ]);
      assert.deepEqual(rest.created, ids.slice(2));
      assert.deepEqual([rest.updated, rest.destroyed, rest.hasMoreChanges], [[], [], false]);
      assert.equal(rest.newState, (await getAll()).state);

      const refusals = await api([
        ["SieveScript/changes", { accountId, sinceState: start, maxChanges: 0 }, "zero"],
        ["SieveScript/changes", { accountId, sinceState: "s999999" }, "future"],
        ["SieveScript/changes", { accountId, sinceState: "m1" }, "foreign"],
        ["SieveScript/queryChanges", { accountId, sinceQueryState: start }, "qc"],
      ]);
      assert.deepEqual(
        refusals.map(([name, body]: [string, Loose]) => [name, body.type]),
        [
          ["error", "invalidArguments"],
          ["error", "cannotCalculateChanges"],
          ["error", "cannotCalculateChanges"],
          ["error", "unknownMethod"],
        ],
      );
      const [[, query]] = await api([["SieveScript/query", { accountId }, "q"]]);
      assert.equal(query.canCalculateChanges, false);

      // Switching the active script changes two scripts in one state, which one id cannot stand for.
      await api([["SieveScript/set", { accountId, onSuccessActivateScript: ids[0] }, "a"]]);
      const between = (await getAll()).state;
      await api([["SieveScript/set", { accountId, onSuccessActivateScript: ids[1] }, "a"]]);
      const [[, tooFew], [, enough]] = await api([
        ["SieveScript/changes", { accountId, sinceState: between, maxChanges: 1 }, "one"],
        ["SieveScript/changes", { accountId, sinceState: between, maxChanges: 2 }, "two"],
      ]);
      assert.equal(tooFew.type, "cannotCalculateChanges");
      assert.deepEqual(enough.updated, ids.slice(0, 2));
      assert.equal(enough.hasMoreChanges, false);
    });

    test("EventSource pushes the SieveScript state when JMAP, ManageSieve or the CLI writes a script", async () => {
      const writers: Array<[string, () => Promise<unknown>]> = [
        ["JMAP", () => create("pushed-jmap")],
        ["CLI", () => cliPut("pushed-cli")],
      ];
      if (!needs(clients.pythonSievelib)) writers.push(["ManageSieve", () => managesieve(["pushed-ms"])]);
      for (const [who, write] of writers) {
        const stream = await fetch(
          `http://127.0.0.1:${server.ports.http}/jmap/eventsource/?types=SieveScript&closeafter=state&ping=0`,
          { headers: alice.auth },
        );
        assert.equal(stream.status, 200);
        const text = stream.text();
        await write();
        const data = /^event: state\ndata: (.+)$/m.exec(await text)?.[1];
        assert.ok(data, who);
        const change = JSON.parse(data) as Loose;
        assert.equal(change["@type"], "StateChange");
        assert.deepEqual(change.changed, { [accountId]: { SieveScript: (await getAll()).state } }, who);
      }
    });

    test("WebSocket push reports SieveScript StateChanges for each writer, and no others", async () => {
      const session = await alice.session();
      const ws = new WebSocket(session.capabilities[WEBSOCKET].url, ["jmap"], { headers: alice.auth });
      const messages: Loose[] = [];
      let wake: (() => void) | undefined;
      ws.on("message", (data) => {
        messages.push(JSON.parse(data.toString()) as Loose);
        wake?.();
      });
      const next = async (): Promise<Loose> => {
        const deadline = Date.now() + 15_000;
        while (messages.length === 0) {
          assert.ok(Date.now() < deadline, "no message in time");
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 500);
          });
        }
        return messages.shift() as Loose;
      };
      await once(ws, "open");
      try {
        ws.send(JSON.stringify({ "@type": "WebSocketPushEnable", dataTypes: ["SieveScript"] }));
        // A request answered after the enable: the watch is running by then.
        ws.send(
          JSON.stringify({
            "@type": "Request",
            id: "r",
            using: [CORE],
            methodCalls: [["Core/echo", {}, "e"]],
          }),
        );
        assert.equal((await next()).requestId, "r");
        const writers: Array<[string, () => Promise<unknown>]> = [
          ["JMAP", () => create("ws-jmap")],
          ["CLI", () => cliPut("ws-cli")],
          [
            "JMAP activation",
            async () =>
              api([
                ["SieveScript/set", { accountId, onSuccessActivateScript: (await getAll()).list[0].id }, "a"],
              ]),
          ],
        ];
        if (!needs(clients.pythonSievelib)) writers.push(["ManageSieve", () => managesieve(["ws-ms"])]);
        for (const [who, write] of writers) {
          await write();
          const change = await next();
          assert.equal(change["@type"], "StateChange", who);
          assert.deepEqual(Object.keys(change.changed[accountId]), ["SieveScript"], who);
          assert.equal(change.changed[accountId].SieveScript, (await getAll()).state, who);
        }
        // Mail moves the Email state, which this client did not ask for.
        await alice.deliver({ subject: "not for the sieve watch", text: "Hi.\n" }, "friend@else.test");
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(messages, []);
      } finally {
        ws.close();
      }
    });

    test("racing creations over JMAP and ManageSieve never pass max_scripts", async () => {
      // maxConcurrentRequests (4) JMAP requests of 3 creations each, and two ManageSieve clients of 2
      // PUTSCRIPTs each, all at once: 16 tries at 5 places.
      const blobId = await alice.upload(accountId, Buffer.from("keep;\n"), "application/sieve");
      const request = (r: number) =>
        api([
          [
            "SieveScript/set",
            {
              accountId,
              create: Object.fromEntries([0, 1, 2].map((n) => [`c${n}`, { name: `race-${r}-${n}`, blobId }])),
            },
            "s",
          ],
        ]).then(([[, set]]: Responses) => set as Loose);
      const sievelib = !needs(clients.pythonSievelib);
      const [sets, puts] = await Promise.all([
        Promise.all([0, 1, 2, 3].map(request)),
        sievelib
          ? Promise.all([managesieve(["race-ms-0", "race-ms-1"]), managesieve(["race-ms-2", "race-ms-3"])])
          : Promise.resolve([]),
      ]);
      const created = sets.flatMap((set) => Object.keys(set.created ?? {}));
      const refused = sets.flatMap((set) => Object.values((set.notCreated ?? {}) as Loose));
      assert.deepEqual(new Set(refused.map((error: Loose) => error.type)), new Set(["overQuota"]));
      assert.equal(created.length + puts.flat().filter((ok) => ok).length, MAX_SCRIPTS);
      assert.equal((await getAll()).list.length, MAX_SCRIPTS);
    });
  });
}
