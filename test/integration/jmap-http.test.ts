// The HTTP server and JMAP core against a real `mailroom serve` on both stores: the session resource, the
// API with result references and every request-level error, upload and download, Basic and Bearer
// logins with app tokens from `mailroom token`, the plain-HTTP rule (credentials from loopback only,
// elsewhere a redirect to HTTPS), compression, and the shared login throttle. Clients: plain fetch, curl
// (over HTTPS with the self-signed certificate) and the jmap-jam library.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

/** Response JSON as the tests read it: shapes are asserted, not typed. */
// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check here
type Loose = Record<string, any>;

/** The part of jmap-jam's client these tests use. */
interface Jam {
  session: Promise<{ username: string }>;
  getPrimaryAccount(): Promise<string>;
  api: {
    Mailbox: {
      get(args: { accountId: string }): Promise<[{ list: Array<Loose> }, unknown]>;
    };
  };
}
// Imported by a computed name: jmap-jam's types pull in jmap-rfc-types, which ships .ts sources that
// this project's compiler settings reject (TS5097); the client itself is plain JavaScript.
const jamModule = "jmap-jam";
const { default: JamClient } = (await import(jamModule)) as {
  default: new (options: { sessionUrl: string; bearerToken: string }) => Jam;
};
const ADDRESS = "alice@example.org";
const PASSWORD = "alice's long passphrase";
const BOB = "bob@example.org";
const CORE = "urn:ietf:params:jmap:core";
const MAIL = "urn:ietf:params:jmap:mail";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** curl, resolving to status, headers and body, never rejecting on an HTTP error status. */
async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await run("curl", ["-s", "-S", "-i", "--max-time", "20", ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const split = stdout.indexOf("\r\n\r\n");
  const headers = stdout.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1]), headers, body: stdout.slice(split + 4) };
}

/** A non-loopback address of this machine, to be a client from "elsewhere"; null when there is none. */
function externalAddress(): string | null {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (!entry.internal && entry.family === "IPv4") return entry.address;
  }
  return null;
}

