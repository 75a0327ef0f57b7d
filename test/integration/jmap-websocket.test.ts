// JMAP over WebSocket (RFC 8887) against a real `mailroom serve` on both stores, with the `ws` client
// library: the session's capability, the authenticated handshake with the "jmap" subprotocol, requests
// answered with their requestId, request errors, push by WebSocketPushEnable (also resumed from a
// pushState), and the close codes for binary and oversized messages.

import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import WebSocket from "ws";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";
const WEBSOCKET = "urn:ietf:params:jmap:websocket";
const authorization = `Basic ${Buffer.from(`${ADDRESS}:${PASSWORD}`).toString("base64")}`;

/** An open JMAP WebSocket whose messages are read in order with next(). */
async function open(url: string, headers: Record<string, string> = { Authorization: authorization }) {
  const ws = new WebSocket(url, ["jmap"], { headers });
  const queue: Loose[] = [];
  const waiting: Array<(message: Loose) => void> = [];
  ws.on("message", (data) => {
    const message = JSON.parse(data.toString()) as Loose;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await once(ws, "open");
  return {
    ws,
    send: (message: unknown) => ws.send(typeof message === "string" ? message : JSON.stringify(message)),
    next: (ms = 10_000) =>
      new Promise<Loose>((resolve, reject) => {
        const queued = queue.shift();
        if (queued) return resolve(queued);
        const timer = setTimeout(() => reject(new Error("no message within the time")), ms);
        waiting.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
  };
}

/** The HTTP status a refused handshake got. */
async function refusedStatus(url: string, protocols: string[], headers: Record<string, string>) {
  const ws = new WebSocket(url, protocols, { headers });
  const [, response] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
  // Ending a socket that never opened is reported as an error; here it is the expected outcome.
  ws.on("error", () => undefined);
  ws.terminate();
  return response.statusCode;
}

for (const backend of await integrationBackends()) {
  describe(`JMAP over WebSocket on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let url: string;
    let accountId: string;

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: { MAILROOM_HTTP_MAX_REQUEST_SIZE: "64KiB" },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      const added = await server.cli(["user", "add", ADDRESS, "--password-stdin"], `${PASSWORD}\n`);
      assert.equal(added.code, 0, added.stderr);
      const session = (await (
        await fetch(`http://127.0.0.1:${server.ports.http}/.well-known/jmap`, {
          headers: { Authorization: authorization },
        })
      ).json()) as Loose;
      accountId = session.primaryAccounts[MAIL];
      url = session.capabilities[WEBSOCKET].url;
      assert.equal(url, `ws://127.0.0.1:${server.ports.http}/jmap/ws`);
      assert.equal(session.capabilities[WEBSOCKET].supportsPush, true);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    const deliver = async (subject: string) => {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: server.ports.smtp,
        secure: false,
        ignoreTLS: true,
      });
      await transport.sendMail({ from: "sender@example.net", to: ADDRESS, subject, text: "over the socket" });
      transport.close();
    };

    test("the handshake needs credentials and the jmap subprotocol; a plain GET is told to upgrade", async () => {
      assert.equal(await refusedStatus(url, ["jmap"], {}), 401);
      assert.equal(
        await refusedStatus(url, ["jmap"], {
          Authorization: `Basic ${Buffer.from(`${ADDRESS}:wrong`).toString("base64")}`,
        }),
        401,
      );
      assert.equal(await refusedStatus(url, ["chat"], { Authorization: authorization }), 400);
      const plain = await fetch(url.replace(/^ws/, "http"), { headers: { Authorization: authorization } });
      assert.equal(plain.status, 426);
    });

    test("requests are answered with their requestId; request errors are RequestError objects", async () => {
      const client = await open(url);
      client.send({
        "@type": "Request",
        id: "r1",
        using: [CORE, MAIL],
        methodCalls: [
          ["Core/echo", { hello: "socket" }, "e"],
          ["Mailbox/get", { accountId, ids: null, properties: ["name", "role"] }, "m"],
        ],
      });
      const response = await client.next();
      assert.equal(response["@type"], "Response");
      assert.equal(response.requestId, "r1");
      assert.deepEqual(response.methodResponses[0], ["Core/echo", { hello: "socket" }, "e"]);
      assert.ok(
        response.methodResponses[1][1].list.some((mailbox: Loose) => mailbox.role === "inbox"),
        JSON.stringify(response),
      );

      client.send("{this is not json");
      const notJson = await client.next();
      assert.equal(notJson["@type"], "RequestError");
      assert.equal(notJson.type, "urn:ietf:params:jmap:error:notJSON");
      client.send({ "@type": "Request", id: "r2", using: ["urn:example:nothing"], methodCalls: [] });
      const unknown = await client.next();
      assert.equal(unknown["@type"], "RequestError");
      assert.equal(unknown.requestId, "r2");
      assert.equal(unknown.type, "urn:ietf:params:jmap:error:unknownCapability");
      client.send({ "@type": "Pull", id: "r3" });
      const notRequest = await client.next();
      assert.equal(notRequest.type, "urn:ietf:params:jmap:error:notRequest");
      assert.equal(notRequest.requestId, "r3");
      client.ws.close();
    });

    test("push: a delivery sends a StateChange with the Mailbox state; a pushState from before replays it", async () => {
      const client = await open(url);
      client.send({ "@type": "WebSocketPushEnable", dataTypes: null });
      // A request after the enable: its answer proves the enable was read before the delivery below.
      client.send({ "@type": "Request", id: "before", using: [CORE], methodCalls: [["Core/echo", {}, "e"]] });
      assert.equal((await client.next()).requestId, "before");
      client.send({
        "@type": "Request",
        id: "state",
        using: [MAIL],
        methodCalls: [["Mailbox/get", { accountId, ids: [] }, "g"]],
      });
      const stateBefore = (await client.next()).methodResponses[0][1].state as string;

      await deliver("pushed over WebSocket");
      const change = await client.next();
      assert.equal(change["@type"], "StateChange");
      const pushedState = change.changed[accountId].Mailbox as string;
      assert.notEqual(pushedState, stateBefore);
      client.send({
        "@type": "Request",
        id: "after",
        using: [MAIL],
        methodCalls: [["Mailbox/get", { accountId, ids: [] }, "g"]],
      });
      assert.equal((await client.next()).methodResponses[0][1].state, pushedState);
      const pushState = change.pushState as string;
      client.ws.close();

      await deliver("missed while away");
      const again = await open(url);
      again.send({ "@type": "WebSocketPushEnable", dataTypes: ["Mailbox"], pushState });
      const replayed = await again.next();
      assert.equal(replayed["@type"], "StateChange");
      assert.notEqual(replayed.changed[accountId].Mailbox, pushedState);
      again.send({ "@type": "WebSocketPushDisable" });
      again.ws.close();
    });

    test("a binary message closes with 1003, one over maxSizeRequest with 1009", async () => {
      const binary = await open(url);
      binary.ws.send(Buffer.from("{}"), { binary: true });
      const [code] = (await once(binary.ws, "close")) as [number];
      assert.equal(code, 1003);
      const large = await open(url);
      large.send({
        "@type": "Request",
        using: [CORE],
        methodCalls: [["Core/echo", { pad: "x".repeat(70 * 1024) }, "e"]],
      });
      const [largeCode] = (await once(large.ws, "close")) as [number];
      assert.equal(largeCode, 1009);
    });
  });
}
