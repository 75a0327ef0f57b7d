// The JMAP dispatcher without HTTP: request checks, the order of method calls, result references, and
// each method-level error it produces (RFC 8620 §3.3-§3.7).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CORE, DEFAULT_LIMITS, type JmapLimits, MAIL } from "../../src/jmap/capabilities.js";
import { coreEcho } from "../../src/jmap/core.js";
import { createDispatcher } from "../../src/jmap/dispatcher.js";
import { MethodError } from "../../src/jmap/errors.js";
import type { AccountContext, JmapResponse, Method } from "../../src/jmap/types.js";
import { StoreError } from "../../src/store/errors.js";

const limits: JmapLimits = { ...DEFAULT_LIMITS, maxSizeUpload: 1024, maxSizeRequest: 1024 };
const account: AccountContext = {
  accountId: "A1",
  userId: 1,
  address: "a@example.org",
  isReadOnly: false,
  capabilities: new Set([CORE, MAIL]),
};

const method = (overrides: Partial<Method>): Method => ({
  capability: MAIL,
  needsAccount: true,
  writes: false,
  run: async (args) => ({ got: args }),
  ...overrides,
});

const methods = new Map<string, Method>([
  ["Core/echo", coreEcho],
  ["Thing/get", method({})],
  ["Thing/set", method({ writes: true })],
  ["Other/get", method({ capability: "urn:example:other" })],
  ["Broken/get", method({ run: () => Promise.reject(new Error("disk on fire at /var/secret/path")) })],
  ["Away/get", method({ run: () => Promise.reject(new StoreError("unavailable", "db down")) })],
  ["Refuse/get", method({ run: () => Promise.reject(new MethodError("forbidden", "not yours")) })],
  [
    "Make/set",
    method({
      writes: true,
      run: async (args, context) => {
        context.createdIds.set(String(args.cid), `id-${String(args.cid)}`);
        return { seen: Object.fromEntries(context.createdIds) };
      },
    }),
  ],
]);

const dispatcher = createDispatcher({
  methods,
  capabilities: new Set([CORE, MAIL, "urn:example:other"]),
  limits,
});

async function respond(body: unknown, as: AccountContext = account): Promise<JmapResponse> {
  const result = await dispatcher.dispatch(body, as);
  assert.equal(result.kind, "response", JSON.stringify(result));
  return (result as { response: JmapResponse }).response;
}

const errorType = (response: JmapResponse, index: number) => {
  const [name, args] = response.methodResponses[index] ?? [];
  assert.equal(name, "error");
  return args?.type;
};

