// The default JMAP Identity takes its name from the user's display name, so a new display name (by
// `mailroom user name` or the admin API) is an Identity change: a real `mailroom serve` on both stores,
// an EventSource stream that must push the new Identity state, and Identity/changes (RFC 8620 §5.2)
// naming the default identity as updated; the same name again moves nothing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: methodResponses, destructured as the test expects them
type Responses = any;

const ADMIN = "root@example.org";
const ALICE = "alice@example.org";
const PASSWORD = "a long enough passphrase";
const CORE = "urn:ietf:params:jmap:core";
const SUBMISSION = "urn:ietf:params:jmap:submission";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const asAlice = { Authorization: basic(ALICE, PASSWORD) };

/** Reads an event stream until its first `state` event, which it returns parsed. */
async function firstStateChange(body: ReadableStream<Uint8Array>): Promise<Loose> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended without a state event: ${text}`);
    text += value;
    const data = /^event: state\ndata: (.+)\n\n/m.exec(text)?.[1];
    if (data !== undefined) {
      await reader.cancel();
      return JSON.parse(data) as Loose;
    }
  }
}

for (const backend of await integrationBackends()) {
  describe(`display name and the default Identity on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let base: string;
    let accountId: string;

    const api = async (methodCalls: unknown[]): Promise<Responses> => {
      const response = await fetch(`${base}/jmap/api/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...asAlice },
        body: JSON.stringify({ using: [CORE, SUBMISSION], methodCalls }),
      });
      assert.equal(response.status, 200);
      return ((await response.json()) as Loose).methodResponses;
    };
    const identities = async () => (await api([["Identity/get", { accountId }, "g"]]))[0]![1] as Loose;

    /** Opens an EventSource stream for Identity, runs `change`, and returns the StateChange it pushed. */
    async function pushedBy(change: () => Promise<void>): Promise<Loose> {
      const stream = await fetch(`${base}/jmap/eventsource/?types=Identity&closeafter=state&ping=0`, {
        headers: asAlice,
      });
      assert.equal(stream.status, 200);
      const pushed = firstStateChange(stream.body!);
      await change();
      return Promise.race([
        pushed,
        new Promise<Loose>((_, reject) =>
          setTimeout(() => reject(new Error("no StateChange within 12 s")), 12_000).unref(),
        ),
      ]);
    }

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: { MAILROOM_AUTH_FAILURE_DELAY: "1ms" },
      });
      base = `http://127.0.0.1:${server.ports.http}`;
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const [user, flags] of [
        [ADMIN, ["--admin"]],
        [ALICE, []],
      ] as const) {
        const added = await server.cli(["user", "add", user, ...flags, "--password-stdin"], `${PASSWORD}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
      const session = (await (await fetch(`${base}/.well-known/jmap`, { headers: asAlice })).json()) as Loose;
      accountId = session.primaryAccounts[SUBMISSION];
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("`mailroom user name` pushes a new Identity state and Identity/changes names the default identity", async () => {
      const before = await identities();
      const defaultId = before.list[0].id as string;
      assert.equal(before.list[0].name, "");
      const change = await pushedBy(async () => {
        const named = await server.cli(["user", "name", ALICE, "Alice Liddell"]);
        assert.equal(named.code, 0, named.stderr);
      });
      assert.equal(change["@type"], "StateChange");
      const pushedState = change.changed[accountId].Identity as string;
      assert.notEqual(pushedState, before.state);
      const [[, changes], [, after]] = await api([
        ["Identity/changes", { accountId, sinceState: before.state }, "c"],
        ["Identity/get", { accountId, ids: [defaultId] }, "g"],
      ]);
      assert.equal(changes.newState, pushedState);
      assert.deepEqual(changes.updated, [defaultId]);
      assert.deepEqual(changes.created, []);
      assert.deepEqual(changes.destroyed, []);
      assert.equal(after.state, pushedState);
      assert.equal(after.list[0].name, "Alice Liddell");
    });

    test("the admin API's PUT /users/EMAIL/name does the same; the same name again changes nothing", async () => {
      const before = await identities();
      const defaultId = before.list[0].id as string;
      const put = (name: string | null) =>
        fetch(`${base}/admin/api/users/${ALICE}/name`, {
          method: "PUT",
          headers: { Authorization: basic(ADMIN, PASSWORD), "Content-Type": "application/json" },
          body: JSON.stringify({ name }),
        });
      const change = await pushedBy(async () => {
        const response = await put("Alice P. Liddell");
        assert.equal(response.status, 200, await response.text());
      });
      const pushedState = change.changed[accountId].Identity as string;
      const [[, changes]] = await api([["Identity/changes", { accountId, sinceState: before.state }, "c"]]);
      assert.equal(changes.newState, pushedState);
      assert.deepEqual(changes.updated, [defaultId]);
      assert.equal((await identities()).list[0].name, "Alice P. Liddell");

      assert.equal((await put("Alice P. Liddell")).status, 200);
      const [[, none]] = await api([["Identity/changes", { accountId, sinceState: pushedState }, "c"]]);
      assert.equal(none.newState, pushedState);
      assert.deepEqual(none.updated, []);
    });

    test("a made identity and a display name number their changes apart", async () => {
      const before = await identities();
      const defaultId = before.list[0].id as string;
      const [[, created]] = await api([
        ["Identity/set", { accountId, create: { a: { email: ALICE, name: "Work" } } }, "s"],
      ]);
      const made = created.created.a.id as string;
      const named = await server.cli(["user", "name", ALICE]);
      assert.equal(named.code, 0, named.stderr);
      const [[, changes], [, now]] = await api([
        ["Identity/changes", { accountId, sinceState: created.newState }, "c"],
        ["Identity/get", { accountId }, "g"],
      ]);
      assert.deepEqual(changes.updated, [defaultId]);
      assert.notEqual(changes.newState, created.newState);
      assert.equal(now.state, changes.newState);
      assert.equal(now.list[0].name, "");
      const [[, all]] = await api([["Identity/changes", { accountId, sinceState: before.state }, "c"]]);
      assert.deepEqual(all.created, [made]);
      assert.deepEqual(all.updated, [defaultId]);
    });
  });
}
