// URLAUTH (RFC 4467) and BURL (RFC 4468) against a running `mailroom serve` on both stores, with python3
// imaplib and smtplib: bob stores a draft over IMAP, authorizes it for the submission server with
// GENURLAUTH, and sends it on 587 with BURL instead of uploading it again; carol receives it. Then what
// must not work does not: a forged token, alice using bob's URL, a URL after RESETKEY, an IMAP URLFETCH of
// a submit+ URL. Each refusal leaves nothing delivered.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const password = "burl secret";
const HOST = "mx.mailroom.test";

/** Python with helpers: `imap(address)` logs in over STARTTLS, `smtp(address)` on 587 likewise. */
const PRELUDE = String.raw`
import imaplib, smtplib, ssl, json, sys, re
imap_port, smtp_port, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = {}
def imap(address):
    m = imaplib.IMAP4('127.0.0.1', imap_port)
    m.starttls(ssl_context=ssl._create_unverified_context())
    m.login(address, password)
    return m
def raw(m, command):
    tag = m._new_tag()
    m.tagged_commands[tag] = None
    m.send(tag + b' ' + command + b'\r\n')
    typ, data = m._get_tagged_response(tag)
    return typ, [d.decode() if isinstance(d, bytes) else d for d in data]
def untagged(m, name):
    return [d.decode() if isinstance(d, bytes) else d for d in m.untagged_responses.pop(name, [])]
def smtp(address):
    s = smtplib.SMTP('127.0.0.1', smtp_port)
    s.starttls(context=ssl._create_unverified_context())
    s.login(address, password)
    s.ehlo()
    return s
def burl(s, sender, url):
    s.mail(sender)
    s.rcpt('carol@example.org')
    code, text = s.docmd('BURL', url + ' LAST')
    if code != 250:
        s.rset()
    return [code, text.decode()]
`;

