// What a loaded machine does to code that reads the clock more than once: here every Date.now() is a
// second later than the one before, so two readings always fall in different seconds, every run.
import type { TestContext } from "node:test";

export async function withClockSteppingSeconds<T>(t: TestContext, run: () => Promise<T>): Promise<T> {
  let now = Date.now();
  const clock = t.mock.method(Date, "now", () => {
    now += 1000;
    return now;
  });
  try {
    return await run();
  } finally {
    clock.mock.restore();
  }
}
