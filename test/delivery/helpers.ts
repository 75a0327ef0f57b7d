import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { openStore } from "../../src/store/open.js";
import type { Store, StoredCredentials } from "../../src/store/types.js";

/** Credentials the store keeps opaque; routing never looks at them. */
export const dummyCredentials: StoredCredentials = { passwordHash: "unused", scramSha256: "unused" };

export async function openTempStore(): Promise<{ store: Store; dataDir: string; cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-delivery-"));
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
  return {
    store,
    dataDir,
    async cleanup() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
