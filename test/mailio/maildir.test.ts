// Reading a Maildir as Dovecot lays it out with LAYOUT=fs and as Maildir++, from files made here.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listMaildirFolders, NotMaildirError } from "../../src/mailio/maildir.js";
import { maildirSource } from "../../src/mailio/sources.js";

test("both layouts' folders, flags from names and dovecot-keywords, mtime as date; tmp/ unread", async () => {
  const root = await mkdtemp(join(tmpdir(), "mailroom-maildir-"));
  try {
    for (const dir of ["cur", "new", "tmp", "Work/2024/cur", ".Entw&APw-rfe/cur", "Work/2024/tmp"]) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await writeFile(join(root, "dovecot-keywords"), "0 $Label1\n1 work\n");
    await writeFile(join(root, "cur", "100.M1P1.h,S=9,W=10:2,RSb"), "S: a\n\nx\n");
    await writeFile(join(root, "new", "200.M1P1.h"), "S: b\n\ny\n");
    await writeFile(join(root, "tmp", "300.M1P1.h"), "half written");
    await writeFile(join(root, "Work/2024/cur", "400.M1P1.h:2,FX"), "S: c\n\nz\n");
    await writeFile(join(root, ".Entw&APw-rfe/cur", "500.h:2,D"), "S: d\n\n");
    await utimes(join(root, "cur", "100.M1P1.h,S=9,W=10:2,RSb"), 1_700_000_000, 1_700_000_000);
    assert.deepEqual(
      (await listMaildirFolders(root)).map((f) => f.name),
      ["INBOX", "Entwürfe", "Work/2024"],
    );
    const got = [];
    for await (const m of maildirSource(root, 1000).messages()) {
      got.push([m.mailbox, m.bytes?.toString(), m.flags.join(" "), m.notes.join()]);
    }
    assert.deepEqual(got, [
      ["INBOX", "S: b\n\ny\n", "", ""],
      ["INBOX", "S: a\n\nx\n", "\\Answered \\Seen work", ""],
      ["Entwürfe", "S: d\n\n", "\\Draft", ""],
      ["Work/2024", "S: c\n\nz\n", "\\Flagged", "flag letters X mean nothing here; dropped"],
    ]);
    const first = [];
    for await (const m of maildirSource(root, 1000).messages()) first.push(m.internalDate.getTime());
    assert.equal(first[1], 1_700_000_000_000);
    await assert.rejects(listMaildirFolders(join(root, "Work")), NotMaildirError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
