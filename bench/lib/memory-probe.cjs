// Loaded into `mailroom serve` with --require by bench/imap/memory.ts, never by the server itself:
// process.memoryUsage() and /proc/self/status sampled every 10 ms, and on each SIGUSR2 one JSON line
// with the highest of each figure since the last signal and the figures now, appended to the file named
// by BENCH_MEMORY_PROBE_OUT. The sampling is what finds the short peaks (a login's scrypt buffer, a
// batch of bodies awaiting the garbage collector) that a reading at each step would miss.
const { appendFileSync, readFileSync } = require("node:fs");
const { isMainThread } = require("node:worker_threads");

const out = process.env.BENCH_MEMORY_PROBE_OUT;
if (isMainThread && out) {
  const statusBytes = (status, field) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]) * 1024;
  const reading = () => {
    const status = readFileSync("/proc/self/status", "latin1");
    return {
      ...process.memoryUsage(),
      rssAnon: statusBytes(status, "RssAnon"),
      rssFile: statusBytes(status, "RssFile"),
      threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]),
    };
  };
  let peak = null;
  const sample = () => {
    const now = reading();
    if (peak === null) peak = now;
    else for (const key of Object.keys(now)) peak[key] = Math.max(peak[key], now[key]);
    return now;
  };
  setInterval(sample, 10).unref();
  process.on("SIGUSR2", () => {
    const now = sample();
    appendFileSync(out, `${JSON.stringify({ peak, now })}\n`);
    peak = null;
  });
}
