// Whole small bodies read on up to two worker threads, in batches. An asynchronous open, read and close
// are three trips through libuv's pool, and each costs the event loop more than the system call itself
// (14 µs of main-thread time per 4 KB body against 1.5 µs here, bench/store/blob-read.ts); a blocking
// read on the event loop would be cheaper still but stalls every connection when a body is not in the
// page cache. So the reads a turn of the event loop asks for go to a thread as one message, which reads
// them with plain blocking calls and transfers the bytes back. A second thread starts only while the
// first is busy, so a slow disk read does not hold every other one up.
//
// A thread that cannot start or dies is not retried: from then on every read takes the ordinary
// asynchronous path (`fallback`), including those the thread had in hand. Nothing is lost, only speed.

import { Worker } from "node:worker_threads";
import type { Logger } from "pino";

type ReadOutcome = { bytes: ArrayBuffer; length: number } | { code: string; message: string };

interface BatchRequest {
  batch: number;
  reads: Array<{ path: string; size: number }>;
}

interface BatchAnswer {
  batch: number;
  outcomes: ReadOutcome[];
}

/** Bodies larger than this are read on the caller's path: a batch's memory stays bounded. */
export const THREAD_READ_LIMIT = 1024 * 1024;
const MAX_THREADS = 2;
const BATCH_READS = 64;
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * The thread's side. Plain JavaScript run with `eval`: a worker's entry file would be .ts under tsx,
 * whose loader hooks do not reach worker threads on Node 20, and .js once compiled. Each read is a
 * blocking open/read/close — here it holds up only this thread — into a buffer with its own
 * ArrayBuffer (never the shared pool's), which is then transferred back without a copy.
 */
const READ_WORKER_SOURCE = `
const { closeSync, openSync, readSync } = require("node:fs");
const { parentPort } = require("node:worker_threads");
function readOne(path, size) {
  try {
    const fd = openSync(path, "r");
    try {
      const buffer = Buffer.allocUnsafeSlow(size);
      let filled = 0;
      while (filled < size) {
        const bytesRead = readSync(fd, buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return { bytes: buffer.buffer, length: filled };
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return { code: error.code || "EIO", message: error.message };
  }
}
parentPort.on("message", (request) => {
  const outcomes = request.reads.map((read) => readOne(read.path, read.size));
  const transfer = outcomes.flatMap((outcome) => ("bytes" in outcome ? [outcome.bytes] : []));
  parentPort.postMessage({ batch: request.batch, outcomes }, transfer);
});
`;

interface PendingRead {
  path: string;
  size: number;
  resolve: (bytes: Buffer) => void;
  reject: (error: unknown) => void;
}

interface ReadThread {
  worker: Worker;
  outstanding: Map<number, PendingRead[]>;
}

export class BodyReadThreads {
  private readonly threads: ReadThread[] = [];
  private queued: PendingRead[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private nextBatch = 0;
  /** A thread failed or the store closed: every read takes the fallback path. */
  private disabled = false;

  /** `workerSource` is replaceable so tests can start a thread that fails. */
  constructor(
    private readonly fallback: (path: string, size: number) => Promise<Buffer>,
    private readonly logger: Logger,
    private readonly workerSource: string = READ_WORKER_SOURCE,
  ) {}

  read(path: string, size: number): Promise<Buffer> {
    if (this.disabled || size > THREAD_READ_LIMIT) return this.fallback(path, size);
    return new Promise<Buffer>((resolve, reject) => {
      this.queued.push({ path, size, resolve, reject });
      this.queuedBytes += size;
      if (this.queued.length >= BATCH_READS || this.queuedBytes >= BATCH_BYTES) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Stops the threads; reads they still had are answered on the fallback path. */
  close(): void {
    this.disabled = true;
    this.flush();
    for (const thread of this.threads.splice(0)) {
      this.rerun(thread);
      void thread.worker.terminate();
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queued.length === 0) return;
    const reads = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    const thread = this.disabled ? null : this.pickThread();
    if (thread === null) {
      this.runFallback(reads);
      return;
    }
    const batch = this.nextBatch++;
    thread.outstanding.set(batch, reads);
    // Referenced only while it has work: an idle thread must not keep the process alive, a busy one
    // must (a CLI command whose only pending work is a read would otherwise exit early).
    thread.worker.ref();
    const request: BatchRequest = { batch, reads: reads.map(({ path, size }) => ({ path, size })) };
    thread.worker.postMessage(request);
  }

  private pickThread(): ReadThread | null {
    let best: ReadThread | null = null;
    for (const thread of this.threads) {
      if (best === null || thread.outstanding.size < best.outstanding.size) best = thread;
    }
    if (best !== null && (best.outstanding.size === 0 || this.threads.length >= MAX_THREADS)) return best;
    return this.startThread() ?? best;
  }

  private startThread(): ReadThread | null {
    let worker: Worker;
    try {
      worker = new Worker(this.workerSource, { eval: true });
    } catch (error) {
      this.disable(error);
      return null;
    }
    const thread: ReadThread = { worker, outstanding: new Map() };
    worker.unref();
    worker.on("message", (answer: BatchAnswer) => this.answer(thread, answer));
    worker.on("error", (error) => this.lose(thread, error));
    worker.on("exit", (code) => this.lose(thread, new Error(`the body-reading thread exited (${code})`)));
    this.threads.push(thread);
    return thread;
  }

  private answer(thread: ReadThread, answer: BatchAnswer): void {
    const reads = thread.outstanding.get(answer.batch);
    if (reads === undefined) return;
    thread.outstanding.delete(answer.batch);
    if (thread.outstanding.size === 0) thread.worker.unref();
    reads.forEach((read, i) => {
      const outcome = answer.outcomes[i];
      if (outcome === undefined) {
        this.fallback(read.path, read.size).then(read.resolve, read.reject);
      } else if ("bytes" in outcome) {
        read.resolve(Buffer.from(outcome.bytes, 0, outcome.length));
      } else {
        read.reject(Object.assign(new Error(outcome.message), { code: outcome.code }));
      }
    });
  }

  private lose(thread: ReadThread, error: unknown): void {
    const index = this.threads.indexOf(thread);
    if (index === -1) return;
    this.threads.splice(index, 1);
    this.disable(error);
    this.rerun(thread);
  }

  private disable(error: unknown): void {
    if (!this.disabled) {
      this.logger.warn(
        { err: error },
        "the body-reading thread failed; message bodies are read on the main thread from now on",
      );
    }
    this.disabled = true;
  }

  private rerun(thread: ReadThread): void {
    for (const reads of thread.outstanding.values()) this.runFallback(reads);
    thread.outstanding.clear();
  }

  private runFallback(reads: readonly PendingRead[]): void {
    for (const read of reads) this.fallback(read.path, read.size).then(read.resolve, read.reject);
  }
}
