// The IMAP stress run of test/integration/imap-stress.test.ts, as long and as wide as asked:
//   npm run stress:imap -- [--seconds 60] [--clients 10] [--seed N] [--store sqlite|postgres|both]
// Exits 1 when any answer disagrees with the model, printing each disagreement.

import { parseArgs } from "node:util";
import { runImapStress } from "../support/imap-stress.js";
import { integrationBackends, startTestServer } from "../support/server.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    clients: { type: "string", default: "10" },
    seed: { type: "string", default: String(Date.now() % 2 ** 31) },
    store: { type: "string", default: "both" },
  },
});
const user = "stress@example.org";
const password = "stress test password";
let failed = false;

for (const backend of await integrationBackends()) {
  if (values.store !== "both" && values.store !== backend.name) {
    await backend.release();
    continue;
  }
  if (backend.skip) {
    console.log(`${backend.name}: skipped (${backend.skip})`);
    continue;
  }
  const server = await startTestServer({ store: backend.store });
  try {
    await server.cli(["domain", "add", "example.org"]);
    await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`);
    console.log(`${backend.name}: ${values.clients} sessions for ${values.seconds} s, seed ${values.seed}`);
    const result = await runImapStress({
      port: server.ports.imap,
      user,
      password,
      clients: Number(values.clients),
      milliseconds: Number(values.seconds) * 1000,
      seed: Number(values.seed),
    });
    const total = Object.values(result.operations).reduce((a, b) => a + b, 0);
    const perSecond = (total / Number(values.seconds)).toFixed(0);
    console.log(`${backend.name}: ${total} commands (${perSecond}/s): ${JSON.stringify(result.operations)}`);
    console.log(`${backend.name}: ${result.finalCount} messages left, ${result.errors.length} disagreements`);
    for (const error of result.errors) console.log(`  ${error}`);
    if (result.errors.length > 0) failed = true;
  } finally {
    await server.cleanup();
    await backend.release();
  }
}
process.exit(failed ? 1 : 0);
