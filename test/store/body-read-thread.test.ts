// The body-reading threads: batched reads give each caller its own file's bytes or its own error, a
// thread that fails hands its reads to the fallback, and a busy thread keeps the process alive.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { BodyReadThreads, THREAD_READ_LIMIT } from "../../src/store/blobs/body-read-thread.js";

const run = promisify(execFile);

interface Warnings {
  logger: pino.Logger;
  messages: string[];
}

function warnings(): Warnings {
  const messages: string[] = [];
  const logger = pino(
    { level: "warn" },
    { write: (line: string) => messages.push(JSON.parse(line).msg as string) },
  );
  return { logger, messages };
}

async function withFiles(
  count: number,
  body: (paths: string[], contents: Buffer[]) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-read-thread-"));
  try {
    const contents = Array.from({ length: count }, (_, i) => Buffer.from(`file ${i} `.repeat(50 + i)));
    const paths = contents.map((_, i) => join(dir, `f${i}`));
    await Promise.all(paths.map((path, i) => writeFile(path, contents[i] as Buffer)));
    await body(paths, contents);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("reads asked for together come back each with its own bytes, errors and short files included", async () => {
  await withFiles(150, async (paths, contents) => {
    const fallbacks: string[] = [];
    const { logger, messages } = warnings();
    const threads = new BodyReadThreads(async (path) => {
      fallbacks.push(path);
      return readFile(path);
    }, logger);
    try {
      await truncate(paths[7] as string, 10);
      const reads = paths.map((path, i) => threads.read(path, (contents[i] as Buffer).length));
      const missing = assert.rejects(threads.read(`${paths[0]}-missing`, 10), { code: "ENOENT" });
      const results = await Promise.all(reads);
      results.forEach((bytes, i) => {
        const expected = i === 7 ? (contents[7] as Buffer).subarray(0, 10) : contents[i];
        assert.deepEqual(bytes, expected, `file ${i}`);
      });
      await missing;
      assert.deepEqual(fallbacks, [], "every read went to a thread");
      const large = threads.read(paths[1] as string, THREAD_READ_LIMIT + 1);
      await large;
      assert.deepEqual(fallbacks, [paths[1]], "a body over the limit is read on the caller's path");
      assert.deepEqual(messages, []);
    } finally {
      threads.close();
    }
  });
});

test("a thread that dies before or while reading: its reads are answered on the fallback path", async () => {
  const failingWorkers = {
    "exits at once": "process.exit(3)",
    "throws on its first batch":
      "require('node:worker_threads').parentPort.on('message', () => { throw new Error('boom'); });",
  };
  for (const [label, code] of Object.entries(failingWorkers)) {
    await withFiles(20, async (paths, contents) => {
      const { logger, messages } = warnings();
      let fallbacks = 0;
      const threads = new BodyReadThreads(
        async (path) => {
          fallbacks++;
          return readFile(path);
        },
        logger,
        code,
      );
      try {
        const first = await Promise.all(
          paths.map((path, i) => threads.read(path, (contents[i] as Buffer).length)),
        );
        assert.deepEqual(first, contents, label);
        assert.equal(fallbacks, paths.length, `${label}: all on the fallback path`);
        assert.equal(messages.length, 1, `${label}: one warning`);
        assert.match(messages[0] as string, /read on the main thread from now on/);
        // No new thread is tried: the next reads go straight to the fallback.
        assert.deepEqual(await threads.read(paths[0] as string, (contents[0] as Buffer).length), contents[0]);
        assert.equal(fallbacks, paths.length + 1);
        assert.equal(messages.length, 1);
      } finally {
        threads.close();
      }
    });
  }
});

test("after close, reads still work (on the fallback path)", async () => {
  await withFiles(3, async (paths, contents) => {
    let fallbacks = 0;
    const threads = new BodyReadThreads(
      async (path) => {
        fallbacks++;
        return readFile(path);
      },
      pino({ level: "silent" }),
    );
    const inHand = paths.map((path, i) => threads.read(path, (contents[i] as Buffer).length));
    threads.close();
    assert.deepEqual(await Promise.all(inHand), contents);
    assert.deepEqual(await threads.read(paths[2] as string, (contents[2] as Buffer).length), contents[2]);
    assert.ok(fallbacks >= 1);
  });
});

test("a process whose only pending work is a thread's read waits for it; an idle thread lets it exit", async () => {
  await withFiles(1, async (paths, contents) => {
    const module = new URL("../../src/store/blobs/body-read-thread.ts", import.meta.url).href;
    const pino = new URL("../../node_modules/pino/pino.js", import.meta.url).href;
    const script = `
      import pino from ${JSON.stringify(pino)};
      import { BodyReadThreads } from ${JSON.stringify(module)};
      const threads = new BodyReadThreads(async () => { throw new Error("fallback used"); }, pino({ level: "silent" }));
      threads.read(${JSON.stringify(paths[0])}, ${(contents[0] as Buffer).length}).then((bytes) => process.stdout.write(bytes));
    `;
    const scriptPath = join(dirname(paths[0] as string), "read-one.mts");
    await writeFile(scriptPath, script);
    const { stdout } = await run(process.execPath, ["--import", "tsx", scriptPath], {
      cwd: new URL("../..", import.meta.url).pathname,
      timeout: 30_000,
    });
    assert.equal(stdout, (contents[0] as Buffer).toString());
  });
});
