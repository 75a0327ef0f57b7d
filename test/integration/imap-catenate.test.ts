// CATENATE (RFC 4469) against a running `mailroom serve` with python3 imaplib, on both stores: a message
// built from TEXT literals (one synchronizing, so its "+" is awaited), the URL of a whole message and the
// URL of a section, read back with FETCH BODY[] and `mailroom mail cat`; then every refusal — BADURL for
// each way a URL fails (another user's mail among them, whose bytes never appear in a reply), TOOBIG
// past APPENDLIMIT, TRYCREATE — each storing nothing.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { mailboxHelpers, password, user } from "./imap-helpers.js";

const run = promisify(execFile);
const LIMIT = 4096;

/** Python that logs in as `address` over STARTTLS as `m`; `raw(bytes)` sends one tagged command. */
const PRELUDE = String.raw`
import imaplib, json, sys, re
port, password, address = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
m = imaplib.IMAP4('127.0.0.1', port)
m.starttls()
m.login(address, password)
def raw(command):
    tag = m._new_tag()
    m.tagged_commands[tag] = None
    m.send(tag + b' ' + command + b'\r\n')
    typ, data = m._get_tagged_response(tag)
    return typ, [d.decode() if isinstance(d, bytes) else d for d in data]
def appended(data):
    match = re.match(r'\[APPENDUID (\d+) (\d+)\]', data[0])
    return int(match.group(1)), int(match.group(2))
`;

