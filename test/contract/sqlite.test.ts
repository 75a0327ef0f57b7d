import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { runStoreContract } from "./store-contract.js";

runStoreContract("sqlite", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-contract-"));
  const store = await openSqliteStore({ dataDir, logger: pino({ level: "silent" }) });
  return { store, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});
