// Issue 17's extensions against a running mailroom with python3 imaplib, on both stores: MULTIAPPEND
// (RFC 3502), CONTEXT=SEARCH/SORT (RFC 5267 §4), each checked against what `mailroom mail` shows. imaplib sends commands it has no method
// for through its own tagging and response reading (`_new_tag`, `send`, `_command_complete`).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { mailboxHelpers, password, user } from "./imap-helpers.js";

const run = promisify(execFile);

/** Python that logs in over STARTTLS as `m`, with `raw(text)` sending one tagged command as bytes. */
const PRELUDE = String.raw`
import imaplib, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.starttls()
m.login('bob@example.org', password)
def raw(command):
    tag = m._new_tag()
    m.tagged_commands[tag] = None
    m.send(tag + b' ' + command + b'\r\n')
    typ, data = m._get_tagged_response(tag)
    return typ, [d.decode() if isinstance(d, bytes) else d for d in data]
`;

async function python(server: TestServer, body: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("python3", [
    "-c",
    `${PRELUDE}\n${body}\nprint(json.dumps(out))`,
    String(server.ports.imap),
    password,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

for (const backend of await integrationBackends()) {
  describe(`IMAP extensions with python3 imaplib, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.python3),
  }, () => {
    let server: TestServer;
    const { storedBytes, listing, send } = mailboxHelpers(() => server);

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      await send("first");
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("MULTIAPPEND: two messages in one APPEND, APPENDUID with both UIDs; a refused one stores none", async () => {
      const out = await python(
        server,
        String.raw`
out['caps'] = m.capability()[1][0].decode().split()
m.create('Multi')
one = b'Subject: multi one\r\n\r\nfirst body\r\n'
two = b'Subject: multi two\r\n\r\nsecond body\r\n'
cmd = b'APPEND Multi (\\Seen) {%d+}\r\n%s (\\Flagged) {%d+}\r\n%s' % (len(one), one, len(two), two)
out['ok'] = raw(cmd)
cmd = b'APPEND Multi {%d+}\r\n%s {%d+}\r\n%s' % (len(one), one, 0, b'')
out['refused'] = raw(cmd)
m.logout()
`,
      );
      assert.ok((out.caps as string[]).includes("MULTIAPPEND"));
      const [okType, okData] = out.ok as [string, string[]];
      assert.equal(okType, "OK");
      const stored = await listing("Multi");
      assert.deepEqual(
        stored.map((m) => [m.subject, m.flags]),
        [
          ["multi one", ["\\Seen"]],
          ["multi two", ["\\Flagged"]],
        ],
      );
      assert.match(okData[0] ?? "", new RegExp(`^\\[APPENDUID \\d+ ${stored[0]?.uid}:${stored[1]?.uid}\\]`));
      assert.equal(
        (await storedBytes("Multi", stored[1]?.uid ?? 0)).toString(),
        "Subject: multi two\r\n\r\nsecond body\r\n",
      );
      const [refusedType] = out.refused as [string, string[]];
      assert.equal(refusedType, "NO");
      assert.equal((await listing("Multi")).length, 2, "the refused MULTIAPPEND stored nothing");
    });

    test("SAVEDATE: FETCH SAVEDATE and SEARCH SAVEDON/SAVEDBEFORE on an APPEND dated 1996 and its COPY", async () => {
      const out = await python(
        server,
        String.raw`
import datetime
out['caps'] = m.capability()[1][0].decode().split()
m.create('Saved')
m.append('Saved', None, '"17-Jul-1996 02:44:25 -0700"', b'Subject: saved\r\n\r\nbody\r\n')
m.select('Saved')
out['fetch'] = m.fetch('1', '(INTERNALDATE SAVEDATE)')[1][0].decode()
today = datetime.datetime.now(datetime.timezone.utc).strftime('%d-%b-%Y')
out['on'] = m.search(None, 'SAVEDON', today)[1][0].decode()
out['before'] = m.search(None, 'SAVEDBEFORE', today)[1][0].decode()
out['old'] = m.search(None, 'ON', '17-Jul-1996')[1][0].decode()
m.copy('1', 'INBOX')
m.select('INBOX')
n = m.search(None, 'SAVEDATESUPPORTED', 'SAVEDON', today, 'SUBJECT', 'saved')[1][0].decode()
out['copied'] = n
m.logout()
`,
      );
      assert.ok((out.caps as string[]).includes("SAVEDATE"));
      const fetched = /INTERNALDATE "([^"]+)" SAVEDATE "([^"]+)"/.exec(out.fetch as string);
      assert.ok(fetched, String(out.fetch));
      assert.equal(fetched[1], "17-Jul-1996 09:44:25 +0000");
      assert.ok(new Date(fetched[2] ?? "").getUTCFullYear() > 2020, "the save date is the APPEND's");
      assert.equal(out.on, "1");
      assert.equal(out.before, "");
      assert.equal(out.old, "1");
      assert.match(out.copied as string, /^\d+$/, "the copy in INBOX is saved today too");
    });

    test("PREVIEW: the text body's first characters, as JMAP's preview has them, with and without LAZY", async () => {
      const out = await python(
        server,
        `
out['caps'] = m.capability()[1][0].decode().split()
m.select('INBOX', readonly=True)
typ, data = m.fetch('1', '(PREVIEW)')
out['preview'] = data[0][1].decode('utf-8') if isinstance(data[0], tuple) else data[0].decode()
typ, data = m.fetch('1', '(PREVIEW (LAZY) FLAGS)')
out['lazy'] = data[0][1].decode('utf-8') if isinstance(data[0], tuple) else data[0].decode()
m.logout()
`,
      );
      assert.ok((out.caps as string[]).includes("PREVIEW"));
      // The text part of "first" (see imap-helpers.ts send), its line breaks collapsed; the attachment is not text.
      assert.equal(out.preview, "first body Grüße");
      assert.equal(out.lazy, "first body Grüße");
    });

    test("ESORT and PARTIAL: SORT RETURN and SEARCH RETURN (PARTIAL) answered with ESEARCH, UID FETCH (PARTIAL)", async () => {
      const out = await python(
        server,
        `
out['caps'] = m.capability()[1][0].decode().split()
m.select('Multi', readonly=True)
def esearch(command):
    typ, data = raw(command)
    return [typ, [d.decode() if isinstance(d, bytes) else str(d) for d in m.untagged_responses.pop('ESEARCH', [])]]
out['sort'] = esearch(b'UID SORT RETURN (MIN MAX COUNT ALL) (REVERSE SUBJECT) UTF-8 ALL')
out['partial'] = esearch(b'UID SEARCH RETURN (PARTIAL -1:-1) ALL')
typ, data = m.uid('FETCH', '1:*', '(UID) (PARTIAL 1:1)')
out['fetch'] = [d.decode() for d in data if isinstance(d, bytes)]
m.logout()
`,
      );
      for (const cap of ["ESORT", "PARTIAL"]) assert.ok((out.caps as string[]).includes(cap), cap);
      const [one, two] = await listing("Multi");
      assert.ok(one && two);
      // "multi two" sorts after "multi one"; REVERSE puts it first.
      assert.deepEqual(out.sort, [
        "OK",
        [
          `(TAG "${(out.sort as [string, string[]])[1][0]?.match(/TAG "([^"]+)"/)?.[1]}") UID MIN ${two.uid} MAX ${one.uid} COUNT 2 ALL ${two.uid},${one.uid}`,
        ],
      ]);
      assert.match(
        (out.partial as [string, string[]])[1][0] ?? "",
        new RegExp(`UID PARTIAL \\(-1:-1 ${two.uid}\\)$`),
      );
      assert.equal((out.fetch as string[]).length, 1);
      assert.match((out.fetch as string[])[0] ?? "", new RegExp(`UID ${one.uid}\\)`));
    });

    test("CONTEXT=SEARCH and CONTEXT=SORT: updates on another session's STORE, new mail and EXPUNGE; CANCELUPDATE", async () => {
      const out = await python(
        server,
        String.raw`
import time
out['caps'] = m.capability()[1][0].decode().split()
m.create('Ctx')
for subject in (b'ctx b', b'ctx a'):
    m.append('Ctx', None, None, b'Subject: ' + subject + b'\r\n\r\nbody\r\n')
m.select('Ctx')
def untagged(name):
    return [d.decode() if isinstance(d, bytes) else str(d) for d in m.untagged_responses.pop(name, [])]
def updates(n):
    # Another session's change reaches this one as a store event (PostgreSQL: LISTEN/NOTIFY), maybe
    # a moment after that session's command completed: NOOP until the updates are in.
    got = []
    for _ in range(100):
        m.noop()
        got += untagged('ESEARCH')
        if len(got) >= n:
            break
        time.sleep(0.05)
    return got
raw(b'UID SEARCH RETURN (UPDATE COUNT) FLAGGED')
raw(b'UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL')
out['initial'] = untagged('ESEARCH')
other = imaplib.IMAP4('127.0.0.1', port)
other.starttls()
other.login('bob@example.org', password)
other.select('Ctx')
other.uid('STORE', '1', '+FLAGS', '(\\Flagged)')
other.append('Ctx', None, None, b'Subject: ctx 0\r\n\r\nbody\r\n')
out['changed'] = updates(2)
other.uid('STORE', '1', '+FLAGS', '(\\Deleted)')
other.expunge()
other.logout()
out['expunged'] = updates(2)
tags = [t.split('"')[1] for t in out['initial']]
out['cancel'] = raw(b'CANCELUPDATE "%s" "%s"' % (tags[0].encode(), tags[1].encode()))
m.append('Ctx', '(\\Flagged)', None, b'Subject: ctx late\r\n\r\nbody\r\n')
time.sleep(0.3)
m.noop()
out['after'] = untagged('ESEARCH')
out['tags'] = tags
m.logout()
`,
      );
      for (const cap of ["CONTEXT=SEARCH", "CONTEXT=SORT"])
        assert.ok((out.caps as string[]).includes(cap), cap);
      const [search, sorted] = out.tags as [string, string];
      const uids = (await listing("Ctx")).map((m) => m.uid);
      // What is left: "ctx a" (UID 2) and "ctx 0" (UID 3), and "ctx late" added after CANCELUPDATE.
      assert.deepEqual(uids, [2, 3, 4]);
      assert.deepEqual(out.initial, [`(TAG "${search}") UID COUNT 0`, `(TAG "${sorted}") UID ALL 2,1`]);
      // The flag change adds UID 1 to the FLAGGED search; "ctx 0" sorts first.
      assert.deepEqual(out.changed, [
        `(TAG "${search}") UID ADDTO (0 1)`,
        `(TAG "${sorted}") UID ADDTO (1 3)`,
      ]);
      // UID 1 ("ctx b", last in subject order) is expunged: removed from both.
      assert.deepEqual(out.expunged, [
        `(TAG "${search}") UID REMOVEFROM (0 1)`,
        `(TAG "${sorted}") UID REMOVEFROM (3 1)`,
      ]);
      assert.equal((out.cancel as [string, string[]])[0], "OK");
      assert.deepEqual(out.after, [], "no updates after CANCELUPDATE");
    });
  });
}
