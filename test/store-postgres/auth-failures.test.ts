// The failure throttle counted across nodes: two stores on one PostgreSQL stand for two mailroom nodes
// behind a load balancer, each with its own authenticator.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import pino from "pino";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import type { PostgresStore } from "../../src/store/postgres/store.js";
import { StoreError } from "../../src/store/types.js";
import {
  assertFailure,
  assertSuccess,
  authConfig,
  makeUser,
  REMOTE_TLS,
  userDirectory,
} from "../auth/helpers.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";

const logger = pino({ level: "silent" });
const available = await startTestPostgres();
await available?.stop();

const WINDOW = 60_000;
const lookupUser = userDirectory([await makeUser(1, "carol@example.org", "right")]);

describe("authentication failures shared on PostgreSQL", {
  skip: available === null && POSTGRES_SKIP_REASON,
}, () => {
  let database: TestPostgres;
  let nodeA: PostgresStore;
  let nodeB: PostgresStore;
  let admin: pg.Client;

  before(async () => {
    const started = await startTestPostgres();
    assert.ok(started);
    database = started;
    nodeA = await openPostgresStore({ url: database.url, logger });
    nodeB = await openPostgresStore({ url: database.url, logger });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await Promise.all([nodeA.close(), nodeB.close()]);
    await database.stop();
  });

  function authenticatorOn(store: PostgresStore, clock: { now: number }) {
    const slept: number[] = [];
    const auth = createAuthenticator({
      lookupUser,
      config: authConfig({ failureDelay: 10, maxFailuresPerIp: 3, failureWindow: WINDOW }),
      failureLog: store.authFailures,
      now: () => clock.now,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    return { auth, slept };
  }

  test("failures through node A make node B delay longer, then refuse without checking", async () => {
    const clock = { now: Date.UTC(2030, 0, 1) };
    const a = authenticatorOn(nodeA, clock);
    const b = authenticatorOn(nodeB, clock);
    assertFailure(await a.auth.verifyPassword("carol@example.org", "guess1", REMOTE_TLS), "bad-credentials");
    assertFailure(await a.auth.verifyPassword("carol@example.org", "guess2", REMOTE_TLS), "bad-credentials");
    assert.deepEqual(a.slept, [10, 20]);

    // B has seen nothing from this client itself; the shared count sets its delay.
    assertFailure(await b.auth.verifyPassword("carol@example.org", "guess3", REMOTE_TLS), "bad-credentials");
    assert.deepEqual(b.slept, [40]);

    // The limit is reached across the nodes: both refuse, even the right password, and neither waits.
    assertFailure(await b.auth.verifyPassword("carol@example.org", "right", REMOTE_TLS), "throttled");
    assertFailure(await a.auth.verifyPassword("carol@example.org", "right", REMOTE_TLS), "throttled");
    assertFailure(await b.auth.begin("SCRAM-SHA-256", REMOTE_TLS)!.start(null), "throttled");
    assert.deepEqual(b.slept, [40]);
    assertSuccess(
      await b.auth.verifyPassword("carol@example.org", "right", {
        remoteAddress: "198.51.100.2",
        secure: true,
        policy: "tls",
      }),
      "carol@example.org",
    );

    clock.now += WINDOW;
    assertSuccess(await b.auth.verifyPassword("carol@example.org", "right", REMOTE_TLS), "carol@example.org");
  });

  test("counts what each node records, within the window only", async () => {
    const start = Date.UTC(2031, 0, 1);
    assert.equal(await nodeA.authFailures.record("192.0.2.1", new Date(start), WINDOW), 1);
    assert.equal(await nodeB.authFailures.record("192.0.2.1", new Date(start + 1000), WINDOW), 2);
    assert.equal(await nodeA.authFailures.record("192.0.2.2", new Date(start + 1000), WINDOW), 1);
    assert.equal(await nodeB.authFailures.recent("192.0.2.1", new Date(start - 1)), 2);
    assert.equal(await nodeB.authFailures.recent("192.0.2.1", new Date(start)), 1, "the start is exclusive");
    assert.equal(await nodeA.authFailures.record("192.0.2.1", new Date(start + WINDOW), WINDOW), 2);
  });

  test("pruning on insert keeps the table to the failures inside the window", async () => {
    const start = Date.UTC(2032, 0, 1);
    const window = 1000;
    // 40 windows' worth of failures from many clients, ten per window, alternating nodes.
    for (let i = 0; i < 400; i++) {
      const store = i % 2 === 0 ? nodeA : nodeB;
      await store.authFailures.record(`10.0.${i % 7}.1`, new Date(start + i * 100), window);
    }
    const last = start + 399 * 100;
    const { rows } = await admin.query<{ total: number; recent: number }>(
      "SELECT count(*)::int AS total, count(*) FILTER (WHERE at > $1)::int AS recent FROM auth_failures",
      [new Date(last - window)],
    );
    assert.deepEqual(rows[0], { total: 10, recent: 10 });
  });

  test("the table is UNLOGGED", async () => {
    const { rows } = await admin.query<{ relpersistence: string }>(
      "SELECT relpersistence FROM pg_class WHERE relname = 'auth_failures'",
    );
    assert.deepEqual(rows, [{ relpersistence: "u" }]);
  });

  test("bad input is refused and records nothing", async () => {
    const before = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM auth_failures");
    const invalid = (error: unknown) => error instanceof StoreError && error.code === "invalid";
    await assert.rejects(nodeA.authFailures.record("", new Date(), WINDOW), invalid);
    await assert.rejects(nodeA.authFailures.record("x".repeat(300), new Date(), WINDOW), invalid);
    await assert.rejects(nodeA.authFailures.record("192.0.2.3", new Date(Number.NaN), WINDOW), invalid);
    await assert.rejects(nodeA.authFailures.record("192.0.2.3", new Date(), 0), invalid);
    await assert.rejects(nodeA.authFailures.recent("192.0.2.3", new Date(Number.NaN)), invalid);
    const afterwards = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM auth_failures");
    assert.equal(afterwards.rows[0]?.n, before.rows[0]?.n);
  });
});
