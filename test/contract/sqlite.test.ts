import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { runStoreContract } from "./store-contract.js";
import { CONTRACT_CHANGE_HISTORY } from "./support.js";

runStoreContract("sqlite", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-contract-"));
  const store = await openSqliteStore({
    dataDir,
    logger: pino({ level: "silent" }),
    changeHistory: CONTRACT_CHANGE_HISTORY,
  });
  return { store, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
});
