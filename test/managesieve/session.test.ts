// The sans-IO ManageSieve session (RFC 5804) over a real SQLite store and authenticator: capabilities
// by state and policy, SASL PLAIN and SCRAM-SHA-256 (with the server's final message in the OK), the
// auth policy (ENCRYPT-NEEDED in cleartext from elsewhere), every script command with its response
// codes, the limits, and bad input answered NO without changing anything.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { scramClient } from "../../src/auth/sasl/scram-client.js";
import { type Item, ManageSieveParser } from "../../src/managesieve/parser.js";
import {
  type ManageSieveResult,
  ManageSieveSession,
  type ManageSieveSessionOptions,
} from "../../src/managesieve/session.js";
import { ADDRESS, createMailFixture, type MailFixture, PASSWORD } from "../support/mail-fixture.js";

const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

function text(result: ManageSieveResult): string {
  return Buffer.concat(result.output.map((part) => Buffer.from(part))).toString("utf8");
}

class Driver {
  readonly session: ManageSieveSession;
  private readonly parser = new ManageSieveParser({ maxLineLength: 8192, maxLiteralSize: 2048 });
  lastAction = "continue";

  constructor(fixture: MailFixture, options: Partial<ManageSieveSessionOptions> = {}) {
    this.session = new ManageSieveSession({
      store: fixture.store,
      authenticator: fixture.authenticator,
      authPolicy: "tls-or-loopback",
      remoteAddress: "127.0.0.1",
      secure: false,
      tlsAvailable: true,
      limits: { maxScriptSize: 2048, maxScripts: 3, maxErrors: 50 },
      ...options,
    });
  }

  /** Sends raw input; the responses to every item it completes. */
  async send(input: string | Buffer): Promise<string> {
    const items: Item[] = this.parser.push(typeof input === "string" ? Buffer.from(input, "utf8") : input);
    let out = "";
    for (const item of items) {
      const result = await this.session.handle(item);
      this.lastAction = result.action;
      out += text(result);
    }
    return out;
  }

  async login(): Promise<string> {
    return this.send(`AUTHENTICATE "PLAIN" "${b64(`\0${ADDRESS}\0${PASSWORD}`)}"\r\n`);
  }
}

const literal = (source: string) => `{${Buffer.byteLength(source)}+}\r\n${source}`;

