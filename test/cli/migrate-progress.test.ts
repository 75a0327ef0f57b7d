// The progress display of `mailroom migrate`: a rewritten line on a terminal, sparse lines otherwise.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { formatBytes, MigrationProgress, sourceDirectory } from "../../src/cli/migrate.js";

function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

test("not a terminal: a line at each new tenth or after 5 s, never more", () => {
  const out = capture(false);
  let now = 0;
  const progress = new MigrationProgress(out.stream, 10_000, () => now);
  progress.advance(500, 1_000_000); // 5 %: no new tenth, no 5 s
  assert.equal(out.text(), "");
  progress.advance(3_700, 37_000_000); // 42 %
  assert.equal(out.text(), "messages 4,200/10,000 (42%) 38 MB\n");
  now = 1000;
  progress.advance(100, 0); // same tenth, 1 s later
  assert.equal(out.text().split("\n").length, 2);
  now = 6100;
  progress.advance(100, 0); // 5 s since the last line
  assert.match(out.text(), /messages 4,400\/10,000 \(44%\) 38 MB\n$/);
  progress.finish();
  assert.ok(out.text().endsWith("\n"));
});

test("terminal: one line rewritten in place, ended by finish()", () => {
  const out = capture(true);
  let now = 0;
  const progress = new MigrationProgress(out.stream, 4, () => now);
  progress.advance(1, 1500);
  now = 50;
  progress.advance(1, 1500); // within the redraw interval: not drawn
  now = 200;
  progress.advance(2, 0); // the last one is always drawn
  progress.finish();
  assert.equal(out.text(), "\rmessages 1/4 (25%) 1.5 kB\x1b[K\rmessages 4/4 (100%) 3.0 kB\x1b[K\n");
});

test("a source that grew while read never shows more than 100 %", () => {
  const out = capture(false);
  const progress = new MigrationProgress(out.stream, 2, () => 0);
  progress.advance(3, 0);
  assert.equal(progress.line(), "messages 3/3 (100%) 0 B");
});

test("byte sizes and --from forms", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(38_000_000), "38 MB");
  assert.equal(formatBytes(1_200_000_000), "1.2 GB");
  assert.equal(sourceDirectory("sqlite:/var/lib/mailroom"), "/var/lib/mailroom");
  assert.equal(sourceDirectory("/srv/mail/"), "/srv/mail");
  assert.throws(() => sourceDirectory("postgres://x/y"), /SQLite data directory/);
  assert.throws(() => sourceDirectory("sqlite:"), /needs a directory/);
});
