import { test } from "node:test";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { POSTGRES_SKIP_REASON, startTestPostgres } from "../support/postgres.js";
import { runStoreContract } from "./store-contract.js";

const probe = await startTestPostgres();
if (probe === null) {
  test("Store contract: postgres", (t) => t.skip(POSTGRES_SKIP_REASON));
} else {
  await probe.stop();
  runStoreContract("postgres", async () => {
    const database = await startTestPostgres();
    if (database === null) throw new Error(POSTGRES_SKIP_REASON);
    const store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
    return { store, cleanup: () => database.stop() };
  });
}