describe("ManageSieve session", () => {
  let fixture: MailFixture;
  before(async () => {
    fixture = await createMailFixture({
      dirPrefix: "mailroom-managesieve-",
      encoding: "utf8",
      internalDate: () => new Date(),
    });
  });
  after(() => fixture.cleanup());

  test("greeting: capabilities with SASL, SIEVE, STARTTLS and an OK; after login, OWNER and no STARTTLS", async () => {
    const driver = new Driver(fixture);
    const greeting = text(driver.session.greeting());
    assert.match(greeting, /^"IMPLEMENTATION" "mailroom"\r\n/);
    assert.match(greeting, /\r\n"SASL" "[^"]*PLAIN[^"]*"\r\n/);
    assert.match(greeting, /\r\n"SIEVE" "fileinto reject [^"]*vacation[^"]*"\r\n/);
    assert.match(greeting, /\r\n"STARTTLS"\r\n/);
    assert.match(greeting, /\r\n"VERSION" "1\.0"\r\nOK|\r\nOK "/);
    assert.match(greeting, /\r\nOK "[^"]+"\r\n$/);
    assert.match(await driver.login(), /^OK "Authenticated"\r\n$/);
    const caps = await driver.send("CAPABILITY\r\n");
    assert.doesNotMatch(caps, /STARTTLS/);
    assert.match(caps, /"OWNER" "alice@example\.test"/);
    assert.match(await driver.send("STARTTLS\r\n"), /^NO /);
  });

  test("STARTTLS asks the adapter to upgrade; the capabilities follow unasked, without STARTTLS", async () => {
    const driver = new Driver(fixture, { remoteAddress: "203.0.113.7" });
    assert.match(await driver.send("STARTTLS\r\n"), /^OK /);
    assert.equal(driver.lastAction, "starttls");
    const after = text(driver.session.tlsStarted());
    assert.doesNotMatch(after, /STARTTLS/);
    assert.match(after, /"SASL" "[^"]*PLAIN/);
    assert.match(after, /\r\nOK "[^"]+"\r\n$/);
    assert.match(await driver.login(), /^OK /);
  });

  test("in cleartext from elsewhere: no mechanism offered, AUTHENTICATE refused with ENCRYPT-NEEDED", async () => {
    const driver = new Driver(fixture, { remoteAddress: "203.0.113.7" });
    assert.match(text(driver.session.greeting()), /"SASL" ""\r\n/);
    assert.match(await driver.login(), /^NO \(ENCRYPT-NEEDED\) "[^"]*STARTTLS[^"]*"\r\n$/);
    assert.match(await driver.send("LISTSCRIPTS\r\n"), /^NO "LISTSCRIPTS is only valid after AUTHENTICATE"/);
  });

  test("wrong password, a cancelled exchange and a malformed response are NO; commands still work after", async () => {
    const driver = new Driver(fixture);
    assert.match(
      await driver.send(`AUTHENTICATE "PLAIN" "${b64(`\0${ADDRESS}\0wrong`)}"\r\n`),
      /^NO "Authentication failed/,
    );
    assert.match(await driver.send('AUTHENTICATE "PLAIN"\r\n'), /^""\r\n$/);
    assert.match(await driver.send('"*"\r\n'), /^NO "Authentication cancelled"/);
    assert.match(await driver.send('AUTHENTICATE "PLAIN"\r\n'), /^""\r\n$/);
    assert.match(await driver.send('"not base64!"\r\n'), /^NO "The SASL response was malformed/);
    assert.match(await driver.send('AUTHENTICATE "NOPE"\r\n'), /^NO "SASL mechanism NOPE is not supported/);
    assert.match(await driver.send("NOOP\r\n"), /^OK "Done"/);
  });

  test("SCRAM-SHA-256: the server-final message comes in OK (SASL …)", async () => {
    const driver = new Driver(fixture);
    const client = scramClient(ADDRESS, PASSWORD);
    const challenge = await driver.send(`AUTHENTICATE "SCRAM-SHA-256" "${b64(client.first())}"\r\n`);
    const serverFirst = Buffer.from(JSON.parse(challenge.trim()) as string, "base64");
    const final = await driver.send(`"${b64(await client.final(serverFirst))}"\r\n`);
    const match = /^OK \(SASL "([^"]+)"\) "Authenticated"\r\n$/.exec(final);
    assert.ok(match, final);
    assert.ok(client.verify(Buffer.from(match[1]!, "base64")));
  });

  test("scripts: put, list, activate, get, rename, delete, with their response codes", async () => {
    const driver = new Driver(fixture);
    await driver.login();
    assert.match(
      await driver.send(`PUTSCRIPT "main" ${literal('require "fileinto";\r\nfileinto "A";\r\n')}\r\n`),
      /^OK /,
    );
    assert.match(await driver.send('PUTSCRIPT "other" "keep;"\r\n'), /^OK /);
    assert.equal(await driver.send("LISTSCRIPTS\r\n"), '"main"\r\n"other"\r\nOK "Listscripts completed"\r\n');
    assert.match(await driver.send('SETACTIVE "missing"\r\n'), /^NO \(NONEXISTENT\)/);
    assert.match(await driver.send('SETACTIVE "main"\r\n'), /^OK /);
    assert.equal(
      await driver.send("LISTSCRIPTS\r\n"),
      '"main" ACTIVE\r\n"other"\r\nOK "Listscripts completed"\r\n',
    );
    assert.equal(
      await driver.send('GETSCRIPT "main"\r\n'),
      '{36}\r\nrequire "fileinto";\r\nfileinto "A";\r\n\r\nOK "Getscript completed"\r\n',
    );
    assert.match(await driver.send('GETSCRIPT "nope"\r\n'), /^NO \(NONEXISTENT\)/);
    assert.match(await driver.send('DELETESCRIPT "main"\r\n'), /^NO \(ACTIVE\)/);
    assert.match(await driver.send('RENAMESCRIPT "main" "other"\r\n'), /^NO \(ALREADYEXISTS\)/);
    assert.match(await driver.send('RENAMESCRIPT "gone" "x"\r\n'), /^NO \(NONEXISTENT\)/);
    assert.match(await driver.send('RENAMESCRIPT "main" "filing"\r\n'), /^OK /);
    const user = await fixture.store.directory.getUser(ADDRESS);
    assert.equal((await fixture.store.sieveScripts.getActiveScript(user!.id))?.name, "filing");
    assert.match(await driver.send('SETACTIVE ""\r\n'), /^OK /);
    assert.match(await driver.send('DELETESCRIPT "filing"\r\n'), /^OK /);
    assert.match(await driver.send('DELETESCRIPT "other"\r\n'), /^OK /);
    assert.equal(await driver.send("LISTSCRIPTS\r\n"), 'OK "Listscripts completed"\r\n');
    assert.match(await driver.send('NOOP "tag1"\r\n'), /^OK \(TAG "tag1"\) "Done"/);
    assert.match(await driver.send("UNAUTHENTICATE\r\n"), /^OK /);
    assert.match(await driver.send("LISTSCRIPTS\r\n"), /^NO /);
    assert.match(await driver.send("LOGOUT\r\n"), /^OK /);
    assert.equal(driver.lastAction, "close");
  });

  test("invalid scripts, sizes, counts and names are refused and store nothing", async () => {
    const driver = new Driver(fixture);
    await driver.login();
    const user = await fixture.store.directory.getUser(ADDRESS);
    const errors = await driver.send(`PUTSCRIPT "bad" ${literal('fileinto "x";\r\nfoo;\r\n')}\r\n`);
    assert.match(errors, /^NO \{\d+\}\r\n1:1: [^\r]*\r\n2:1: /);
    assert.match(await driver.send(`CHECKSCRIPT ${literal("keep;")}\r\n`), /^OK /);
    assert.match(await driver.send(`CHECKSCRIPT ${literal("stop")}\r\n`), /^NO /);
    assert.match(
      await driver.send(`PUTSCRIPT "big" ${literal(`#${"x".repeat(3000)}\r\nkeep;`)}\r\n`),
      /^NO \(QUOTA\/MAXSIZE\)/,
    );
    assert.match(await driver.send('HAVESPACE "big" 5000\r\n'), /^NO \(QUOTA\/MAXSIZE\)/);
    assert.match(await driver.send('HAVESPACE "big" 100\r\n'), /^OK /);
    for (const name of ["a", "b", "c"])
      assert.match(await driver.send(`PUTSCRIPT "${name}" "keep;"\r\n`), /^OK /);
    assert.match(await driver.send('PUTSCRIPT "d" "keep;"\r\n'), /^NO \(QUOTA\/MAXSCRIPTS\)/);
    assert.match(await driver.send('HAVESPACE "d" 10\r\n'), /^NO \(QUOTA\/MAXSCRIPTS\)/);
    assert.match(await driver.send('PUTSCRIPT "a" "stop;"\r\n'), /^OK /, "replacing is no new script");
    assert.match(await driver.send('PUTSCRIPT "" "keep;"\r\n'), /^NO "usage/);
    assert.match(await driver.send(`PUTSCRIPT ${literal("a\r\nb")} "keep;"\r\n`), /^NO "usage/);
    const notUtf8 = Buffer.concat([
      Buffer.from('PUTSCRIPT "x" {2+}\r\n'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from("\r\n"),
    ]);
    assert.match(await driver.send(notUtf8), /^NO "The script is not valid UTF-8/);
    assert.match(await driver.send("PUTSCRIPT main keep\r\n"), /^NO /);
    assert.match(await driver.send("FROB\r\n"), /^NO "unknown command FROB; see CAPABILITY"/);
    assert.deepEqual(
      (await fixture.store.sieveScripts.listScripts(user!.id)).map((script) => [script.name, script.source]),
      [
        ["a", "stop;"],
        ["b", "keep;"],
        ["c", "keep;"],
      ],
    );
  });

  test("property: arbitrary input before login never throws, never logs in, answers every line", async () => {
    const words = fc.constantFrom(
      "CAPABILITY",
      "PUTSCRIPT",
      "LISTSCRIPTS",
      "AUTHENTICATE",
      "NOOP",
      "HAVESPACE",
      '"x"',
      "{3+}",
      "\\",
      '"',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.oneof(words, fc.string({ maxLength: 8 })), { maxLength: 5 }), { maxLength: 8 }),
        async (lines) => {
          const driver = new Driver(fixture);
          for (const line of lines) {
            const out = await driver.send(`${line.join(" ").replace(/[\r\n]/g, "")}\r\n`);
            assert.match(out, /^((OK|NO|BYE)[^\r]*\r\n|"[^\r]*\r\n|\{\d+\}\r\n[\s\S]*)*$/);
            if (driver.lastAction === "close") break;
          }
          assert.notEqual(driver.session.state, "authenticated");
        },
      ),
      { numRuns: 200 },
    );
  });

  test("after maxErrors NO answers in a row the session says BYE and closes", async () => {
    const driver = new Driver(fixture, {
      limits: { maxScriptSize: 2048, maxScripts: 3, maxErrors: 3 },
    });
    await driver.send("A\r\nB\r\n");
    assert.match(await driver.send("C\r\n"), /^NO [^\r]*\r\nBYE "Too many failed commands; closing"\r\n$/);
    assert.equal(driver.lastAction, "close");
  });
});
