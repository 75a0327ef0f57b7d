// Issue 17: ten IMAP sessions on one mailbox at once — APPEND, FETCH, STORE of keywords, SEARCH, UID
// EXPUNGE, SELECT — every answer checked against each session's model (test/support/imap-stress.ts), on
// both stores. A short run here; `npm run stress:imap` runs it as long as asked.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runImapStress } from "../support/imap-stress.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const user = "stress@example.org";
const password = "stress test password";

for (const backend of await integrationBackends()) {
  describe(`IMAP under ten concurrent sessions, ${backend.name} store`, { skip: backend.skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("every EXISTS, EXPUNGE, FETCH, STORE and SEARCH answer agrees with the sessions' models", async () => {
      const result = await runImapStress({
        port: server.ports.imap,
        user,
        password,
        clients: 10,
        milliseconds: 6000,
        seed: 17,
      });
      assert.deepEqual(result.errors.slice(0, 20), [], `${result.errors.length} disagreements`);
      // The run must have exercised what it checks, not idled.
      for (const kind of ["append", "fetch", "store", "search", "expunge"]) {
        assert.ok(
          (result.operations[kind] ?? 0) >= 10,
          `only ${result.operations[kind] ?? 0} ${kind} commands`,
        );
      }
      assert.ok(result.finalCount > 0);
    });
  });
}
