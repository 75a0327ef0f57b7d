import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

describe("mailroom vacation", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const cli = (argv: string[]) => runCli([...argv, "--data-dir", dataDir]);
  const stored = () =>
    withTestStore(dataDir, async (store) => {
      const user = await store.directory.getUser("alice@example.org");
      assert.ok(user);
      return store.vacation.getVacation(user.id);
    });

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    assert.equal((await cli(["domain", "add", "example.org"])).code, 0);
    assert.equal(
      (
        await runCli(["user", "add", "alice@example.org", "--data-dir", dataDir], {
          stdin: "long password\n",
        })
      ).code,
      0,
    );
  });
  after(() => cleanup());

  test("without options: shows the setting, off and empty at first", async () => {
    const shown = await cli(["vacation", "Alice@example.org"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout.toString(), /^alice@example\.org: vacation off\n/);
    assert.match(shown.stdout.toString(), /^text: {4}-$/m);
  });

  test("--on with a text and dates; --off keeps the text; options change only what they name", async () => {
    const on = await cli([
      "vacation",
      "alice@example.org",
      "--on",
      "--subject",
      "Away",
      "--text",
      "Back on the 4th.",
      "--from",
      "2026-12-20",
      "--until",
      "2027-01-04T09:00:00+01:00",
    ]);
    assert.deepEqual([on.code, on.stderr], [0, "vacation of alice@example.org on\n"]);
    assert.deepEqual(await stored(), {
      isEnabled: true,
      fromDate: new Date("2026-12-20T00:00:00Z"),
      toDate: new Date("2027-01-04T08:00:00Z"),
      subject: "Away",
      textBody: "Back on the 4th.",
      htmlBody: null,
    });
    assert.equal((await cli(["vacation", "alice@example.org", "--off", "--until", ""])).code, 0);
    const off = await stored();
    assert.equal(off.isEnabled, false);
    assert.equal(off.toDate, null);
    assert.equal(off.textBody, "Back on the 4th.");
    const json = await cli(["vacation", "alice@example.org", "--json"]);
    assert.equal(JSON.parse(json.stdout.toString()).subject, "Away");
  });

  test("--on without a body says the default text is sent", async () => {
    const on = await cli(["vacation", "alice@example.org", "--on", "--text", ""]);
    assert.equal(on.code, 0);
    assert.match(on.stderr, /no --text given, so replies say: This is an automatic reply/);
    assert.equal((await cli(["vacation", "alice@example.org", "--off"])).code, 0);
  });

  test("refusals: a bad date, an empty window, both --on and --off, an unknown user", async () => {
    const date = await cli(["vacation", "alice@example.org", "--from", "next week"]);
    assert.equal(date.code, 64);
    assert.match(date.stderr, /is not a date/);
    const window = await cli([
      "vacation",
      "alice@example.org",
      "--text",
      "x",
      "--from",
      "2027-01-02",
      "--until",
      "2027-01-01",
    ]);
    assert.equal(window.code, 1);
    assert.match(window.stderr, /is not after/);
    assert.equal((await cli(["vacation", "alice@example.org", "--on", "--off"])).code, 64);
    assert.equal((await cli(["vacation", "nobody@example.org"])).code, 1);
    assert.equal((await stored()).isEnabled, false);
  });
});
