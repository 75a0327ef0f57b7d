import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { verifyPasswordHash } from "../../src/auth/password.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

describe("domain, user and alias commands", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const cli = (argv: string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli([...argv, "--data-dir", dataDir], options);
  const passwordOf = async (address: string, password: string): Promise<boolean> =>
    withTestStore(dataDir, async (store) => {
      const user = await store.directory.getUser(address);
      assert.ok(user, `${address} exists`);
      return verifyPasswordHash(password, user.passwordHash);
    });

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
  });
  after(() => cleanup());

  test("domain add, duplicate, list", async () => {
    const added = await cli(["domain", "add", "Example.ORG"]);
    assert.deepEqual([added.code, added.stderr], [0, "added domain example.org\n"]);
    const again = await cli(["domain", "add", "example.org"]);
    assert.deepEqual(
      [again.code, again.stderr],
      [1, "mailroom: domain example.org is already served here\n"],
    );
    assert.equal((await cli(["domain", "add", "bücher.example"])).code, 0);
    const list = await cli(["domain", "list"]);
    assert.equal(list.code, 0);
    assert.deepEqual(list.stdout.toString().trim().split("\n").sort(), [
      "example.org",
      "xn--bcher-kva.example",
    ]);
  });

  test("user add with a piped password; the password verifies", async () => {
    const run = await cli(["user", "add", "Alice@example.org", "--password-stdin"], {
      stdin: "correct horse\nignored\n",
    });
    assert.deepEqual([run.code, run.stderr], [0, "added user alice@example.org\n"]);
    assert.equal(await passwordOf("alice@example.org", "correct horse"), true);
    assert.equal(await passwordOf("alice@example.org", "ignored"), false);
  });

  test("a CRLF-terminated password line loses its CR; non-TTY stdin is read without the flag", async () => {
    const run = await cli(["user", "add", "bob@example.org"], { stdin: "pässword\r\n" });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await passwordOf("bob@example.org", "pässword"), true);
  });

  test("user add refuses an unserved domain, an existing user and an empty password", async () => {
    const domain = await cli(["user", "add", "x@example.com"], { stdin: "pw\n" });
    assert.equal(domain.code, 1);
    assert.equal(
      domain.stderr,
      "mailroom: domain example.com is not served here; add it with 'mailroom domain add example.com'\n",
    );
    const exists = await cli(["user", "add", "alice@example.org"], { stdin: "pw\n" });
    assert.equal(exists.code, 1);
    assert.match(
      exists.stderr,
      /user alice@example.org already exists; to change its password use 'mailroom user passwd/,
    );
    const empty = await cli(["user", "add", "carol@example.org"], { stdin: "\nsecond\n" });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /empty password refused/);
    const none = await cli(["user", "add", "carol@example.org"], { stdin: "" });
    assert.equal(none.code, 1);
    assert.equal(await withTestStore(dataDir, (store) => store.directory.getUser("carol@example.org")), null);
  });

  test("a password shorter than 8 characters is refused by add and passwd, and changes nothing", async () => {
    const short = await cli(["user", "add", "short@example.org"], { stdin: "seven77\n" });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /password refused: it has 7 characters, fewer than 8; nothing was changed/);
    assert.equal(await withTestStore(dataDir, (store) => store.directory.getUser("short@example.org")), null);
    // Characters, not bytes: "pässwör" is 9 bytes of UTF-8 but 7 characters.
    const accented = await cli(["user", "add", "short@example.org"], { stdin: "pässwör\n" });
    assert.match(accented.stderr, /it has 7 characters/);
    const passwd = await cli(["user", "passwd", "alice@example.org"], { stdin: "tiny\n" });
    assert.equal(passwd.code, 1);
    assert.equal(await passwordOf("alice@example.org", "correct horse"), true);
    const eight = await cli(["user", "add", "short@example.org"], { stdin: "eight888\n" });
    assert.equal(eight.code, 0, eight.stderr);
    assert.equal((await cli(["user", "remove", "short@example.org"])).code, 0);
  });

  test("a password SASLprep (RFC 4013) prohibits is refused with the reason", async () => {
    const run = await cli(["user", "add", "bell@example.org"], { stdin: "ring the \u0007 bell\n" });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /password refused: it contains a character SASLprep \(RFC 4013 §2\.3\) forbids/);
    assert.equal(await withTestStore(dataDir, (store) => store.directory.getUser("bell@example.org")), null);
  });

  test("a password longer than the bound is refused", async () => {
    const run = await cli(["user", "add", "long@example.org"], { stdin: `${"x".repeat(5000)}\n` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /longer than 1024 bytes/);
  });

  test("the terminal prompt: no echo, backspace edits, asked twice", async () => {
    const tty = { keystrokes: ["tyop\x7f\x7fpo\x1b[D words\r", "typo words\r"], rawModes: [] as boolean[] };
    const run = await cli(["user", "add", "carol@example.org"], { tty });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "Password: \nAgain: \nadded user carol@example.org\n");
    assert.deepEqual(tty.rawModes, [true, false]);
    assert.equal(await passwordOf("carol@example.org", "typo words"), true);
  });

  test("the terminal prompt: different passwords or Ctrl-C change nothing", async () => {
    const mismatch = await cli(["user", "passwd", "carol@example.org"], {
      tty: { keystrokes: ["one\r", "two\r"], rawModes: [] },
    });
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /the two passwords differ; nothing was changed/);
    const tty = { keystrokes: ["abc\x03"], rawModes: [] as boolean[] };
    const interrupted = await cli(["user", "passwd", "carol@example.org"], { tty });
    assert.equal(interrupted.code, 130);
    assert.match(interrupted.stderr, /mailroom: aborted; nothing was changed\n$/);
    assert.deepEqual(tty.rawModes, [true, false]);
    assert.equal(await passwordOf("carol@example.org", "typo words"), true);
  });

  test("user passwd with a piped password; unknown users are refused", async () => {
    const run = await cli(["user", "passwd", "alice@example.org", "--password-stdin"], {
      stdin: "a new one\n",
    });
    assert.deepEqual([run.code, run.stderr], [0, "changed the password of alice@example.org\n"]);
    assert.equal(await passwordOf("alice@example.org", "a new one"), true);
    const unknown = await cli(["user", "passwd", "ghost@example.org"], { stdin: "x\n" });
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      "mailroom: there is no user ghost@example.org here; see 'mailroom user list'\n",
    );
  });

  test("user add --admin, user admin on|off; unknown users and bad switches are refused", async () => {
    const isAdmin = (address: string) =>
      withTestStore(dataDir, async (store) => (await store.directory.getUser(address))?.admin);
    const added = await cli(["user", "add", "root@example.org", "--admin"], { stdin: "root password\n" });
    assert.deepEqual([added.code, added.stderr], [0, "added user root@example.org (an admin)\n"]);
    assert.equal(await isAdmin("root@example.org"), true);
    assert.equal(await isAdmin("alice@example.org"), false);
    const on = await cli(["user", "admin", "Alice@example.org", "on"]);
    assert.deepEqual([on.code, on.stderr], [0, "alice@example.org is now an admin\n"]);
    assert.equal(await isAdmin("alice@example.org"), true);
    const off = await cli(["user", "admin", "alice@example.org", "OFF"]);
    assert.deepEqual([off.code, off.stderr], [0, "alice@example.org is no longer an admin\n"]);
    assert.equal(await isAdmin("alice@example.org"), false);
    const bad = await cli(["user", "admin", "alice@example.org", "maybe"]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /'maybe' is neither on nor off/);
    const ghost = await cli(["user", "admin", "ghost@example.org", "on"]);
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /there is no user ghost@example.org here/);
    assert.equal((await cli(["user", "remove", "root@example.org"])).code, 0);
  });

  test("user disable and enable: the flag set and cleared, shown by user list; unknown users refused", async () => {
    const isDisabled = (address: string) =>
      withTestStore(dataDir, async (store) => (await store.directory.getUser(address))?.disabled);
    const off = await cli(["user", "disable", "Bob@example.org"]);
    assert.deepEqual(
      [off.code, off.stderr],
      [0, "disabled bob@example.org: every login is refused; mail to it is still delivered\n"],
    );
    assert.equal(await isDisabled("bob@example.org"), true);
    assert.equal(await isDisabled("alice@example.org"), false);
    const listed = await cli(["user", "list", "example.org"]);
    assert.deepEqual(listed.stdout.toString().trim().split("\n").sort(), [
      "alice@example.org",
      "bob@example.org (disabled)",
      "carol@example.org",
    ]);
    const on = await cli(["user", "enable", "bob@example.org"]);
    assert.deepEqual([on.code, on.stderr], [0, "enabled bob@example.org: it may log in again\n"]);
    assert.equal(await isDisabled("bob@example.org"), false);
    const ghost = await cli(["user", "disable", "ghost@example.org"]);
    assert.equal(ghost.code, 1);
    assert.match(ghost.stderr, /there is no user ghost@example.org here/);
    const missing = await cli(["user", "enable"]);
    assert.equal(missing.code, 64);
  });

  test("user list, of all domains or one", async () => {
    const all = await cli(["user", "list"]);
    assert.deepEqual(all.stdout.toString().trim().split("\n").sort(), [
      "alice@example.org",
      "bob@example.org",
      "carol@example.org",
    ]);
    const none = await cli(["user", "list", "xn--bcher-kva.example"]);
    assert.deepEqual([none.code, none.stdout.length], [0, 0]);
    assert.match(none.stderr, /no users yet/);
    const unknown = await cli(["user", "list", "example.com"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /domain example.com is not served here/);
  });

  test("alias add: addresses, catch-all, and refusals", async () => {
    const added = await cli(["alias", "add", "Team@example.org", "alice@example.org"]);
    assert.deepEqual([added.code, added.stderr], [0, "added alias team@example.org -> alice@example.org\n"]);
    assert.equal((await cli(["alias", "add", "team@example.org", "bob@example.org"])).code, 0);
    assert.equal((await cli(["alias", "add", "@xn--bcher-kva.example", "carol@example.org"])).code, 0);
    const dangling = await cli(["alias", "add", "old@example.org", "nobody@example.org"]);
    assert.equal(dangling.code, 0);
    assert.match(dangling.stderr, /warning: nobody@example.org is neither a user nor an alias here yet/);

    const duplicate = await cli(["alias", "add", "team@example.org", "bob@example.org"]);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);
    const foreign = await cli(["alias", "add", "x@example.com", "alice@example.org"]);
    assert.equal(foreign.code, 1);
    assert.match(
      foreign.stderr,
      /domain example.com is not served here; add it with 'mailroom domain add example.com'/,
    );
    const shadowed = await cli(["alias", "add", "bob@example.org", "alice@example.org"]);
    assert.equal(shadowed.code, 1);
    assert.match(shadowed.stderr, /bob@example.org is a user here/);
    const self = await cli(["alias", "add", "me@example.org", "Me@example.org"]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /to itself would loop/);
  });

  test("alias list, of all domains or one", async () => {
    const all = await cli(["alias", "list"]);
    const lines = all.stdout
      .toString()
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/).join(" "))
      .sort();
    assert.deepEqual(lines, [
      "@xn--bcher-kva.example carol@example.org",
      "old@example.org nobody@example.org",
      "team@example.org alice@example.org",
      "team@example.org bob@example.org",
    ]);
    const one = await cli(["alias", "list", "xn--bcher-kva.example"]);
    assert.equal(
      one.stdout.toString().split(/\s+/).join(" ").trim(),
      "@xn--bcher-kva.example carol@example.org",
    );
  });

  test("alias remove: one destination, all of a source, or a clear refusal", async () => {
    const wrong = await cli(["alias", "remove", "team@example.org", "carol@example.org"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /team@example.org does not forward to carol@example.org; it forwards to/);
    const one = await cli(["alias", "remove", "team@example.org", "bob@example.org"]);
    assert.equal(one.code, 0);
    const left = await withTestStore(dataDir, (store) =>
      store.directory.aliasDestinations("team@example.org"),
    );
    assert.deepEqual(left, ["alice@example.org"]);
    assert.equal((await cli(["alias", "remove", "@xn--bcher-kva.example"])).code, 0);
    const gone = await cli(["alias", "remove", "@xn--bcher-kva.example"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /there is no alias @xn--bcher-kva.example here/);
  });

  test("domain remove refuses while users or aliases remain, and says which", async () => {
    const busy = await cli(["domain", "remove", "example.org"]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /domain example.org still has 3 users and 2 aliases; remove them first/);
    const unknown = await cli(["domain", "remove", "example.com"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /domain example.com is not served here/);
  });

  test("user remove, then domain remove succeeds once empty", async () => {
    for (const user of ["alice", "bob", "carol"]) {
      const run = await cli(["user", "remove", `${user}@example.org`]);
      assert.equal(run.code, 0, run.stderr);
    }
    const again = await cli(["user", "remove", "alice@example.org"]);
    assert.equal(again.code, 1);
    assert.equal((await cli(["alias", "remove", "team@example.org"])).code, 0);
    assert.equal((await cli(["alias", "remove", "old@example.org"])).code, 0);
    const removed = await cli(["domain", "remove", "example.org"]);
    assert.deepEqual([removed.code, removed.stderr], [0, "removed domain example.org\n"]);
    const list = await cli(["domain", "list"]);
    assert.equal(list.stdout.toString(), "xn--bcher-kva.example\n");
  });
});