for (const backend of await integrationBackends()) {
  describe(`HTTP and JMAP on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let base: string;
    let accountId: string;
    let bobToken: string;
    const auth = { Authorization: basic(ADDRESS, PASSWORD) };

    const api = async (body: unknown, headers: Record<string, string> = auth) => {
      const response = await fetch(`${base}/jmap/api/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { response, json: (await response.json()) as Loose };
    };

    before(async () => {
      server = await startTestServer({
        ...(backend.store ? { store: backend.store } : {}),
        env: {
          MAILROOM_LISTENERS_HTTP_HOST: "0.0.0.0",
          MAILROOM_HTTP_MAX_UPLOAD_SIZE: "64KiB",
          MAILROOM_HTTP_REQUEST_TIMEOUT: "2s",
          MAILROOM_AUTH_FAILURE_DELAY: "1ms",
          MAILROOM_AUTH_MAX_FAILURES_PER_IP: "5",
        },
      });
      base = `http://127.0.0.1:${server.ports.http}`;
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const user of [ADDRESS, BOB]) {
        const added = await server.cli(["user", "add", user, "--password-stdin"], `${PASSWORD}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
      const created = await server.cli(["token", "create", BOB, "--name", "tests"]);
      assert.equal(created.code, 0, created.stderr);
      bobToken = created.stdout.trim();
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("session resource over plain HTTP from loopback: capabilities with limits, account, URLs, state", async () => {
      const response = await fetch(`${base}/.well-known/jmap`, { headers: auth });
      assert.equal(response.status, 200);
      const session = (await response.json()) as Loose;
      assert.equal(session.username, ADDRESS);
      assert.equal(session.capabilities[CORE].maxCallsInRequest, 32);
      assert.equal(session.capabilities[CORE].maxSizeUpload, 64 * 1024);
      assert.ok(session.capabilities[MAIL]);
      accountId = session.primaryAccounts[MAIL];
      assert.equal(session.accounts[accountId].name, ADDRESS);
      assert.equal(session.accounts[accountId].isPersonal, true);
      assert.ok(session.accounts[accountId].accountCapabilities[MAIL]);
      assert.equal(session.apiUrl, `${base}/jmap/api/`);
      assert.match(session.downloadUrl, /\{accountId\}.*\{blobId\}.*\{name\}.*\{type\}/);
      assert.match(session.uploadUrl, /\{accountId\}/);
      assert.match(session.eventSourceUrl, /\{types\}/);
      assert.equal(typeof session.state, "string");
    });

    test("session over HTTPS with curl; no credentials gets 401 naming Basic and Bearer", {
      skip: needs(clients.curl),
    }, async () => {
      const url = `https://127.0.0.1:${server.ports.https}/.well-known/jmap`;
      const ok = await curl(["--insecure", "--compressed", "-u", `${ADDRESS}:${PASSWORD}`, url]);
      assert.equal(ok.status, 200);
      assert.match(ok.headers, /content-encoding: (br|gzip)/i);
      assert.equal(JSON.parse(ok.body).apiUrl, `https://127.0.0.1:${server.ports.https}/jmap/api/`);
      const refused = await curl(["--insecure", url]);
      assert.equal(refused.status, 401);
      assert.match(refused.headers, /www-authenticate: Basic realm="mailroom".*Bearer/i);
      assert.match(refused.headers, /content-type: application\/problem\+json/i);
      assert.equal(JSON.parse(refused.body).status, 401);
      const wrong = await curl(["--insecure", "-u", `${ADDRESS}:wrong`, url]);
      assert.equal(wrong.status, 401);
    });

    test("Core/echo and result references: Mailbox/query's ids feed Mailbox/get", async () => {
      const { response, json } = await api({
        using: [CORE, MAIL],
        methodCalls: [
          ["Core/echo", { hello: [1, { a: true }] }, "e"],
          ["Mailbox/query", { accountId, filter: { role: "inbox" } }, "q"],
          ["Mailbox/get", { accountId, "#ids": { resultOf: "q", name: "Mailbox/query", path: "/ids" } }, "g"],
          ["Core/echo", { "#got": { resultOf: "g", name: "Mailbox/get", path: "/list/*/name" } }, "e2"],
        ],
      });
      assert.equal(response.status, 200);
      const [echo, query, get, echo2] = json.methodResponses;
      assert.deepEqual(echo, ["Core/echo", { hello: [1, { a: true }] }, "e"]);
      assert.equal(query[1].ids.length, 1);
      assert.deepEqual(
        get[1].list.map((mailbox: { role: string }) => mailbox.role),
        ["inbox"],
      );
      assert.deepEqual(echo2, ["Core/echo", { got: ["INBOX"] }, "e2"]);
      assert.equal(typeof json.sessionState, "string");
    });

    test("request-level errors as problem details: notJSON, notRequest, unknownCapability, limit", async () => {
      const cases: Array<[unknown, string, string?]> = [
        ["{not json", "notJSON"],
        [{ methodCalls: [] }, "notRequest"],
        [{ using: [CORE], methodCalls: [["Core/echo", [], "x"]] }, "notRequest"],
        [{ using: ["urn:example:nothing"], methodCalls: [] }, "unknownCapability"],
        [
          { using: [CORE], methodCalls: Array.from({ length: 33 }, (_, i) => ["Core/echo", {}, `c${i}`]) },
          "limit",
          "maxCallsInRequest",
        ],
      ];
      for (const [body, type, limit] of cases) {
        const { response, json } = await api(body);
        assert.equal(response.status, 400, type);
        assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
        assert.equal(json.type, `urn:ietf:params:jmap:error:${type}`);
        assert.equal(json.status, 400);
        assert.equal(typeof json.detail, "string");
        if (limit) assert.equal(json.limit, limit);
      }
    });

    test("method-level errors: unknownMethod, invalidArguments, invalidResultReference, accountNotFound", async () => {
      const { json } = await api({
        using: [CORE, MAIL],
        methodCalls: [
          ["Nothing/here", {}, "a"],
          ["Mailbox/get", { accountId, ids: 5 }, "b"],
          ["Core/echo", { "#x": { resultOf: "nope", name: "Core/echo", path: "" } }, "c"],
          ["Mailbox/get", { accountId: "A999999" }, "d"],
          ["Mailbox/get", { accountId }, "e"],
        ],
      });
      const types = json.methodResponses.map(([name, args]: [string, { type?: string }]) =>
        name === "error" ? args.type : name,
      );
      assert.deepEqual(types, [
        "unknownMethod",
        "invalidArguments",
        "invalidResultReference",
        "accountNotFound",
        "Mailbox/get",
      ]);
      // A method of a capability missing from "using" is unknown, too (RFC 8620 §3.6.2).
      const { json: withoutMail } = await api({
        using: [CORE],
        methodCalls: [["Mailbox/get", { accountId }, "m"]],
      });
      assert.equal(withoutMail.methodResponses[0][1].type, "unknownMethod");
    });

    test("upload, then download the same bytes; another user's blob is not found; too large is 413", {
      skip: needs(clients.curl),
    }, async () => {
      const bytes = Buffer.from("Subject: uploaded\r\n\r\nbody bytes\r\n");
      const uploaded = await fetch(`${base}/jmap/upload/${accountId}/`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "message/rfc822" },
        body: bytes,
      });
      assert.equal(uploaded.status, 201);
      const blob = (await uploaded.json()) as {
        accountId: string;
        blobId: string;
        type: string;
        size: number;
      };
      assert.equal(blob.accountId, accountId);
      assert.equal(blob.size, bytes.length);
      assert.equal(blob.type, "message/rfc822");

      const downloaded = await fetch(
        `${base}/jmap/download/${accountId}/${blob.blobId}/mail.eml?accept=message/rfc822`,
        {
          headers: auth,
        },
      );
      assert.equal(downloaded.status, 200);
      assert.equal(downloaded.headers.get("content-type"), "message/rfc822");
      assert.match(downloaded.headers.get("content-disposition") ?? "", /filename="mail\.eml"/);
      assert.deepEqual(Buffer.from(await downloaded.arrayBuffer()), bytes);

      const asBob = await fetch(`${base}/jmap/download/${accountId}/${blob.blobId}/x`, {
        headers: { Authorization: `Bearer ${bobToken}` },
      });
      assert.equal(asBob.status, 404);

      const big = Buffer.alloc(64 * 1024 + 1, 0x61);
      const declared = await fetch(`${base}/jmap/upload/${accountId}/`, {
        method: "POST",
        headers: auth,
        body: big,
      });
      assert.equal(declared.status, 413);
      assert.equal(((await declared.json()) as { limit: string }).limit, "maxSizeUpload");
      // Chunked, so the size is known only while the body streams in.
      const chunked = await curl([
        "-u",
        `${ADDRESS}:${PASSWORD}`,
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        big.toString(),
        `${base}/jmap/upload/${accountId}/`,
      ]);
      assert.equal(chunked.status, 413);
      assert.equal(JSON.parse(chunked.body).limit, "maxSizeUpload");
    });

    test("Blob/copy within the one account: readable blobs are copied to themselves, others notFound", async () => {
      const uploaded = await fetch(`${base}/jmap/upload/${accountId}/`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "text/plain" },
        body: "copy me",
      });
      const { blobId } = (await uploaded.json()) as { blobId: string };
      const bobUpload = await fetch(`${base}/jmap/upload/${accountId}/`, {
        method: "POST",
        headers: { Authorization: `Bearer ${bobToken}`, "Content-Type": "text/plain" },
        body: "bob's own",
      });
      assert.equal(bobUpload.status, 404, "an upload names the uploader's own account only");
      const { json } = await api({
        using: [CORE],
        methodCalls: [
          ["Blob/copy", { fromAccountId: accountId, accountId, blobIds: [blobId, "Gnothere"] }, "c"],
          ["Blob/copy", { fromAccountId: "A-elsewhere", accountId, blobIds: [blobId] }, "d"],
        ],
      });
      const [copy, elsewhere] = json.methodResponses;
      assert.equal(copy[0], "Blob/copy");
      assert.deepEqual(copy[1].copied, { [blobId]: blobId });
      assert.equal(copy[1].notCopied.Gnothere.type, "notFound");
      assert.deepEqual(elsewhere, [
        "error",
        { type: "fromAccountNotFound", description: elsewhere[1].description },
        "d",
      ]);
    });

    test("Email/copy: within the one account invalidArguments, from any other fromAccountNotFound", async () => {
      const create = { c1: { id: "Mnothere", mailboxIds: { Mnothere: true } } };
      const { json } = await api({
        using: [CORE, MAIL],
        methodCalls: [
          ["Email/copy", { fromAccountId: accountId, accountId, create }, "same"],
          [
            "Email/copy",
            { fromAccountId: "A-elsewhere", accountId, create, onSuccessDestroyOriginal: true },
            "other",
          ],
        ],
      });
      const [same, other] = json.methodResponses;
      assert.deepEqual([same[0], same[1].type, same[2]], ["error", "invalidArguments", "same"]);
      assert.match(same[1].description, /fromAccountId must differ/);
      assert.deepEqual([other[0], other[1].type, other[2]], ["error", "fromAccountNotFound", "other"]);
    });

    test("download of a delivered message's blob by its id (the id SMTP said it queued as)", {
      skip: needs(clients.swaks),
    }, async () => {
      const { stdout } = await run("swaks", [
        "--server",
        `127.0.0.1:${server.ports.smtp}`,
        "--from",
        "sender@example.net",
        "--to",
        ADDRESS,
        "--header",
        "Subject: over SMTP",
        "--body",
        "delivered body",
      ]);
      const blobId = /queued as (\w+)/.exec(stdout)?.[1];
      assert.ok(blobId, stdout);
      const response = await fetch(
        `${base}/jmap/download/${accountId}/${blobId}/m.eml?accept=message/rfc822`,
        {
          headers: auth,
        },
      );
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /Subject: over SMTP/);
      assert.match(text, /delivered body/);
    });

    test("Bearer and Basic with an app token; a revoked token no longer logs in", {
      skip: needs(clients.curl),
    }, async () => {
      const bearer = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: `Bearer ${bobToken}` },
      });
      assert.equal(bearer.status, 200);
      assert.equal(((await bearer.json()) as { username: string }).username, BOB);
      const asBasic = await curl(["-u", `${BOB}:${bobToken}`, `${base}/.well-known/jmap`]);
      assert.equal(asBasic.status, 200);
      // Another user's name with Bob's token is refused.
      const crossed = await curl(["-u", `${ADDRESS}:${bobToken}`, `${base}/.well-known/jmap`]);
      assert.equal(crossed.status, 401);

      const listed = await server.cli(["token", "list", BOB]);
      const id = listed.stdout.split("\t")[0] ?? "";
      assert.match(listed.stdout, /\ttests\t/);
      assert.ok(!listed.stdout.includes(bobToken), "list never shows the token");
      assert.equal((await server.cli(["token", "revoke", BOB, id])).code, 0);
      const revoked = await fetch(`${base}/.well-known/jmap`, {
        headers: { Authorization: `Bearer ${bobToken}` },
      });
      assert.equal(revoked.status, 401);
      const again = await server.cli(["token", "create", BOB]);
      bobToken = again.stdout.trim();
    });

    test("jmap-jam: session and Mailbox/get with roles and counts", async () => {
      const jam = new JamClient({ sessionUrl: `${base}/.well-known/jmap`, bearerToken: bobToken });
      const session = await jam.session;
      assert.equal(session.username, BOB);
      const bobAccount = await jam.getPrimaryAccount();
      const [mailboxes] = await jam.api.Mailbox.get({ accountId: bobAccount });
      const roles = mailboxes.list.map((mailbox) => mailbox.role as string).sort();
      assert.deepEqual(roles, ["archive", "drafts", "inbox", "junk", "sent", "trash"]);
      const inbox = mailboxes.list.find((mailbox) => mailbox.role === "inbox");
      assert.equal(inbox?.totalEmails, 0);
      assert.equal(inbox?.myRights.mayDelete, false);
      assert.equal(inbox?.isSubscribed, true);
    });

    test("EventSource: a delivery pushes a StateChange with the new Mailbox state, then closeafter=state ends it", {
      skip: needs(clients.swaks),
    }, async () => {
      const stream = await fetch(`${base}/jmap/eventsource/?types=*&closeafter=state&ping=0`, {
        headers: auth,
      });
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
      const text = stream.text();
      await run("swaks", [
        "--server",
        `127.0.0.1:${server.ports.smtp}`,
        "--from",
        "sender@example.net",
        "--to",
        ADDRESS,
        "--body",
        "pushed",
      ]);
      const events = await text;
      const data = /^event: state\ndata: (.+)$/m.exec(events)?.[1];
      assert.ok(data, events);
      const change = JSON.parse(data) as Loose;
      assert.equal(change["@type"], "StateChange");
      const { json } = await api({
        using: [MAIL],
        methodCalls: [["Mailbox/get", { accountId, ids: [] }, "g"]],
      });
      assert.equal(change.changed[accountId].Mailbox, json.methodResponses[0][1].state);
    });

    test("keep-alive serves several requests on one connection; a client trickling headers gets 408", async () => {
      const socket = connect(server.ports.http, "127.0.0.1");
      socket.setEncoding("utf8");
      let received = "";
      socket.on("data", (chunk: string) => {
        received += chunk;
      });
      await once(socket, "connect");
      const request = `GET /.well-known/jmap HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.Authorization}\r\n\r\n`;
      socket.write(request + request);
      const started = Date.now();
      while ((received.match(/HTTP\/1\.1 200 OK/g) ?? []).length < 2 && Date.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal((received.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, received);
      assert.match(received, /connection: keep-alive/i);

      received = "";
      socket.write("GET /.well-known/jmap HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      const closed = once(socket, "close");
      const waitStart = Date.now();
      await closed;
      assert.match(received, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - waitStart < 6_000, "closed soon after the 2 s request timeout");
    });

    test("plain HTTP from elsewhere is redirected to HTTPS, credentials or not, the webmail too", {
      skip: needs(clients.curl) ?? externalAddress() === null,
    }, async () => {
      const host = externalAddress() as string;
      const redirected = await curl([
        "-u",
        `${ADDRESS}:${PASSWORD}`,
        `http://${host}:${server.ports.http}/.well-known/jmap`,
      ]);
      assert.equal(redirected.status, 308);
      assert.match(
        redirected.headers,
        new RegExp(`location: https://${host.replace(/\./g, "\\.")}:\\d+/\\.well-known/jmap`, "i"),
      );
      assert.equal(redirected.body, "");
      // The webmail too: a page served in the clear could be rewritten to read the password typed in.
      const webmail = await curl([`http://${host}:${server.ports.http}/`]);
      assert.equal(webmail.status, 308);
      assert.match(webmail.headers, /location: https:\/\/[^\s]+:\d+\/\r?\n/i);
    });

    test("failed logins go through the shared throttle: past the limit even the right password gets 429", async () => {
      // Earlier tests failed a few logins from this address already; the limit is five in the window.
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 6 && statuses.at(-1) !== 429; attempt++) {
        const failed = await fetch(`${base}/.well-known/jmap`, {
          headers: { Authorization: basic(ADDRESS, "wrong") },
        });
        statuses.push(failed.status);
      }
      assert.equal(statuses.at(-1), 429, `statuses: ${statuses.join(", ")}`);
      assert.ok(statuses.slice(0, -1).every((status) => status === 401));
      const throttled = await fetch(`${base}/.well-known/jmap`, { headers: auth });
      assert.equal(throttled.status, 429);
      assert.ok(throttled.headers.get("retry-after"));
      assert.equal(((await throttled.json()) as Loose).status, 429);
    });
  });
}