async function python(server: TestServer, body: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("python3", [
    "-c",
    `${PRELUDE}\n${body}\nprint(json.dumps(out))`,
    String(server.ports.imap),
    String(server.ports.submission),
    password,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const DRAFT =
  "From: bob@example.org\r\nTo: carol@example.org\r\nSubject: sent by BURL\r\nMessage-ID: <burl-draft@example.org>\r\n\r\nthe draft's words\r\n";

for (const backend of await integrationBackends()) {
  describe(`URLAUTH and BURL with python3 imaplib and smtplib, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.python3),
  }, () => {
    let server: TestServer;

    const inboxOf = async (address: string) => {
      const result = await server.cli(["mail", "list", address, "INBOX", "--json"]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as Array<{ uid: number; subject: string }>;
    };

    before(async () => {
      server = await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      for (const address of ["bob@example.org", "alice@example.org", "carol@example.org"]) {
        const added = await server.cli(["user", "add", address, "--password-stdin"], `${password}\n`);
        assert.equal(added.code, 0, added.stderr);
      }
    });

    after(async () => {
      await server?.cleanup();
      await backend.release();
    });

    test("a draft stored over IMAP, authorized with GENURLAUTH, is sent with BURL and delivered once", async () => {
      const out = await python(
        server,
        String.raw`
m = imap('bob@example.org')
out['caps'] = m.capability()[1][0].decode().split()
draft = ${JSON.stringify(DRAFT)}.encode()
typ, data = raw(m, b'APPEND Drafts (\\Draft) {%d+}\r\n%s' % (len(draft), draft))
validity, uid = map(int, re.match(r'\[APPENDUID (\d+) (\d+)\]', data[0]).groups())
base = 'imap://bob%%40example.org@${HOST}/Drafts;UIDVALIDITY=%d/;UID=%d' % (validity, uid)
typ, data = raw(m, b'GENURLAUTH "%s;URLAUTH=submit+bob%%40example.org" INTERNAL' % base.encode())
out['gen'] = typ
url = re.match(r'"(.*)"$', untagged(m, 'GENURLAUTH')[0]).group(1)
out['url'] = url
# submit+ admits the submission server only: bob's own URLFETCH gets NIL.
raw(m, b'URLFETCH "%s"' % url.encode())
out['urlfetch'] = untagged(m, 'URLFETCH')
s = smtp('bob@example.org')
out['ehlo'] = s.esmtp_features.get('burl')
out['sent'] = burl(s, 'bob@example.org', url)
s.quit()
m.logout()
`,
      );
      assert.ok((out.caps as string[]).includes("URLAUTH"), String(out.caps));
      assert.equal(out.gen, "OK");
      assert.match(out.url as string, /;URLAUTH=submit\+bob%40example\.org:INTERNAL:[0-9A-F]{66}$/);
      assert.match(String(out.urlfetch), / NIL$/);
      assert.equal(out.ehlo, `imap imap://${HOST}`);
      assert.deepEqual((out.sent as [number, string])[0], 250, String(out.sent));
      await waitFor(async () =>
        (await inboxOf("carol@example.org")).some((m) => m.subject === "sent by BURL"),
      );
      const cat = await server.cli(["mail", "cat", "carol@example.org", "INBOX", "1"]);
      assert.match(cat.stdout, /\r?\n\r?\nthe draft's words\r?\n$/);
      assert.equal((await inboxOf("carol@example.org")).length, 1);
    });

    test("a forged token, another user, a reset key and a foreign server are refused; nothing is delivered", async () => {
      const before = (await inboxOf("carol@example.org")).length;
      const out = await python(
        server,
        String.raw`
m = imap('bob@example.org')
draft = ${JSON.stringify(DRAFT)}.encode()
typ, data = raw(m, b'APPEND Drafts {%d+}\r\n%s' % (len(draft), draft))
validity, uid = map(int, re.match(r'\[APPENDUID (\d+) (\d+)\]', data[0]).groups())
base = 'imap://bob%%40example.org@${HOST}/Drafts;UIDVALIDITY=%d/;UID=%d' % (validity, uid)
raw(m, b'GENURLAUTH "%s;URLAUTH=submit+bob%%40example.org" INTERNAL' % base.encode())
url = re.match(r'"(.*)"$', untagged(m, 'GENURLAUTH')[0]).group(1)
forged = url[:-1] + ('0' if url[-1] != '0' else '1')
s = smtp('bob@example.org')
out['forged'] = burl(s, 'bob@example.org', forged)
out['foreign'] = burl(s, 'bob@example.org', url.replace('${HOST}', 'other.example'))
out['relative'] = burl(s, 'bob@example.org', '/Drafts/;UID=%d' % uid)
a = smtp('alice@example.org')
out['alice'] = burl(a, 'alice@example.org', url)
out['alice_plain'] = burl(a, 'alice@example.org', base)
a.quit()
out['reset'] = raw(m, b'RESETKEY Drafts')[0]
out['after_reset'] = burl(s, 'bob@example.org', url)
s.quit()
m.logout()
`,
      );
      const refusal = (name: string) => out[name] as [number, string];
      assert.equal(refusal("forged")[0], 554);
      assert.match(refusal("forged")[1], /^5\.7\.0 /);
      assert.match(refusal("foreign")[1], /^5\.6\.6 .*another|^5\.6\.6 .*other\.example/);
      assert.equal(refusal("relative")[0], 554);
      assert.match(refusal("alice")[1], /^5\.7\.0 /);
      assert.match(refusal("alice_plain")[1], /^5\.7\.0 /);
      assert.equal(out.reset, "OK");
      assert.match(refusal("after_reset")[1], /^5\.7\.0 /);
      for (const name of ["forged", "foreign", "relative", "alice", "alice_plain", "after_reset"]) {
        assert.doesNotMatch(refusal(name)[1], /draft's words/, name);
      }
      assert.equal((await inboxOf("carol@example.org")).length, before);
    });

    test("a plain imap:// URL of bob's own draft, mixed with BDAT chunks, needs no URLAUTH", async () => {
      const out = await python(
        server,
        String.raw`
m = imap('bob@example.org')
body = b'the part fetched by BURL\r\n'
draft = b'Subject: ignored\r\n\r\n' + body
typ, data = raw(m, b'APPEND Drafts {%d+}\r\n%s' % (len(draft), draft))
validity, uid = map(int, re.match(r'\[APPENDUID (\d+) (\d+)\]', data[0]).groups())
m.logout()
s = smtp('bob@example.org')
s.mail('bob@example.org')
s.rcpt('carol@example.org')
head = b'From: bob@example.org\r\nSubject: built with BDAT and BURL\r\n\r\n'
s.send(b'BDAT %d\r\n%s' % (len(head), head))
out['bdat'] = s.getreply()[0]
out['burl'] = s.docmd('BURL', 'imap://bob%%40example.org@${HOST}/Drafts;UIDVALIDITY=%d/;UID=%d/;SECTION=TEXT' % (validity, uid))[0]
s.send(b'BDAT 5 LAST\r\nbye\r\n')
out['last'] = s.getreply()[0]
s.quit()
`,
      );
      assert.deepEqual([out.bdat, out.burl, out.last], [250, 250, 250]);
      const listed = await waitFor(async () =>
        (await inboxOf("carol@example.org")).find((m) => m.subject === "built with BDAT and BURL"),
      );
      const cat = await server.cli(["mail", "cat", "carol@example.org", "INBOX", String(listed.uid)]);
      assert.match(cat.stdout, /\r?\n\r?\nthe part fetched by BURL\r?\nbye\r?\n$/);
    });
  });
}

async function waitFor<T>(probe: () => Promise<T | false | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for delivery");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