describe("JMAP dispatcher", () => {
  test("request-level errors: notRequest for every malformed shape, unknownCapability, limit", async () => {
    for (const body of [
      null,
      [],
      "x",
      {},
      { using: "core", methodCalls: [] },
      { using: [1], methodCalls: [] },
      { using: [], methodCalls: {} },
      { using: [], methodCalls: [["a", {}]] },
      { using: [], methodCalls: [["a", [], "c"]] },
      { using: [], methodCalls: [[1, {}, "c"]] },
      { using: [], methodCalls: [], createdIds: { a: 1 } },
    ]) {
      const result = await dispatcher.dispatch(body, account);
      assert.equal(result.kind, "error", JSON.stringify(body));
      assert.equal(result.kind === "error" && result.error.type, "urn:ietf:params:jmap:error:notRequest");
    }
    const unknown = await dispatcher.dispatch({ using: [CORE, "urn:x"], methodCalls: [] }, account);
    assert.equal(
      unknown.kind === "error" && unknown.error.type,
      "urn:ietf:params:jmap:error:unknownCapability",
    );
    assert.match(unknown.kind === "error" ? unknown.error.detail : "", /urn:x/);
    const calls = Array.from({ length: limits.maxCallsInRequest + 1 }, (_, i) => ["Core/echo", {}, `${i}`]);
    const limit = await dispatcher.dispatch({ using: [CORE], methodCalls: calls }, account);
    assert.equal(limit.kind === "error" && limit.error.limit, "maxCallsInRequest");
  });

  test("any generated request either answers every call in order or is a request-level error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (body) => {
        const result = await dispatcher.dispatch(body, account);
        if (result.kind === "response") {
          const calls = (body as { methodCalls: unknown[][] }).methodCalls;
          assert.deepEqual(
            result.response.methodResponses.map(([, , id]) => id),
            calls.map((call) => call[2]),
          );
        } else {
          assert.match(result.error.type, /^urn:ietf:params:jmap:error:/);
        }
      }),
    );
  });

  test("method-level errors: unknownMethod (also outside using), accountNotFound, accountReadOnly, accountNotSupportedByMethod", async () => {
    const response = await respond({
      using: [CORE, MAIL],
      methodCalls: [
        ["No/such", {}, "0"],
        ["Other/get", { accountId: "A1" }, "1"],
        ["Thing/get", { accountId: "A2" }, "2"],
        ["Thing/get", {}, "3"],
        ["Thing/get", { accountId: "A1" }, "4"],
      ],
    });
    assert.equal(errorType(response, 0), "unknownMethod");
    assert.equal(errorType(response, 1), "unknownMethod");
    assert.equal(errorType(response, 2), "accountNotFound");
    assert.equal(errorType(response, 3), "invalidArguments");
    assert.deepEqual(response.methodResponses[4], ["Thing/get", { got: { accountId: "A1" } }, "4"]);

    const readOnly = await respond(
      { using: [MAIL], methodCalls: [["Thing/set", { accountId: "A1" }, "s"]] },
      { ...account, isReadOnly: true },
    );
    assert.equal(errorType(readOnly, 0), "accountReadOnly");
    const coreOnly = await respond(
      { using: [MAIL], methodCalls: [["Thing/get", { accountId: "A1" }, "g"]] },
      { ...account, capabilities: new Set([CORE]) },
    );
    assert.equal(errorType(coreOnly, 0), "accountNotSupportedByMethod");
  });

  test("failures inside a method: serverFail hides the internal text, serverUnavailable for the store, the method's own error kept", async () => {
    const response = await respond({
      using: [MAIL],
      methodCalls: [
        ["Broken/get", { accountId: "A1" }, "b"],
        ["Away/get", { accountId: "A1" }, "a"],
        ["Refuse/get", { accountId: "A1" }, "r"],
        ["Thing/get", { accountId: "A1" }, "after"],
      ],
    });
    assert.equal(errorType(response, 0), "serverFail");
    assert.doesNotMatch(JSON.stringify(response), /disk on fire|\/var\/secret|db down/);
    assert.equal(errorType(response, 1), "serverUnavailable");
    assert.deepEqual(response.methodResponses[2]?.[1], { type: "forbidden", description: "not yours" });
    assert.equal(response.methodResponses[3]?.[0], "Thing/get", "later calls still run");
  });

  test("result references: resolved from earlier responses, errors for every way they can be wrong", async () => {
    const ref = (resultOf: string, name: string, path: string) => ({ resultOf, name, path });
    const response = await respond({
      using: [CORE, MAIL],
      methodCalls: [
        ["Core/echo", { ids: ["x", "y"], nested: [{ v: 1 }, { v: 2 }] }, "first"],
        [
          "Core/echo",
          { "#a": ref("first", "Core/echo", "/ids"), "#b": ref("first", "Core/echo", "/nested/*/v") },
          "ok",
        ],
        ["Core/echo", { "#a": ref("later", "Core/echo", "/ids") }, "forward"],
        ["Core/echo", { "#a": ref("first", "Thing/get", "/ids") }, "wrong-name"],
        ["Core/echo", { "#a": ref("first", "Core/echo", "/none") }, "bad-path"],
        ["Core/echo", { "#a": "not a reference" }, "not-ref"],
        ["Core/echo", { a: 1, "#a": ref("first", "Core/echo", "/ids") }, "both"],
        ["Core/echo", {}, "later"],
        ["Thing/get", { accountId: "A2" }, "err"],
        ["Core/echo", { "#a": ref("err", "Thing/get", "/type") }, "to-error"],
      ],
    });
    assert.deepEqual(response.methodResponses[1]?.[1], { a: ["x", "y"], b: [1, 2] });
    assert.equal(errorType(response, 2), "invalidResultReference");
    assert.equal(errorType(response, 3), "invalidResultReference");
    assert.equal(errorType(response, 4), "invalidResultReference");
    assert.equal(errorType(response, 5), "invalidResultReference");
    assert.equal(errorType(response, 6), "invalidArguments");
    // The error response is named "error", so a reference naming the method does not match it.
    assert.equal(errorType(response, 9), "invalidResultReference");
  });

  test("createdIds come back as sent; sessionState is the session's", async () => {
    const response = await respond({ using: [CORE], methodCalls: [], createdIds: { k: "v" } });
    assert.deepEqual(response.createdIds, { k: "v" });
    assert.equal(typeof response.sessionState, "string");
    const other = await respond(
      { using: [CORE], methodCalls: [] },
      { ...account, accountId: "A2", userId: 2 },
    );
    assert.notEqual(other.sessionState, response.sessionState);
    assert.equal("createdIds" in other, false);
  });

  test("a method's creations reach later calls and the response's createdIds (RFC 8620 §3.4)", async () => {
    const response = await respond({
      using: [CORE, MAIL],
      methodCalls: [
        ["Make/set", { accountId: "A1", cid: "a" }, "0"],
        ["Make/set", { accountId: "A1", cid: "b" }, "1"],
      ],
      createdIds: { old: "id-old" },
    });
    assert.deepEqual(response.methodResponses[1]?.[1], {
      seen: { old: "id-old", a: "id-a", b: "id-b" },
    });
    assert.deepEqual(response.createdIds, { old: "id-old", a: "id-a", b: "id-b" });
    const without = await respond({
      using: [CORE, MAIL],
      methodCalls: [["Make/set", { accountId: "A1", cid: "a" }, "0"]],
    });
    assert.equal("createdIds" in without, false);
  });
});
