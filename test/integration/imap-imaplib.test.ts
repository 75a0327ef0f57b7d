// Issue 6, IMAP against a running mailroom with python3 imaplib, on both stores: the commands imapflow
// (imap-clients.test.ts) does not send, each checked against what `mailroom mail` shows.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { mailboxHelpers, password, user } from "./imap-helpers.js";

const run = promisify(execFile);
const _root = join(import.meta.dirname, "../..");

for (const backend of await integrationBackends()) {
  describe(`IMAP with python3 imaplib, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.python3),
  }, () => {
    let server: TestServer;

    const { storedBytes, listing, send } = mailboxHelpers(() => server);

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      await send("first");
      await send("second");
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("python3 imaplib: SORT, UID SORT and UID THREAD (RFC 5256)", async () => {
      const script = String.raw`
import imaplib, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.starttls()
m.login('bob@example.org', password)
out['caps'] = m.capability()[1][0].decode().split()
m.select('INBOX', readonly=True)
out['sort'] = m.sort('(SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
out['uid_sort'] = m.uid('SORT', '(REVERSE SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
out['uid_sort_some'] = m.uid('SORT', '(DATE)', 'UTF-8', 'SUBJECT', 'second')[1][0].decode()
out['uid_thread'] = m.uid('THREAD', 'REFERENCES', 'UTF-8', 'ALL')[1][0].decode()
out['thread'] = m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode()
m.logout()
print(json.dumps(out))
`;
      const { stdout } = await run("python3", ["-c", script, String(server.ports.imap), password]);
      const out = JSON.parse(stdout) as Record<string, string | string[]>;
      for (const cap of ["SORT", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT"])
        assert.ok(out.caps?.includes(cap));
      const [first, second] = await listing();
      assert.ok(first && second);
      // Base subjects "first" < "second", sequence numbers 1 and 2.
      assert.equal(out.sort, "1 2");
      assert.equal(out.uid_sort, `${second.uid} ${first.uid}`);
      assert.equal(out.uid_sort_some, String(second.uid));
      // Two unrelated messages: two threads, by sent date.
      assert.equal(out.uid_thread, `(${first.uid})(${second.uid})`);
      assert.equal(out.thread, "(1)(2)");
    });

    test("python3 imaplib: EXAMINE, NAMESPACE, ID, ENABLE, UNSELECT, partial BODY, UID SEARCH, STORE .SILENT, LSUB, RENAME INBOX", async () => {
      const [first] = await listing();
      assert.ok(first);
      const expectedBytes = await storedBytes("INBOX", first.uid);
      const script = String.raw`
import imaplib, json, sys
port, password, uid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.starttls()
out['caps'] = list(m.capabilities)
m.login('bob@example.org', password)
out['id'] = m.xatom('ID', '("name" "imaplib")')[0]
out['id_untagged'] = [x.decode() for x in m.untagged_responses.pop('ID', [])]
out['enable'] = m.enable('CONDSTORE')[0]
out['namespace'] = m.namespace()[1][0].decode()
typ, data = m.select('INBOX', readonly=True)
out['examine'] = [typ, data[0].decode()]
out['readonly'] = [x.decode() for x in m.untagged_responses.get('READ-ONLY', [])]
typ, data = m.uid('FETCH', uid, '(BODY.PEEK[]<0.10>)')
out['partial'] = data[0][1].hex()
out['partial_head'] = data[0][0].decode()
out['unselect'] = m.unselect()[0]
m.select('INBOX')
out['uidsearch'] = m.uid('SEARCH', 'ALL')[1][0].decode()
out['search_subject'] = m.uid('SEARCH', 'SUBJECT', 'first')[1][0].decode()
m.uid('SEARCH', 'RETURN', '(MIN MAX COUNT)', 'ALL')
out['esearch'] = [x.decode() for x in m.untagged_responses.pop('ESEARCH', [])]
out['copy'] = m.copy('1:*', 'Archive')[1][0].decode()
typ, data = m.uid('STORE', uid, '+FLAGS.SILENT', '(\\Answered)')
out['silent'] = [typ, [x.decode() if isinstance(x, bytes) else x for x in data]]
typ, data = m.uid('FETCH', uid, '(FLAGS)')
out['flags_after'] = data[0].decode()
m.close()
m.create('Lists')
out['subscribe'] = m.subscribe('Lists')[0]
out['lsub'] = [x.decode() for x in m.lsub()[1] if x]
out['unsubscribe'] = m.unsubscribe('Lists')[0]
out['append'] = m.append('Lists', None, None, b'Subject: to expunge\r\n\r\nbody\r\n')[1][0].decode()
m.select('Lists')
m.store('1', '+FLAGS', '(\\Deleted)')
out['expunge'] = [x.decode() if isinstance(x, bytes) else x for x in m.expunge()[1]]
m.close()
out['lsub_after'] = [x.decode() for x in m.lsub('""', 'Lists')[1] if x]
typ, data = m.status('INBOX', '(MESSAGES SIZE)')
out['status'] = data[0].decode()
out['rename_inbox'] = m.rename('INBOX', '"Old Inbox"')[0]
out['inbox_after'] = m.status('INBOX', '(MESSAGES)')[1][0].decode()
out['old_after'] = m.status('"Old Inbox"', '(MESSAGES)')[1][0].decode()
out['noop'] = m.noop()[0]
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;
      const before = await listing();
      const { stdout } = await run("python3", [
        "-c",
        script,
        String(server.ports.imap),
        password,
        String(first.uid),
      ]);
      const out = JSON.parse(stdout) as Record<string, unknown>;
      // imaplib asks for CAPABILITY again after STARTTLS; the upgraded session no longer offers it.
      assert.ok(!(out.caps as string[]).includes("STARTTLS"));
      assert.ok((out.caps as string[]).includes("AUTH=PLAIN"));
      assert.equal(out.id, "OK");
      assert.match(String(out.id_untagged), /"name"/i);
      assert.equal(out.enable, "OK");
      assert.match(String(out.namespace), /^\(\("" "\/"\)\) NIL NIL$/);
      assert.equal((out.examine as string[])[0], "OK");
      assert.equal((out.examine as string[])[1], String(before.length));
      assert.equal((out.readonly as string[]).length, 1, "EXAMINE answers [READ-ONLY]");
      assert.equal(
        Buffer.from(String(out.partial), "hex").toString("latin1"),
        expectedBytes.subarray(0, 10).toString("latin1"),
      );
      assert.match(String(out.partial_head), /BODY\[\]<0> \{10\}/);
      assert.equal(out.unselect, "OK");
      assert.deepEqual(
        String(out.uidsearch).split(" ").map(Number),
        before.map((m) => m.uid),
      );
      assert.equal(String(out.search_subject), String(first.uid));
      const uids = before.map((m) => m.uid);
      // RFC 4731: RETURN options get one ESEARCH response carrying the tag and the UID marker.
      assert.equal((out.esearch as string[]).length, 1);
      assert.match(
        String((out.esearch as string[])[0]),
        new RegExp(
          `^\\(TAG "\\w+"\\) UID MIN ${Math.min(...uids)} MAX ${Math.max(...uids)} COUNT ${uids.length}$`,
        ),
      );
      // COPYUID (RFC 4315 §3) names the source UIDs, as a list or a range.
      assert.match(String(out.copy), /^\[COPYUID \d+ \d+[:,]\d+ \d+[:,]\d+\] /);
      assert.equal((out.silent as [string, unknown[]])[0], "OK");
      assert.deepEqual((out.silent as [string, unknown[]])[1], [null], ".SILENT sends no FETCH back");
      assert.match(String(out.flags_after), /\\Answered/);
      assert.equal(out.subscribe, "OK");
      assert.ok((out.lsub as string[]).some((line) => line.endsWith(' "/" "Lists"')));
      assert.equal(out.unsubscribe, "OK");
      assert.deepEqual(out.lsub_after, []);
      assert.match(String(out.append), /^\[APPENDUID \d+ 1\] /);
      assert.deepEqual(out.expunge, ["1"], "EXPUNGE reports the removed sequence number");
      const totalSize = before.reduce((sum, m) => sum + (m as unknown as { size: number }).size, 0);
      assert.match(String(out.status), new RegExp(`MESSAGES ${before.length}\\b`));
      assert.match(String(out.status), new RegExp(`SIZE ${totalSize}\\b`));
      assert.equal(out.rename_inbox, "OK");
      assert.match(String(out.inbox_after), /MESSAGES 0\b/);
      assert.match(String(out.old_after), new RegExp(`MESSAGES ${before.length}\\b`));
      assert.equal(out.logout, "BYE");
      assert.deepEqual(await listing(), []);
      assert.deepEqual(
        (await listing("Old Inbox")).map((m) => m.subject),
        before.map((m) => m.subject),
      );
    });

    test("python3 imaplib, two connections: \\Recent for the first to select, FLAGS and PERMANENTFLAGS for a new keyword (issue 17)", async () => {
      await send("recent one");
      const script = `
import imaplib, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
def connect():
    m = imaplib.IMAP4('127.0.0.1', port)
    m.starttls()
    m.login('bob@example.org', password)
    return m
def text(values):
    return [x.decode() for x in values if x is not None]
out = {}
a, b = connect(), connect()
a.select('INBOX')
out['a_recent'] = text(a.untagged_responses.get('RECENT', []))
b.select('INBOX')
out['b_recent'] = text(b.untagged_responses.get('RECENT', []))
out['a_search'] = text(a.search(None, 'RECENT')[1])
out['b_search'] = text(b.search(None, 'RECENT')[1])
out['a_fetch'] = text(a.fetch('1', '(FLAGS)')[1])
for m in (a, b):
    m.untagged_responses.pop('FLAGS', None)
    m.untagged_responses.pop('PERMANENTFLAGS', None)
a.store('1', '+FLAGS', '($Issue17)')
out['a_flags'] = text(a.untagged_responses.pop('FLAGS', []))
out['a_permanent'] = text(a.untagged_responses.pop('PERMANENTFLAGS', []))
b.noop()
out['b_flags'] = text(b.untagged_responses.pop('FLAGS', []))
out['b_permanent'] = text(b.untagged_responses.pop('PERMANENTFLAGS', []))
out['b_fetch'] = text(b.untagged_responses.pop('FETCH', []))
a.logout()
b.logout()
print(json.dumps(out))
`;
      const { stdout } = await run("python3", ["-c", script, String(server.ports.imap), password]);
      const out = JSON.parse(stdout) as Record<string, string[]>;
      const count = String((await listing()).length);
      assert.deepEqual(out.a_recent, [count], "the first to select sees every new message as recent");
      assert.deepEqual(out.b_recent, ["0"]);
      assert.equal(out.a_search?.[0]?.split(" ").length, Number(count));
      assert.deepEqual(out.b_search, [""]);
      assert.match(String(out.a_fetch), /\\Recent/);
      assert.equal(out.a_flags?.length, 1);
      assert.match(String(out.a_flags), /\$Issue17\)$/);
      assert.match(String(out.a_permanent), /\$Issue17 \\\*\)$/);
      assert.match(String(out.b_flags), /\$Issue17\)$/);
      assert.match(String(out.b_permanent), /\$Issue17 \\\*\)$/);
      assert.match(String(out.b_fetch), /FLAGS \(\$Issue17\)/);
    });

    test("python3 imaplib: LIST RETURN (METADATA ...) (RFC 9590), alone, with STATUS and SUBSCRIBED, MAXSIZE", async () => {
      const script = `
import imaplib, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4('127.0.0.1', port)
m.starttls()
m.login('bob@example.org', password)
out = {'caps': m.capability()[1][0].decode().split()}
# Every line the client reads, in order, to see which METADATA follows which LIST.
lines = []
read_line = m._get_line
def get_line():
    line = read_line()
    lines.append(line.decode())
    return line
m._get_line = get_line
def run(name, *args):
    del lines[:]
    typ, data = m._simple_command(name, *args)
    m.untagged_responses.clear()
    return {'typ': typ, 'tagged': data[-1].decode(), 'lines': list(lines)}
for name in ('Projects', 'Projects/Q3', 'Gone'):
    m.create(name)
m.subscribe('Projects/Q3')
m.subscribe('Gone')
m.delete('Gone')
m.xatom('SETMETADATA', 'INBOX', '(/shared/comment "Shared note" /private/comment "Mine")')
m.xatom('SETMETADATA', 'Projects', '(/private/comment "%s" /private/comment/owner "bob")' % ('x' * 300))
out['plain'] = run('LIST', '""', '"*"', 'RETURN', '(METADATA ("/shared/comment" "/private/comment"))')
out['combined'] = run('LIST', '(SUBSCRIBED)', '""', '"*"', 'RETURN', '(CHILDREN METADATA (/private/comment) STATUS (MESSAGES))')
out['options'] = run('LIST', '""', 'Projects*', 'RETURN', '(METADATA ((MAXSIZE 100 DEPTH infinity) (/private/comment)))')
try:
    out['bad'] = run('LIST', '""', '"*"', 'RETURN', '(METADATA ("/private/*"))')
except imaplib.IMAP4.error as error:
    out['bad'] = {'error': str(error), 'lines': list(lines)}
m.logout()
print(json.dumps(out))
`;
      const { stdout } = await run("python3", ["-c", script, String(server.ports.imap), password]);
      type Reply = { typ: string; tagged: string; lines: string[] };
      const out = JSON.parse(stdout) as {
        caps: string[];
        plain: Reply;
        combined: Reply;
        options: Reply;
        bad: { error: string; lines: string[] };
      };
      assert.ok(out.caps.includes("METADATA") && out.caps.includes("LIST-METADATA"), out.caps.join(" "));

      const plain = out.plain.lines;
      assert.equal(out.plain.typ, "OK");
      assert.match(out.plain.tagged, /^LIST completed$/);
      // Each mailbox's LIST line is followed by its METADATA line, NIL for what it lacks.
      const listed = plain.filter((line) => line.startsWith("* LIST "));
      assert.ok(listed.length >= 3, plain.join("\n"));
      for (const line of listed) {
        const name = line.slice(line.indexOf(' "/" ') + 5);
        assert.ok(plain[plain.indexOf(line) + 1]?.startsWith(`* METADATA ${name} (`), plain.join("\n"));
      }
      assert.ok(
        plain.includes('* METADATA "INBOX" (/private/comment "Mine" /shared/comment "Shared note")'),
        plain.join("\n"),
      );
      assert.ok(
        plain.includes('* METADATA "Projects/Q3" (/private/comment NIL /shared/comment NIL)'),
        plain.join("\n"),
      );
      assert.ok(
        plain.includes(`* METADATA "Projects" (/private/comment "${"x".repeat(300)}" /shared/comment NIL)`),
        plain.join("\n"),
      );

      // SUBSCRIBED selection: the deleted but subscribed Gone is \NonExistent and gets no METADATA; STATUS
      // comes before METADATA although the return options name them the other way round.
      assert.equal(out.combined.typ, "OK");
      assert.deepEqual(
        out.combined.lines.slice(0, -1).filter((line) => /"(Projects\/Q3|Gone)"/.test(line)),
        [
          '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Gone"',
          '* LIST (\\HasNoChildren \\Subscribed) "/" "Projects/Q3"',
          '* STATUS "Projects/Q3" (MESSAGES 0)',
          '* METADATA "Projects/Q3" (/private/comment NIL)',
        ],
      );

      // MAXSIZE leaves the 300-octet value out and says so on the tagged OK; DEPTH reaches /owner.
      assert.deepEqual(out.options.lines.slice(0, -1), [
        '* LIST (\\HasChildren) "/" "Projects"',
        '* METADATA "Projects" (/private/comment/owner "bob")',
        '* LIST (\\HasNoChildren) "/" "Projects/Q3"',
        '* METADATA "Projects/Q3" (/private/comment NIL)',
      ]);
      assert.equal(out.options.tagged, "[METADATA LONGENTRIES 300] LIST completed");

      // imaplib raises for a BAD; nothing was listed before it.
      assert.match(out.bad.error, /^LIST command error: BAD .*not a valid entry name/);
      assert.deepEqual(out.bad.lines.slice(0, -1), []);
    });
  });
}
