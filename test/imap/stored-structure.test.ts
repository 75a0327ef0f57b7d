// FETCH ENVELOPE / BODY / BODYSTRUCTURE answered from the structure the store keeps must be the same
// octets as the answer parsed from the body, over a corpus of varied messages: the MIME corpus
// (multipart/alternative, nested message/rfc822, encoded words, RFC 2231 params, malformed boundaries…)
// and the benchmark's generated messages.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { generateCorpus } from "../../bench/pop3/corpus.js";
import type { Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const corpusDir = join(import.meta.dirname, "mime", "corpus");

test("stored structures answer byte for byte as parsing the bodies does, with no body read", async () => {
  const names = readdirSync(corpusDir).filter((f) => f.endsWith(".eml"));
  for (const name of names.sort()) await fixture.deliver(readFileSync(join(corpusDir, name)));
  for (const generated of generateCorpus(40, 19)) await fixture.deliver(generated);
  const count = names.length + 40;

  const calls = { bodyReads: 0, readStructures: 0 };
  const saves: Array<Promise<void>> = [];
  const store: Store = spyStore(fixture.store, {
    blobs: (blobs) => ({
      readBlob: (id) => {
        calls.bodyReads++;
        return blobs.readBlob(id);
      },
      readBlobBytes: (id) => {
        calls.bodyReads++;
        return blobs.readBlobBytes(id);
      },
      readStructures: (ids) => {
        calls.readStructures++;
        return blobs.readStructures(ids);
      },
      saveStructures: (structures) => {
        const saved = blobs.saveStructures(structures);
        saves.push(saved);
        return saved;
      },
    }),
  });
  const driver = new SessionDriver(fixture, { store });
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);

  // Before any structure is kept: ENVELOPE from header blocks, the rest parsed from bodies.
  const envelopes = await driver.command("F1 UID FETCH 1:* (ENVELOPE)");
  assert.match(envelopes, /F1 OK/);
  assert.equal(calls.bodyReads, 0);
  const full = "F2 UID FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)";
  const parsed = await driver.command(full);
  assert.match(parsed, /F2 OK/);
  assert.equal(calls.bodyReads, count);
  await Promise.all(saves);

  calls.bodyReads = 0;
  calls.readStructures = 0;
  assert.equal(await driver.command(full), parsed);
  assert.equal(await driver.command("F1 UID FETCH 1:* (ENVELOPE)"), envelopes);
  assert.equal(calls.bodyReads, 0, "no body read once structures are kept");
  assert.equal(calls.readStructures, 2, "one structure read per FETCH batch");
});
