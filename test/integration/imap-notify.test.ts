// IMAP NOTIFY (RFC 5465) against a running mailroom on both stores, with real clients: client A is a raw
// python3 socket (no client library speaks NOTIFY) that selects Archive, sets NOTIFY and then only reads;
// the changes come from client B (python3 imaplib), from SMTP (smtplib) and from JMAP (urllib), and A
// must hear each of them unsolicited, outside IDLE, as the RFC describes: EXISTS with the fetch
// attributes, STATUS for a non-selected mailbox, FETCH FLAGS, LIST with OLDNAME, LIST for a JMAP
// mailbox, METADATA. On PostgreSQL, B, SMTP and JMAP use a second node, so every change reaches A's node
// through LISTEN/NOTIFY.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { clients, needs } from "../support/clients.js";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { password, user } from "./imap-helpers.js";

const run = promisify(execFile);

const SCRIPT = String.raw`
import imaplib, json, re, smtplib, socket, ssl, sys, time, urllib.request, base64
imap_port, imap_port_b, smtp_port, http_port = [int(p) for p in sys.argv[1:5]]
user, password = sys.argv[5], sys.argv[6]
out = {}

class Raw:
    def __init__(self):
        self.sock = socket.create_connection(('127.0.0.1', imap_port), timeout=15)
        self.buf = b''
        self.line()
        self.command('A1 STARTTLS')
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock)
        self.buf = b''

    def line(self):
        while b'\r\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError('connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line.decode('utf-8', 'replace')

    def command(self, text):
        tag = text.split(' ', 1)[0]
        self.sock.sendall(text.encode() + b'\r\n')
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + ' '):
                return lines

    def until(self, pattern, seconds=15):
        # Reads unsolicited lines only: no command is sent meanwhile.
        seen = []
        deadline = time.time() + seconds
        self.sock.settimeout(seconds)
        while time.time() < deadline:
            try:
                line = self.line()
            except socket.timeout:
                break
            seen.append(line)
            if re.search(pattern, line):
                return seen
        raise TimeoutError('no line matched %r; saw %r' % (pattern, seen))

a = Raw()
assert a.command('A2 LOGIN "%s" "%s"' % (user, password))[-1].startswith('A2 OK')
out['caps'] = ' '.join(a.command('A3 CAPABILITY'))
a.command('A4 SELECT Archive')
out['notify'] = a.command('A5 NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange))')

b = imaplib.IMAP4('127.0.0.1', imap_port_b)
b.starttls()
b.login(user, password)
b.append('Archive', None, None, b'From: b@example.org\r\nSubject: appended\r\n\r\nhello\r\n')
out['exists'] = a.until(r'^\* 1 FETCH \(UID \d+ FLAGS')

smtp = smtplib.SMTP('127.0.0.1', smtp_port)
smtp.sendmail('carol@remote.test', [user], 'From: carol@remote.test\r\nTo: %s\r\nSubject: over smtp\r\n\r\nhi\r\n' % user)
smtp.quit()
out['status'] = a.until(r'^\* STATUS "INBOX" ')

b.select('Archive')
b.store('1', '+FLAGS', '(\\Flagged)')
out['flags'] = a.until(r'^\* 1 FETCH \(FLAGS \(\\Flagged')

b.create('Old')
# Seen first: a rename coalesced with the create into one look is rightly told as a new name only.
a.until(r'^\* LIST \(\) "/" "Old"')
b.rename('Old', 'Renamed')
out['rename'] = a.until(r'OLDNAME')
imaplib.Commands['SETMETADATA'] = ('AUTH', 'SELECTED')
b._simple_command('SETMETADATA', 'Archive', '(/private/comment "from b")')
out['metadata'] = a.until(r'^\* METADATA ')
b.logout()

auth = 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()
def jmap(path, body=None):
    request = urllib.request.Request('http://127.0.0.1:%d%s' % (http_port, path), headers={'Authorization': auth, 'Content-Type': 'application/json'}, data=None if body is None else json.dumps(body).encode())
    return json.loads(urllib.request.urlopen(request, timeout=15).read())
account = jmap('/.well-known/jmap')['primaryAccounts']['urn:ietf:params:jmap:mail']
created = jmap('/jmap/api/', {'using': ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], 'methodCalls': [['Mailbox/set', {'accountId': account, 'create': {'m': {'name': 'FromJmap'}}}, '0']]})
out['jmap_created'] = 'm' in created['methodResponses'][0][1].get('created', {})
out['jmap'] = a.until(r'^\* LIST .*"FromJmap"')

out['noop'] = a.command('A6 NOOP')
a.command('A7 LOGOUT')
print(json.dumps(out))
`;

for (const backend of await integrationBackends()) {
  describe(`IMAP NOTIFY with two python3 clients, ${backend.name} store`, {
    skip: backend.skip ?? needs(clients.python3),
  }, () => {
    let server: TestServer;
    /** Where B, SMTP and JMAP go: on PostgreSQL a second node, so A hears them over LISTEN/NOTIFY. */
    let other: TestServer;

    before(async () => {
      server = await startTestServer({ store: backend.store });
      other = backend.store === undefined ? server : await startTestServer({ store: backend.store });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
    });

    after(async () => {
      if (other !== server) await other?.cleanup();
      await server?.cleanup();
      await backend.release();
    });

    test("A hears B's append and flag change, an SMTP delivery elsewhere, a rename and a JMAP mailbox", async () => {
      const { stdout } = await run(
        "python3",
        [
          "-c",
          SCRIPT,
          String(server.ports.imap),
          String(other.ports.imap),
          String(other.ports.smtp),
          String(other.ports.http),
          user,
          password,
        ],
        { timeout: 90_000 },
      );
      const out = JSON.parse(stdout) as Record<string, string[] | string | boolean>;
      assert.match(String(out.caps), / NOTIFY /);
      const notify = out.notify as string[];
      // NOTIFY SET STATUS: every personal mailbox but the selected Archive, before the tagged OK.
      assert.ok(notify.includes('* STATUS "INBOX" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)'), notify.join("\n"));
      assert.ok(!notify.some((line) => line.includes('"Archive"')), notify.join("\n"));
      assert.equal(notify.at(-1), "A5 OK NOTIFY completed");
      // B's APPEND into the selected mailbox: EXISTS, then MessageNew's fetch attributes.
      assert.deepEqual((out.exists as string[]).slice(-3, -1), ["* 1 EXISTS", "* 1 RECENT"]);
      // A is an IMAP4rev1 session, to which the message is \Recent (RFC 3501 §2.3.2).
      assert.equal((out.exists as string[]).at(-1), "* 1 FETCH (UID 1 FLAGS (\\Recent))");
      // The SMTP delivery to INBOX, which A has not selected.
      assert.equal((out.status as string[]).at(-1), '* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)');
      assert.equal((out.flags as string[]).at(-1), "* 1 FETCH (FLAGS (\\Flagged \\Recent))");
      assert.equal((out.rename as string[]).at(-1), '* LIST () "/" "Renamed" ("OLDNAME" ("Old"))');
      assert.equal((out.metadata as string[]).at(-1), '* METADATA "Archive" "/private/comment"');
      assert.ok(out.jmap_created);
      assert.equal((out.jmap as string[]).at(-1), '* LIST () "/" "FromJmap"');
      assert.equal((out.noop as string[]).at(-1), "A6 OK NOOP completed");
    });
  });
}
