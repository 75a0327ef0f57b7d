// Store contract, part `search`: the full-text index, filled at delivery and append, found by word,
// prefix and phrase per field, emptied by expunge, and only ever the searching user's messages; and
// the words kept for IMAP SEARCH BODY/TEXT, which rule out the bodies that cannot match.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { MatchTexts, matchWords, requiredPatterns } from "../../src/mail/search-match.js";
import { MAX_INDEXED_OCTETS } from "../../src/store/search-index.js";
import type { BlobRef, SearchField, Store } from "../../src/store/types.js";
import { type ContractContext, writeBlob } from "./support.js";

const REPORT = [
  "From: =?UTF-8?Q?Ren=C3=A9e_Dupont?= <renee@sender.example>",
  "To: Team <team@example.org>",
  "Cc: boss@example.org",
  "Subject: Quarterly report",
  "MIME-Version: 1.0",
  'Content-Type: multipart/alternative; boundary="b"',
  "",
  "--b",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Figures for the caf=C3=A9 are attached.",
  "--b",
  "Content-Type: text/html; charset=utf-8",
  "",
  "<html><head><title>ignored heading</title></head><body><p>Revenue <b>grew</b>&nbsp;strongly</p></body></html>",
  "--b--",
  "",
].join("\r\n");

/** Every field but attached messages: JMAP's "text". */
const TEXT: SearchField[] = ["subject", "from", "to", "cc", "bcc", "body"];

const FORWARD = [
  "From: a@example.net",
  "Subject: Fwd: minutes",
  'Content-Type: multipart/mixed; boundary="m"',
  "",
  "--m",
  "Content-Type: text/plain",
  "",
  "See the attached note.",
  "--m",
  "Content-Type: message/rfc822",
  "",
  "From: Original Sender <origin@example.com>",
  "Subject: Board minutes",
  "",
  "The budget was approved.",
  "--m--",
  "",
].join("\r\n");

