// Times ways of reading a whole small message body file (what IMAP FETCH BODY[] and POP3 RETR do per
// message): 10,000 files of 11 KB, read one at a time (latency: median µs per read) and 8 at a time (as
// FETCH's read-ahead does: µs per read over the pass). Each async step (open, fstat, read, close) is one
// trip to libuv's thread pool, so the variants differ in how many trips they make and how heavy each
// one's JavaScript wrapper is; BodyReadThreads makes none, sending each turn's reads to a worker thread
// as one batch. What a variant costs the event loop, which every connection shares, is a figure of its
// own: the loop's busy time per read in the 8-at-a-time pass. Ratios are to the first variant. Not a
// test: figures depend on the machine (page cache warm after the first pass), so the load average is
// printed before and after. Run: node --import tsx bench/store/blob-read.ts [count] [size]

import * as fs from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { BodyReadThreads } from "../../src/store/blobs/body-read-thread.js";
import { FileBlobStore } from "../../src/store/blobs/file-blob-store.js";
import { formatRatio, median } from "../lib/stats.js";

const COUNT = Number(process.argv[2] ?? 10_000);
const SIZE = Number(process.argv[3] ?? 11 * 1024);
const PASSES = 3;
const CONCURRENCY = 8;

type Reader = (path: string, id: string, size: number) => Promise<Buffer>;

function callbackOpen(path: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, "r", (e, fd) => (e ? reject(e) : resolve(fd))));
}
function callbackRead(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buffer, 0, buffer.length, 0, (e, n) => (e ? reject(e) : resolve(n))),
  );
}
function callbackClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve())));
}
async function callbackReadKnownSize(path: string, size: number): Promise<Buffer> {
  const fd = await callbackOpen(path);
  try {
    const buffer = Buffer.allocUnsafe(size);
    return buffer.subarray(0, await callbackRead(fd, buffer));
  } finally {
    await callbackClose(fd);
  }
}

function loadAverage(): string {
  return fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "mailroom-blob-read-"));
  const logger = pino({ level: "silent" });
  const blobs = new FileBlobStore({ root, logger });
  const threads = new BodyReadThreads(callbackReadKnownSize, logger);
  await blobs.init();
  try {
    const body = Buffer.alloc(SIZE, "body line\r\n");
    const ids: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const writer = await blobs.createWriter();
      await writer.write(body);
      ids.push((await writer.finish()).id);
    }
    const readers: Array<[string, Reader]> = [
      ["fs/promises readFile (before)", (path) => readFile(path)],
      [
        "callback fs.readFile",
        (path) => new Promise((resolve, reject) => fs.readFile(path, (e, b) => (e ? reject(e) : resolve(b)))),
      ],
      [
        "FileHandle open + read(size) + close",
        async (path, _id, size) => {
          const handle = await open(path, "r");
          try {
            const buffer = Buffer.allocUnsafe(size);
            const { bytesRead } = await handle.read(buffer, 0, size, 0);
            return buffer.subarray(0, bytesRead);
          } finally {
            await handle.close();
          }
        },
      ],
      ["callback open + read(size) + close", (path, _id, size) => callbackReadKnownSize(path, size)],
      ["readFileSync (blocks the loop)", async (path) => fs.readFileSync(path)],
      ["BodyReadThreads.read(path, size)", (path, _id, size) => threads.read(path, size)],
      ["FileBlobStore.readBytes(id, size)", (_path, id, size) => blobs.readBytes(id, size)],
    ];
    const paths = ids.map((id) => blobs.pathOf(id));
    console.log(`${COUNT} bodies of ${SIZE} octets; ${PASSES} passes each; medians; load ${loadAverage()}`);
    let baseline: { latency: number; pass: number; busy: number } | null = null;
    for (const [label, read] of readers) {
      const latencies: number[] = [];
      const passes: number[] = [];
      const busy: number[] = [];
      for (let pass = 0; pass < PASSES; pass++) {
        for (let i = 0; i < COUNT; i++) {
          const start = performance.now();
          const bytes = await read(paths[i] as string, ids[i] as string, SIZE);
          latencies.push((performance.now() - start) * 1000);
          if (bytes.length !== SIZE) throw new Error(`${label}: read ${bytes.length} octets`);
        }
        let next = 0;
        const start = performance.now();
        const loop = performance.eventLoopUtilization();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < COUNT) {
              const i = next++;
              await read(paths[i] as string, ids[i] as string, SIZE);
            }
          }),
        );
        passes.push(((performance.now() - start) * 1000) / COUNT);
        busy.push((performance.eventLoopUtilization(loop).active * 1000) / COUNT);
      }
      const figures = { latency: median(latencies), pass: median(passes), busy: median(busy) };
      baseline ??= figures;
      console.log(
        `${label.padEnd(40)} one at a time ${figures.latency.toFixed(1).padStart(6)} µs/read` +
          ` ${formatRatio(figures.latency, baseline.latency).padStart(6)}` +
          `   ${CONCURRENCY} at a time ${figures.pass.toFixed(1).padStart(6)} µs/read` +
          ` ${formatRatio(figures.pass, baseline.pass).padStart(6)}` +
          `   loop busy ${figures.busy.toFixed(1).padStart(6)} µs/read` +
          ` ${formatRatio(figures.busy, baseline.busy).padStart(6)}`,
      );
    }
    console.log(`load ${loadAverage()}`);
  } finally {
    threads.close();
    blobs.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
