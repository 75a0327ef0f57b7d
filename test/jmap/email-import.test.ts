// Email/import (RFC 8621 §4.8) over a fake store: what reaches the store's append (the blob, the one
// mailbox, keywords as IMAP flags, receivedAt), the created ids read back from the new entry, and each
// SetError of a bad import, ifInState and the limit.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type EmailImportStore, emailImport } from "../../src/jmap/email-import.js";
import { MethodError } from "../../src/jmap/errors.js";
import type { JsonObject } from "../../src/jmap/types.js";
import type { BlobRef, MailboxMessage } from "../../src/store/types.js";
import { mailboxRow, methodContext } from "./fixtures.js";

const MESSAGE = Buffer.from("From: b@example.net\r\nSubject: hi\r\n\r\nbody\r\n");

function fakeStore() {
  const state = { modseq: 10, quota: { limit: null as number | null, used: 0 } };
  const appended: Array<{ mailboxId: number; blob: BlobRef; flags: string[]; date: Date }> = [];
  const blobs = new Map([
    ["up1", MESSAGE],
    ["junk", Buffer.from("no header here")],
  ]);
  const mailboxes = new Map([
    [1, mailboxRow(1, "INBOX", null)],
    [2, { ...mailboxRow(2, "Other user's", null), userId: 8 }],
  ]);
  const store = {
    emails: { accountState: async () => state.modseq },
    quotas: { getQuota: async () => state.quota, getLimit: async () => state.quota.limit },
    mailboxes: { getMailboxById: async (id: number) => mailboxes.get(id) ?? null },
    blobs: {
      findReadableBlob: async (_userId: number, blobId: string) => {
        const bytes = blobs.get(blobId);
        return bytes ? { blobId, size: bytes.length, type: "message/rfc822" } : null;
      },
      readBlobBytes: async (blobId: string) => blobs.get(blobId) as Buffer,
    },
    messages: {
      append: async (mailboxId: number, blob: BlobRef, flags: string[], date: Date) => {
        appended.push({ mailboxId, blob, flags, date });
        state.modseq++;
        return {
          mailboxId,
          uid: appended.length,
          messageId: blob.id,
          flags,
          internalDate: date,
          savedDate: date,
          size: blob.size,
          modseq: state.modseq,
          emailId: 100 + appended.length,
          threadId: 100,
        } satisfies MailboxMessage;
      },
    },
  } as unknown as EmailImportStore;
  return { store, appended, state };
}

function setup(maxObjects = 20) {
  const fake = fakeStore();
  const context = methodContext();
  const run = (args: JsonObject) =>
    emailImport(fake.store, maxObjects).run({ accountId: "A7", ...args }, context);
  return { ...fake, context, run };
}

