import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { formatTable, localDate, type MessageListing } from "../../src/cli/mail.js";
import type { Store } from "../../src/store/types.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

const first = Buffer.from(
  "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@remote.test>\r\n" +
    "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus\r\n =?UTF-8?B?QmVybGlu?=\r\n" +
    "Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n" +
    "\r\n" +
    "Hallo\r\n",
);
// Every byte value, so `cat` is shown to be binary-safe; the header carries a terminal escape.
const second = Buffer.concat([
  Buffer.from("From: plain@remote.test\r\nSubject: evil \x1b[31mred\r\n\r\n"),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
]);

async function deliver(store: Store, mailboxId: number, body: Buffer, at: Date): Promise<void> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(body);
  const blob = await writer.finish();
  await store.messages.deliver({
    blob,
    sender: "x@remote.test",
    internalDate: at,
    mailboxes: [{ mailboxId }],
    queue: [],
  });
}

describe("mail list and mail cat", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const cli = (argv: string[]) => runCli([...argv, "--data-dir", dataDir]);

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    await withTestStore(dataDir, async (store) => {
      await store.directory.addDomain("example.org");
      const user = await store.directory.addUser("alice@example.org", {
        passwordHash: "x",
        scramSha256: "x",
      });
      const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
      assert.ok(inbox);
      await deliver(store, inbox.id, first, new Date("2025-07-01T10:00:05Z"));
      await deliver(store, inbox.id, second, new Date("2025-07-02T11:30:00Z"));
    });
  });
  after(() => cleanup());

  test("list --json gives decoded headers and the stored numbers", async () => {
    const run = await cli(["mail", "list", "alice@example.org", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const listing = JSON.parse(run.stdout.toString()) as MessageListing[];
    assert.equal(listing.length, 2);
    assert.deepEqual(
      listing.map((entry) => [
        entry.uid,
        entry.size,
        entry.from,
        entry.subject,
        entry.internalDate,
        entry.date,
      ]),
      [
        [
          1,
          first.length,
          "Jörg Müller <joerg@remote.test>",
          "Grüße aus Berlin",
          "2025-07-01T10:00:05.000Z",
          "2025-07-01T10:00:00.000Z",
        ],
        [2, second.length, "plain@remote.test", "evil \x1b[31mred", "2025-07-02T11:30:00.000Z", null],
      ],
    );
  });

  test("list prints a table with control characters made inert", async () => {
    const run = await cli(["mail", "list", "alice@example.org"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.toString().split("\n");
    assert.match(lines[0] ?? "", /^UID +DATE +SIZE +FROM +SUBJECT$/);
    assert.match(lines[1] ?? "", /^ {2}1 .*Jörg Müller <joerg@remote\.test> +Grüße aus Berlin$/);
    assert.ok(lines[1]?.includes(localDate("2025-07-01T10:00:05Z")));
    assert.ok(!run.stdout.includes(0x1b), "no raw escape reaches the terminal");
    assert.match(lines[2] ?? "", /evil \uFFFD\[31mred$/);
  });

  test("formatTable truncates long From fields and aligns columns", () => {
    const entry: MessageListing = {
      uid: 7,
      internalDate: "2025-01-02T03:04:00Z",
      size: 12345,
      flags: [],
      from: "a".repeat(40),
      subject: "s",
      date: null,
      messageId: "m",
    };
    const [header, row] = formatTable([entry]).split("\n");
    assert.equal(row?.slice(header?.indexOf("SUBJECT")), "s");
    assert.equal(row?.slice(0, header?.indexOf("DATE")), "  7  ");
    assert.ok(row?.includes(`${"a".repeat(31)}\u2026`));
    assert.equal(localDate("2025-01-02T03:04:59Z").length, 16);
  });

  test("an empty or unknown mailbox, or an unknown user, says so", async () => {
    const empty = await cli(["mail", "list", "alice@example.org", "Trash"]);
    assert.deepEqual(
      [empty.code, empty.stdout.length, empty.stderr],
      [0, 0, "Trash of alice@example.org is empty\n"],
    );
    const emptyJson = await cli(["mail", "list", "alice@example.org", "Trash", "--json"]);
    assert.deepEqual(JSON.parse(emptyJson.stdout.toString()), []);
    const mailbox = await cli(["mail", "list", "alice@example.org", "Nope"]);
    assert.equal(mailbox.code, 1);
    assert.match(mailbox.stderr, /alice@example.org has no mailbox 'Nope'; its mailboxes are: .*INBOX/);
    const user = await cli(["mail", "list", "ghost@example.org"]);
    assert.equal(user.code, 1);
    assert.match(user.stderr, /there is no user ghost@example.org here/);
  });

  test("cat writes the exact stored bytes", async () => {
    const one = await cli(["mail", "cat", "alice@example.org", "inbox", "1"]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(one.stdout, first);
    const two = await cli(["mail", "cat", "alice@example.org", "INBOX", "2"]);
    assert.deepEqual(two.stdout, second);
  });

  test("cat of a missing UID fails clearly", async () => {
    const run = await cli(["mail", "cat", "alice@example.org", "INBOX", "3"]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout.length, 0);
    assert.match(run.stderr, /there is no message with UID 3 in INBOX of alice@example.org/);
    const zero = await cli(["mail", "cat", "alice@example.org", "INBOX", "0"]);
    assert.equal(zero.code, 64);
  });
});
