// FUTURERELEASE (RFC 4865) in the SMTP session: offered in EHLO on submission only, HOLDFOR/HOLDUNTIL
// taken from authenticated users with the RFC's replies, and the release time handed to the agent.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { codes, FakeAgent, harness, testConfig } from "./fakes.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const LOGIN = `AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`;
const TLS = { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" };
/** The harness clock: 1970-01-01T00:16:40Z. */
const NOW = 1_000_000;

function session(options: { submission?: boolean; maxSeconds?: number | null } = {}) {
  const agent = new FakeAgent();
  const submission = options.submission ?? true;
  const maxSeconds = options.maxSeconds === undefined ? 3600 : options.maxSeconds;
  const h = harness({
    agent,
    authRequired: submission,
    submission,
    tls: TLS,
    starttls: false,
    config: testConfig(),
    ...(maxSeconds !== null ? { futureRelease: { maxSeconds } } : {}),
  });
  return { ...h, agent };
}

async function loggedIn(options: Parameters<typeof session>[0] = {}) {
  const h = session(options);
  await h.send("EHLO client.example\r\n");
  assert.match(await h.send(LOGIN), /^235 /);
  return h;
}

async function sendMessage(h: ReturnType<typeof session>, mail: string): Promise<string> {
  return h.send(
    `${mail}\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nFrom: alice@example.org\r\nSubject: later\r\n\r\nhi\r\n.\r\n`,
  );
}

describe("FUTURERELEASE in the SMTP session (RFC 4865)", () => {
  test("EHLO on submission advertises the longest interval and the latest release time", async () => {
    const h = session();
    const ehlo = await h.send("EHLO client.example\r\n");
    assert.match(ehlo, /^250-FUTURERELEASE 3600 1970-01-01T01:16:40Z\r$/m);
  });

  test("not offered on the MX listener, nor when the limit is off", async () => {
    for (const options of [{ submission: false }, { maxSeconds: null }]) {
      const h = session(options);
      assert.doesNotMatch(await h.send("EHLO client.example\r\n"), /FUTURERELEASE/);
      if (options.submission === false) {
        const reply = await h.send("MAIL FROM:<alice@example.org> HOLDFOR=60\r\n");
        assert.match(reply, /^555 5\.5\.4 Parameter HOLDFOR is not supported on MAIL/);
      }
    }
  });

  test("HOLDFOR holds the message: the agent gets the release time and the 250 names it", async () => {
    const h = await loggedIn();
    const replies = await sendMessage(h, "MAIL FROM:<alice@example.org> HOLDFOR=120");
    assert.deepEqual(codes(replies), ["250", "250", "354", "250"]);
    assert.match(replies, /250 2\.0\.0 Ok: queued as \S+, held until 1970-01-01T00:18:40Z\r\n$/);
    assert.equal(h.agent.commits.at(-1)?.holdUntil?.getTime(), NOW + 120_000);
  });

  test("HOLDUNTIL with an offset is the same instant; the keyword's case does not matter", async () => {
    const h = await loggedIn();
    await sendMessage(h, "MAIL FROM:<alice@example.org> holduntil=1970-01-01T02:00:00+01:30");
    assert.equal(h.agent.commits.at(-1)?.holdUntil?.toISOString(), "1970-01-01T00:30:00.000Z");
  });

  test("HOLDFOR=0 and no parameter are no hold", async () => {
    const h = await loggedIn();
    await sendMessage(h, "MAIL FROM:<alice@example.org> HOLDFOR=0");
    await sendMessage(h, "MAIL FROM:<alice@example.org>");
    assert.equal(h.agent.commits.length, 2);
    for (const commit of h.agent.commits) assert.equal(commit.holdUntil, undefined);
  });

  test("501 5.5.4 for malformed, doubled, too long, past and too late values; the transaction never starts", async () => {
    for (const [parameters, text] of [
      ["HOLDFOR=soon", /number of seconds/],
      ["HOLDFOR", /number of seconds/],
      ["HOLDFOR=1234567890", /number of seconds/],
      ["HOLDFOR=3601", /longer than the 3600 seconds/],
      ["HOLDFOR=60 HOLDUNTIL=1970-01-01T00:30:00Z", /cannot be used together/],
      ["HOLDUNTIL=tomorrow", /RFC 3339/],
      ["HOLDUNTIL=1970-01-01T00:16:40Z", /not in the future/],
      ["HOLDUNTIL=1970-01-01T01:16:41Z", /later than 1970-01-01T01:16:40Z/],
    ] as const) {
      // A session each: every refusal counts towards the session's error limit.
      const h = await loggedIn();
      const reply = await h.send(`MAIL FROM:<alice@example.org> ${parameters}\r\n`);
      assert.match(reply, /^501 5\.5\.4 /, parameters);
      assert.match(reply, text, parameters);
      // Refused MAIL leaves no transaction: RCPT needs a new MAIL.
      assert.match(await h.send("RCPT TO:<bob@example.org>\r\n"), /^503 /);
      assert.equal(h.agent.commits.length, 0);
    }
  });

  test("HOLDFOR twice is refused as a doubled parameter", async () => {
    const h = await loggedIn();
    assert.match(await h.send("MAIL FROM:<alice@example.org> HOLDFOR=1 HOLDFOR=2\r\n"), /^501 5\.5\.4 /);
  });

  test("without AUTH a hold is refused with 530 even where MAIL is allowed (capture mode)", async () => {
    const agent = new FakeAgent();
    const h = harness({
      agent,
      authRequired: false,
      submission: true,
      tls: TLS,
      starttls: false,
      futureRelease: { maxSeconds: 3600 },
    });
    await h.send("EHLO client.example\r\n");
    assert.match(await h.send("MAIL FROM:<alice@example.org> HOLDFOR=60\r\n"), /^530 5\.7\.0 /);
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^250 /);
  });

  test("the hold is per transaction: RSET and the next MAIL start without one", async () => {
    const h = await loggedIn();
    await h.send("MAIL FROM:<alice@example.org> HOLDFOR=60\r\nRSET\r\n");
    await sendMessage(h, "MAIL FROM:<alice@example.org>");
    assert.equal(h.agent.commits.at(-1)?.holdUntil, undefined);
  });
});