describe("Email/import", () => {
  test("an upload is appended with its keywords as flags and its receivedAt; created says its ids", async () => {
    const fake = setup();
    fake.context.createdIds.set("box", "M1");
    const response = await fake.run({
      emails: {
        k1: {
          blobId: "up1",
          mailboxIds: { "#box": true },
          keywords: { $seen: true, $Flagged: true, work: true },
          receivedAt: "2026-01-31T09:30:00Z",
        },
        k2: { blobId: "up1", mailboxIds: { M1: true } },
      },
    });
    assert.deepEqual(response.created, {
      k1: { id: "E101", blobId: "up1", threadId: "T100", size: MESSAGE.length },
      k2: { id: "E102", blobId: "up1", threadId: "T100", size: MESSAGE.length },
    });
    assert.equal(response.notCreated, null);
    assert.equal(response.oldState, "s10");
    assert.equal(response.newState, "s12");
    const [first, second] = fake.appended;
    assert.deepEqual(first?.flags, ["\\Seen", "\\Flagged", "work"]);
    assert.equal(first?.date.toISOString(), "2026-01-31T09:30:00.000Z");
    assert.deepEqual(first?.blob, { id: "up1", size: MESSAGE.length });
    assert.deepEqual(second?.flags, []);
    assert.ok(Math.abs((second?.date.getTime() ?? 0) - Date.now()) < 5000, "receivedAt defaults to now");
    assert.equal(fake.context.createdIds.get("k1"), "E101");
  });

  test("each bad import is refused alone: properties, mailboxes, blobs, bytes that are no message", async () => {
    const fake = setup();
    const response = await fake.run({
      emails: {
        two: { blobId: "up1", mailboxIds: { M1: true, M3: true } },
        none: { blobId: "up1", mailboxIds: {} },
        foreign: { blobId: "up1", mailboxIds: { M2: true } },
        missingBox: { blobId: "up1", mailboxIds: { M9: true } },
        falseBox: { blobId: "up1", mailboxIds: { M1: false } },
        noBlob: { blobId: "nope", mailboxIds: { M1: true } },
        notMessage: { blobId: "junk", mailboxIds: { M1: true } },
        keyword: { blobId: "up1", mailboxIds: { M1: true }, keywords: { "bad(": true } },
        date: { blobId: "up1", mailboxIds: { M1: true }, receivedAt: "yesterday" },
        extra: { blobId: "up1", mailboxIds: { M1: true }, subject: "x" },
      },
    });
    assert.equal(response.created, null);
    const errors = response.notCreated as Record<string, JsonObject>;
    const shapes = Object.fromEntries(
      Object.entries(errors).map(([key, error]) => [key, [error.type, error.properties]]),
    );
    assert.deepEqual(shapes, {
      two: ["tooManyMailboxes", undefined],
      none: ["invalidProperties", ["mailboxIds"]],
      foreign: ["invalidProperties", ["mailboxIds"]],
      missingBox: ["invalidProperties", ["mailboxIds"]],
      falseBox: ["invalidProperties", ["mailboxIds"]],
      noBlob: ["invalidProperties", ["blobId"]],
      notMessage: ["invalidEmail", undefined],
      keyword: ["invalidProperties", ["keywords"]],
      date: ["invalidProperties", ["receivedAt"]],
      extra: ["invalidProperties", ["subject"]],
    });
    assert.equal(fake.appended.length, 0);
    assert.equal(response.newState, response.oldState);
  });

  test("an import past the account's storage limit is overQuota, and nothing is appended", async () => {
    const fake = setup();
    fake.state.quota = { limit: MESSAGE.length + 10, used: 20 };
    const response = await fake.run({ emails: { k1: { blobId: "up1", mailboxIds: { M1: true } } } });
    assert.equal(response.created, null);
    assert.equal(
      (response.notCreated as JsonObject).k1 && ((response.notCreated as JsonObject).k1 as JsonObject).type,
      "overQuota",
    );
    assert.equal(fake.appended.length, 0);
    fake.state.quota = { limit: MESSAGE.length + 10, used: 10 };
    const fits = await fake.run({ emails: { k2: { blobId: "up1", mailboxIds: { M1: true } } } });
    assert.ok((fits.created as JsonObject).k2);
  });

  test("ifInState must be the state; more than maxObjectsInSet emails is requestTooLarge", async () => {
    const fake = setup(1);
    const one = { a: { blobId: "up1", mailboxIds: { M1: true } } };
    await assert.rejects(
      fake.run({ ifInState: "s9", emails: one }),
      (error: unknown) => error instanceof MethodError && error.type === "stateMismatch",
    );
    await assert.rejects(
      fake.run({ emails: { ...one, b: one.a } }),
      (error: unknown) => error instanceof MethodError && error.type === "requestTooLarge",
    );
    await assert.rejects(
      fake.run({ emails: [] }),
      (error: unknown) => error instanceof MethodError && error.type === "invalidArguments",
    );
    assert.equal(fake.appended.length, 0);
    const ok = await fake.run({ ifInState: "s10", emails: one });
    assert.ok((ok.created as JsonObject).a);
  });
});