async function python(server: TestServer, address: string, body: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("python3", [
    "-c",
    `${PRELUDE}\n${body}\nm.logout()\nprint(json.dumps(out))`,
    String(server.ports.imap),
    password,
    address,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const SOURCE = [
  "Subject: source",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="s"',
  "",
  "--s",
  "Content-Type: text/plain",
  "",
  "the first part",
  "--s",
  "Content-Type: text/plain; name=notes.txt",
  "",
  "the attached notes",
  "--s--",
  "",
].join("\r\n");

for (const backend of await integrationBackends()) {
  describe(`IMAP CATENATE with python3 imaplib, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.python3),
  }, () => {
    let server: TestServer;
    const { storedBytes, listing } = mailboxHelpers(() => server);

    before(async () => {
      server = await startTestServer({
        store: backend.store,
        env: { MAILROOM_SMTP_MAX_MESSAGE_SIZE: String(LIMIT) },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const address of [user, "alice@example.org"]) {
        const added = await server.cli(["user", "add", address, "--password-stdin"], `${password}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
      // Alice's own message, which bob's URLs must never reach.
      const alice = await python(
        server,
        "alice@example.org",
        String.raw`
secret = b'Subject: alice secret\r\n\r\nalice private words\r\n'
out['append'] = raw(b'APPEND INBOX {%d+}\r\n%s' % (len(secret), secret))
`,
      );
      assert.equal((alice.append as [string])[0], "OK");
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("TEXT + the URL of a whole message + the URL of a section, stored in order; FETCH BODY[] shows it", async () => {
      const out = await python(
        server,
        user,
        String.raw`
out['caps'] = m.capability()[1][0].decode().split()
m.create('Cat')
source = ${JSON.stringify(SOURCE)}.encode()
validity, uid = appended(raw(b'APPEND Cat {%d+}\r\n%s' % (len(source), source))[1])
out['source_uid'] = uid
head = b'Subject: built\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="n"\r\n\r\n--n\r\nContent-Type: message/rfc822\r\n\r\n'
mid = b'\r\n--n\r\n'
tail = b'\r\n--n--\r\n'
whole = b'/Cat;UIDVALIDITY=%d/;UID=%d' % (validity, uid)
# The first TEXT is synchronizing: the server says "+" only after checking the command so far.
tag = m._new_tag()
m.tagged_commands[tag] = None
m.send(tag + b' APPEND Cat (\\Seen) CATENATE (TEXT {%d}\r\n' % len(head))
out['continuation'] = m._get_line().decode()
m.send(head + b' URL "' + whole + b'" TEXT {%d+}\r\n' % len(mid) + mid
       + b' URL "' + whole + b'/;SECTION=2.MIME" URL "' + whole + b'/;SECTION=2" TEXT {%d+}\r\n' % len(tail)
       + tail + b')\r\n')
typ, data = m._get_tagged_response(tag)
out['catenate'] = [typ, [d.decode() for d in data]]
built = appended(out['catenate'][1])[1]
out['built_uid'] = built
m.select('Cat')
typ, data = m.uid('FETCH', str(built), '(FLAGS BODY.PEEK[])')
out['fetched'] = data[0][1].decode()
out['flags'] = data[0][0].decode()
`,
      );
      assert.ok((out.caps as string[]).includes("CATENATE"));
      assert.match(out.continuation as string, /^\+ /);
      const [type] = out.catenate as [string, string[]];
      assert.equal(type, "OK", JSON.stringify(out.catenate));
      const expected =
        'Subject: built\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="n"\r\n\r\n--n\r\n' +
        "Content-Type: message/rfc822\r\n\r\n" +
        SOURCE +
        "\r\n--n\r\nContent-Type: text/plain; name=notes.txt\r\n\r\nthe attached notes\r\n--n--\r\n";
      assert.equal(out.fetched, expected);
      assert.match(out.flags as string, /\\Seen/);
      assert.equal((await storedBytes("Cat", out.built_uid as number)).toString(), expected);
      assert.deepEqual(
        (await listing("Cat")).map((m) => m.subject),
        ["source", "built"],
      );
    });

    test("BADURL for each URL that does not resolve, TOOBIG past APPENDLIMIT, TRYCREATE: nothing stored", async () => {
      const out = await python(
        server,
        user,
        String.raw`
m.create('Errs')
source = ${JSON.stringify(SOURCE)}.encode()
validity, uid = appended(raw(b'APPEND Errs {%d+}\r\n%s' % (len(source), source))[1])
base = '/Errs;UIDVALIDITY=%d/;UID=%d' % (validity, uid)
bad = {
  'uidvalidity': '/Errs;UIDVALIDITY=%d/;UID=%d' % (validity + 1, uid),
  'uid': '/Errs;UIDVALIDITY=%d/;UID=%d' % (validity, uid + 50),
  'mailbox': '/Nowhere;UIDVALIDITY=%d/;UID=%d' % (validity, uid),
  'section': base + '/;SECTION=9.1',
  'other-user': 'imap://alice@example.org/INBOX/;UID=1',
  'other-user-path': '/user/alice/INBOX/;UID=1',
  'urlauth': base + ';URLAUTH=anonymous:internal:0123456789abcdef',
}
out['bad'] = {}
for key, url in bad.items():
    out['bad'][key] = [url, raw(b'APPEND Errs CATENATE (TEXT {4+}\r\nhi\r\n URL "' + url.encode() + b'")')]
# Twenty copies of the source pass the 4096-octet APPENDLIMIT.
big = b' '.join([b'URL "' + base.encode() + b'"'] * 20)
out['toobig'] = raw(b'APPEND Errs CATENATE (' + big + b')')
out['toobig_text'] = raw(b'APPEND Errs CATENATE (URL "' + base.encode() + b'" TEXT {4000+}\r\n' + b'x' * 4000 + b')')
out['trycreate'] = raw(b'APPEND Missing CATENATE (URL "' + base.encode() + b'")')
out['noop'] = raw(b'NOOP')
`,
      );
      const bad = out.bad as Record<string, [string, [string, string[]]]>;
      for (const [key, [url, [type, data]]] of Object.entries(bad)) {
        assert.equal(type, "NO", `${key}: ${JSON.stringify(data)}`);
        assert.ok((data[0] ?? "").startsWith(`[BADURL ${url}] `), `${key}: ${data[0]}`);
        assert.doesNotMatch(data[0] ?? "", /alice private|secret|\/tmp\/|mailroom-it/, key);
      }
      const [bigType, bigData] = out.toobig as [string, string[]];
      assert.equal(bigType, "NO");
      assert.match(bigData[0] ?? "", /^\[TOOBIG\] /);
      assert.match((out.toobig_text as [string, string[]])[1][0] ?? "", /^\[TOOBIG\] /);
      assert.match((out.trycreate as [string, string[]])[1][0] ?? "", /^\[TRYCREATE\] /);
      assert.equal((out.noop as [string])[0], "OK");
      assert.deepEqual(
        (await listing("Errs")).map((m) => m.subject),
        ["source"],
        "no refused CATENATE stored anything",
      );
    });
  });
}
