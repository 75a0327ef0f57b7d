import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import type { LogConfig } from "../../src/config/types.js";
import { createLogger } from "../../src/log/logger.js";

/** Logs through a fresh logger and returns what reached the destination. */
async function capture(
  config: Pick<LogConfig, "level" | "format">,
  tty: boolean,
  log: (logger: ReturnType<typeof createLogger>) => void,
) {
  const destination = Object.assign(new PassThrough(), { isTTY: tty });
  let text = "";
  destination.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  log(createLogger(config, destination));
  await new Promise((resolve) => setImmediate(resolve));
  return text;
}

test("json: one JSON object per line, level by name, below-level lines dropped", async () => {
  const text = await capture({ level: "info", format: "json" }, true, (logger) => {
    logger.debug("hidden");
    logger.info({ listener: "smtp" }, "smtp listening on 0.0.0.0:2525");
    logger.warn("careful");
  });
  const lines = text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]?.level, "info");
  assert.equal(lines[0]?.msg, "smtp listening on 0.0.0.0:2525");
  assert.equal(lines[0]?.listener, "smtp");
  assert.equal(typeof lines[0]?.time, "string");
  assert.equal(lines[1]?.level, "warn");
});

test("auto: JSON when the destination is not a terminal", async () => {
  const text = await capture({ level: "debug", format: "auto" }, false, (logger) => logger.debug("details"));
  assert.equal((JSON.parse(text) as { msg: string }).msg, "details");
});

test("auto: human-readable lines on a terminal", async () => {
  const text = await capture({ level: "info", format: "auto" }, true, (logger) => logger.info("hello there"));
  assert.throws(() => JSON.parse(text));
  assert.match(text, /INFO/);
  assert.match(text, /hello there/);
});

test("pretty: human-readable even when not a terminal, without colour codes", async () => {
  const text = await capture({ level: "info", format: "pretty" }, false, (logger) => logger.error("broken"));
  assert.match(text, /ERROR.*broken/);
  assert.doesNotMatch(text, /\u001b\[/);
});
