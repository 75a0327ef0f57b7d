import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";

export const silentLogger = pino({ level: "silent" });

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-store-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const CREDENTIALS = { passwordHash: "h", scramSha256: "s" };

export const FIXTURES = new URL("./fixtures/", import.meta.url);
