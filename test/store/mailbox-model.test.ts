// Model-based check of the mailbox rules: random sequences of deliveries, flag changes and expunges
// against a plain in-memory model of what IMAP clients must see.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const FLAGS = ["\\Seen", "\\Flagged", "\\Deleted", "$Work"];

type Operation =
  | { kind: "deliver"; flags: string[] }
  | { kind: "flags"; pick: number[]; operation: "add" | "remove" | "set"; flags: string[] }
  | { kind: "expunge"; pick: number[] };

const flagsArb = fc.subarray(FLAGS);
const pickArb = fc.array(fc.nat({ max: 20 }), { maxLength: 4 });
const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant("deliver" as const), flags: flagsArb }),
  fc.record({
    kind: fc.constant("flags" as const),
    pick: pickArb,
    operation: fc.constantFrom("add" as const, "remove" as const, "set" as const),
    flags: flagsArb,
  }),
  fc.record({ kind: fc.constant("expunge" as const), pick: pickArb }),
);

test("UIDs, flags, MODSEQ and expunged UIDs follow the model", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    await store.directory.addDomain("model.example");
    let run = 0;
    const writer = await store.blobs.createBlobWriter();
    await writer.write(Buffer.from("Subject: model\r\n\r\n"));
    const blob = await writer.finish();
    // Every run shares this body; the keeper's copy stops expunges in a run from deleting it.
    const keeper = await store.directory.addUser("keeper@model.example", CREDENTIALS);
    const keeperInbox = (await store.mailboxes.getMailbox(keeper.id, "INBOX"))!;
    await store.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: keeperInbox.id }],
      queue: [],
    });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(operationArb, { minLength: 1, maxLength: 15 }), async (operations) => {
          run += 1;
          const user = await store.directory.addUser(`u${run}@model.example`, CREDENTIALS);
          const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
          const model = new Map<number, Set<string>>();
          const expunged: Array<{ uid: number; modseq: number }> = [];
          let lastUid = 0;
          let lastModseq = 1;
          for (const op of operations) {
            const uids = [...model.keys()];
            const picked =
              op.kind === "deliver" ? [] : op.pick.map((i) => uids[i % Math.max(uids.length, 1)] ?? 1000 + i);
            if (op.kind === "deliver") {
              const result = await store.messages.deliver({
                blob,
                sender: "",
                internalDate: new Date(),
                mailboxes: [{ mailboxId: inbox.id, flags: op.flags }],
                queue: [],
              });
              const uid = result.uids[0]!.uid;
              assert.ok(uid > lastUid, "UIDs strictly increase");
              lastUid = uid;
              model.set(uid, new Set(op.flags));
            } else if (op.kind === "flags") {
              const result = await store.messages.updateFlags(inbox.id, picked, op.operation, op.flags);
              const expectedChanged: number[] = [];
              for (const uid of new Set(picked)) {
                const current = model.get(uid);
                if (!current) continue;
                const next =
                  op.operation === "set"
                    ? new Set(op.flags)
                    : op.operation === "add"
                      ? new Set([...current, ...op.flags])
                      : new Set([...current].filter((f) => !op.flags.includes(f)));
                if (next.size !== current.size || [...next].some((f) => !current.has(f)))
                  expectedChanged.push(uid);
                model.set(uid, next);
              }
              assert.deepEqual(
                result.updated.map((m) => m.uid),
                expectedChanged.sort((a, b) => a - b),
              );
            } else {
              const removed = await store.messages.expunge(inbox.id, picked);
              const expected = [...new Set(picked)].filter((uid) => model.has(uid)).sort((a, b) => a - b);
              assert.deepEqual(removed, expected);
              const modseq = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
              for (const uid of expected) {
                model.delete(uid);
                expunged.push({ uid, modseq });
              }
            }
            const status = await store.mailboxes.mailboxStatus(inbox.id);
            assert.ok(status.highestModseq >= lastModseq, "MODSEQ never goes down");
            lastModseq = status.highestModseq;
          }
          const listed = await store.messages.listMessages(inbox.id);
          assert.deepEqual(
            listed.map((m) => m.uid),
            [...model.keys()].sort((a, b) => a - b),
          );
          for (const message of listed) {
            assert.deepEqual(new Set(message.flags), model.get(message.uid));
            assert.ok(message.modseq <= lastModseq);
          }
          const status = await store.mailboxes.mailboxStatus(inbox.id);
          assert.equal(status.unseen, listed.filter((m) => !m.flags.includes("\\Seen")).length);
          assert.deepEqual(
            await store.messages.expungedSince(inbox.id, 0),
            expunged.map((e) => e.uid).sort((a, b) => a - b),
          );
          for (const { uid, modseq } of expunged) {
            assert.ok((await store.messages.expungedSince(inbox.id, modseq - 1)).includes(uid));
            assert.ok(!(await store.messages.expungedSince(inbox.id, modseq)).includes(uid));
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      await store.close();
    }
  });
});