const plain = (subject: string, body: string) =>
  `From: a@example.net\r\nTo: b@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

export function describeSearchContract(context: ContractContext): void {
  describe("search", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    /** Imports write entries in bulk, without indexing their bodies. */
    async function importUnindexed(mailboxId: number, blobs: readonly BlobRef[]): Promise<void> {
      await store.imports.importMessages(
        mailboxId,
        blobs.map((blob, index) => ({
          uid: index + 1,
          blob,
          flags: [],
          internalDate: new Date(),
          modseq: index + 1,
          emailId: index + 1,
          threadId: index + 1,
        })),
      );
    }

    async function deliver(mailboxIds: number[], bytes: string): Promise<BlobRef> {
      const blob = await writeBlob(store, bytes);
      await store.messages.deliver({
        blob,
        sender: "a@example.net",
        internalDate: new Date(),
        mailboxes: mailboxIds.map((mailboxId) => ({ mailboxId })),
        queue: [],
      });
      return blob;
    }

    test("a delivered message is found by word in each field, decoded, HTML as text", async () => {
      const { user, inbox } = await context.freshUser();
      const { id } = await deliver([inbox.id], REPORT);
      const found = (field: SearchField | "text", text: string) =>
        store.search.search(user.id, field === "text" ? TEXT : [field], text);
      assert.deepEqual(await found("subject", "quarterly"), [id]);
      assert.deepEqual(await found("subject", "QUARTERLY"), [id]);
      assert.deepEqual(await found("from", "Renée"), [id]);
      assert.deepEqual(await found("from", "renee@sender.example"), [id]);
      assert.deepEqual(await found("to", "team"), [id]);
      assert.deepEqual(await found("cc", "boss"), [id]);
      assert.deepEqual(await found("bcc", "boss"), []);
      assert.deepEqual(await found("body", "café"), [id]);
      assert.deepEqual(await found("body", "cafe"), [], "diacritics are kept");
      assert.deepEqual(await found("body", "grew strongly"), [id]);
      assert.deepEqual(await found("body", "html"), [], "markup is not text");
      assert.deepEqual(await found("body", "ignored"), [], "nor is the head");
      assert.deepEqual(await found("body", "quarterly"), []);
      assert.deepEqual(await found("text", "quarterly"), [id]);
      assert.deepEqual(await found("text", "revenue"), [id]);
      assert.deepEqual(await found("text", "missing"), []);
      assert.deepEqual(await found("text", "  ...  "), [], "no words, nothing found");
    });

    test("an attached message's header and text are the attached field, not the body", async () => {
      const { user, inbox } = await context.freshUser();
      const { id } = await deliver([inbox.id], FORWARD);
      const found = (fields: SearchField[], text: string) => store.search.search(user.id, fields, text);
      assert.deepEqual(await found(["body"], "attached note"), [id]);
      assert.deepEqual(await found(["body"], "budget"), []);
      assert.deepEqual(await found(["attached"], "budget was approved"), [id]);
      assert.deepEqual(await found(["attached"], "origin@example.com"), [id]);
      assert.deepEqual(await found(["attached"], "board minutes"), [id]);
      assert.deepEqual(await found(["subject"], "board"), []);
      assert.deepEqual(await found(["body", "attached"], "budget"), [id]);
    });

    test("the last word is a prefix; several words are a phrase", async () => {
      const { user, inbox } = await context.freshUser();
      const { id } = await deliver([inbox.id], plain("Budget", "the quarterly report is late"));
      const found = (text: string) => store.search.search(user.id, ["body"], text);
      assert.deepEqual(await found("quart"), [id]);
      assert.deepEqual(await found("quarterly rep"), [id]);
      assert.deepEqual(await found("quarterly-report"), [id]);
      assert.deepEqual(await found("report quarterly"), []);
      assert.deepEqual(await found("the report"), []);
      assert.deepEqual(await found("uarterly"), [], "words match from their start");
    });

    test("an appended message is indexed; a copy is found in both mailboxes; mailboxId narrows", async () => {
      const { user, inbox } = await context.freshUser();
      const archive = await store.mailboxes.createMailbox(user.id, "Search archive");
      const blob = await writeBlob(store, plain("Invoice", "payment overdue"));
      const appended = await store.messages.append(archive.id, blob, [], new Date());
      assert.deepEqual(await store.search.search(user.id, ["body"], "overdue"), [blob.id]);
      await store.messages.copyMessages(archive.id, [appended.uid], inbox.id);
      assert.deepEqual(await store.search.search(user.id, ["body"], "overdue"), [blob.id]);
      assert.deepEqual(await store.search.search(user.id, ["body"], "overdue", { mailboxId: inbox.id }), [
        blob.id,
      ]);
      await store.messages.expunge(archive.id, [appended.uid]);
      assert.deepEqual(
        await store.search.search(user.id, ["body"], "overdue", { mailboxId: archive.id }),
        [],
      );
      assert.deepEqual(await store.search.search(user.id, ["body"], "overdue"), [blob.id]);
    });

    test("an expunged message is no longer found", async () => {
      const { user, inbox } = await context.freshUser();
      const kept = await deliver([inbox.id], plain("Kept", "zebra crossing"));
      const gone = await deliver([inbox.id], plain("Gone", "zebra stripes"));
      assert.deepEqual(
        (await store.search.search(user.id, ["body"], "zebra")).sort(),
        [kept.id, gone.id].sort(),
      );
      const listed = await store.messages.listMessages(inbox.id);
      const uid = listed.find((entry) => entry.messageId === gone.id)!.uid;
      await store.messages.expunge(inbox.id, [uid]);
      assert.deepEqual(await store.search.search(user.id, ["body"], "zebra"), [kept.id]);
    });

    test("a user finds only their own messages, also of a body delivered to several users", async () => {
      const alice = await context.freshUser();
      const bob = await context.freshUser();
      const carol = await context.freshUser();
      const shared = await deliver([alice.inbox.id, bob.inbox.id], plain("Party", "rooftop party friday"));
      const own = await deliver([alice.inbox.id], plain("Secret", "rooftop keys"));
      assert.deepEqual(
        (await store.search.search(alice.user.id, ["body"], "rooftop")).sort(),
        [shared.id, own.id].sort(),
      );
      assert.deepEqual(await store.search.search(bob.user.id, ["body"], "rooftop"), [shared.id]);
      assert.deepEqual(await store.search.search(carol.user.id, TEXT, "rooftop"), []);
      assert.deepEqual(
        await store.search.search(bob.user.id, ["body"], "rooftop", { mailboxId: alice.inbox.id }),
        [],
      );
    });

    /** Keeps the match words of these bodies as a search that read them would. */
    async function keepWords(...blobs: BlobRef[]): Promise<void> {
      const words = new Map<string, string | null>();
      for (const blob of blobs) {
        const bytes = await store.blobs.readBlobBytes(blob.id);
        words.set(blob.id, matchWords(new MatchTexts(bytes)));
      }
      await store.search.keepMatchWords(words);
    }

    test("cannotMatch rules out the bodies lacking a pattern of an IMAP search, only in that mailbox", async () => {
      const { user, inbox } = await context.freshUser();
      const other = await store.mailboxes.createMailbox(user.id, "Match other");
      const budget = await deliver([inbox.id], plain("Plans", "the quarterly budgets were approved"));
      const quiet = await deliver([inbox.id], plain("Lunch", "no money talk today"));
      const html = await deliver([inbox.id], REPORT);
      const elsewhere = await deliver([other.id], plain("Other", "nothing of note"));
      const filter = (patterns: string[], mailboxId = inbox.id, userId = user.id) =>
        store.search.cannotMatch(userId, mailboxId, patterns);
      const ruledOut = async (patterns: string[], mailboxId = inbox.id, userId = user.id) =>
        (await filter(patterns, mailboxId, userId)).ruledOut.sort();
      // Delivery keeps no words: until a search keeps them, no body is ruled out.
      const before = await filter(["budget"]);
      assert.deepEqual(before.ruledOut, []);
      assert.deepEqual(before.unkept.sort(), [budget.id, quiet.id, html.id].sort());
      await keepWords(budget, quiet, html, elsewhere);
      assert.deepEqual((await filter(["budget"])).unkept, []);
      // "budget" (inside a word), then "budgets were" (a word's end, then a word's start).
      assert.deepEqual(await ruledOut(["budget"]), [quiet.id, html.id].sort());
      assert.deepEqual(await ruledOut(["budgets ", " were"]), [quiet.id, html.id].sort());
      assert.deepEqual(await ruledOut([" budget "]), [budget.id, quiet.id, html.id].sort(), "a whole word");
      // BODY matches an HTML part's markup, unlike JMAP's body.
      assert.deepEqual(await ruledOut([" nbsp "]), [budget.id, quiet.id].sort());
      // TEXT matches any header field: names, and values decoded.
      assert.deepEqual(await ruledOut([" mime version "]), [budget.id, quiet.id].sort());
      // Patterns are folded as the evaluator folds (NFKD): requiredPatterns makes them.
      assert.deepEqual(await ruledOut(requiredPatterns("Renée ")), [budget.id, quiet.id].sort());
      assert.deepEqual(await ruledOut([]), []);
      assert.deepEqual(await ruledOut(["note"], other.id), []);
      assert.deepEqual(await ruledOut(["budget"], other.id), [elsewhere.id]);
      const stranger = await context.freshUser();
      assert.deepEqual(await filter(["budget"], inbox.id, stranger.user.id), { ruledOut: [], unkept: [] });
      await assert.rejects(filter([""]), { code: "invalid" });
    });

    test("kept words are never replaced, and keepMatchWords refuses what no search makes", async () => {
      const { user, inbox } = await context.freshUser();
      const first = await deliver([inbox.id], plain("First", "alpha"));
      await keepWords(first);
      await store.search.keepMatchWords(new Map([[first.id, " beta "]]));
      assert.deepEqual((await store.search.cannotMatch(user.id, inbox.id, ["alpha"])).ruledOut, []);
      assert.deepEqual((await store.search.cannotMatch(user.id, inbox.id, ["beta"])).ruledOut, [first.id]);
      await assert.rejects(store.search.keepMatchWords(new Map([[first.id, "beta"]])), { code: "invalid" });
      await assert.rejects(
        store.search.keepMatchWords([[first.id, " b "]] as unknown as Map<string, string>),
        { code: "invalid" },
      );
    });

    test("cannotMatch never rules out a body whose words were too many to keep", async () => {
      const { user, inbox } = await context.freshUser();
      const words = Array.from({ length: 70_000 }, (_, i) => `w${i.toString(36)}`).join(" ");
      const large = await deliver([inbox.id], plain("Large", words));
      const small = await deliver([inbox.id], plain("Small", "w1 w2"));
      await keepWords(large, small);
      assert.deepEqual(await store.search.cannotMatch(user.id, inbox.id, [" zzzzz "]), {
        ruledOut: [small.id],
        unkept: [],
      });
    });

    test("a body longer than the index reads is found by its first words, not by its last", async () => {
      const { user, inbox } = await context.freshUser();
      const filler = "filler text of a very long message\r\n".repeat(MAX_INDEXED_OCTETS / 36 + 1000);
      const { id } = await deliver([inbox.id], plain("Huge", `aardvark opening\r\n${filler}zymurgy closing`));
      assert.deepEqual(await store.search.search(user.id, ["body"], "aardvark"), [id]);
      assert.deepEqual(await store.search.search(user.id, ["body"], "zymurgy"), []);
      assert.deepEqual(await store.search.search(user.id, ["subject"], "huge"), [id]);
    });

    test("imported messages (not indexed when written) are found at the owner's first search", async () => {
      const { user, inbox } = await context.freshUser();
      const blobs: BlobRef[] = [];
      for (let index = 1; index <= 3; index++)
        blobs.push(await writeBlob(store, plain(`Old ${index}`, "walrus")));
      await importUnindexed(inbox.id, blobs);
      assert.deepEqual(
        (await store.search.search(user.id, ["body"], "walrus")).sort(),
        blobs.map((blob) => blob.id).sort(),
      );
    });

    test("imported messages are indexed at the owner's first IMAP search too", async () => {
      const { user, inbox } = await context.freshUser();
      const blobs = [
        await writeBlob(store, plain("Old", "narwhal")),
        await writeBlob(store, plain("Old", "seal")),
      ];
      await importUnindexed(inbox.id, blobs);
      assert.deepEqual(
        (await store.search.cannotMatch(user.id, inbox.id, ["narwhal"])).unkept.sort(),
        blobs.map((blob) => blob.id).sort(),
      );
      await keepWords(...blobs);
      assert.deepEqual((await store.search.cannotMatch(user.id, inbox.id, ["narwhal"])).ruledOut, [
        blobs[1]?.id,
      ]);
    });
  });
}
