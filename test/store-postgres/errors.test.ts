import assert from "node:assert/strict";
import { test } from "node:test";
import { describeServer, isRetryable, toStoreError } from "../../src/store/postgres/errors.js";
import { StoreError } from "../../src/store/types.js";

const server = describeServer("postgres://mail:secret@db.internal:6543/mailroom");

function pgError(code: string, message = "server said no"): Error {
  return Object.assign(new Error(message), { code });
}

test("the server address is read from the URL, without the password", () => {
  assert.deepEqual(server, { host: "db.internal", port: 6543, database: "mailroom" });
  assert.deepEqual(describeServer("postgresql://localhost/x"), {
    host: "localhost",
    port: 5432,
    database: "x",
  });
});

test("a URL that is not postgres:// is invalid, with the expected form in the message", () => {
  for (const url of ["mysql://h/db", "not a url"]) {
    assert.throws(
      () => describeServer(url),
      (error: unknown) =>
        error instanceof StoreError && error.code === "invalid" && /postgres:\/\//.test(error.message),
    );
  }
});

test("PostgreSQL errors map to StoreError codes a user can act on", () => {
  const cases: Array<[Error, StoreError["code"], RegExp]> = [
    [pgError("23505"), "exists", /already exists/],
    [pgError("53100"), "full", /disk of the PostgreSQL server at db\.internal:6543 is full/],
    [
      pgError("ECONNREFUSED", "connect ECONNREFUSED"),
      "unavailable",
      /cannot reach PostgreSQL at db\.internal:6543/,
    ],
    [new Error("Connection terminated unexpectedly"), "unavailable", /check store in the config/],
    [pgError("57P01", "terminating connection due to administrator command"), "unavailable", /cannot reach/],
    [pgError("28P01", "password authentication failed"), "unavailable", /refused the login/],
    [pgError("3D000"), "unavailable", /database "mailroom" does not exist/],
  ];
  for (const [error, code, message] of cases) {
    const mapped = toStoreError(error, server);
    assert.ok(mapped instanceof StoreError, `${error.message} became a StoreError`);
    assert.equal(mapped.code, code);
    assert.match(mapped.message, message);
    assert.doesNotMatch(mapped.message, /secret/);
  }
});

test("other errors pass through; only deadlocks and serialization failures are retried", () => {
  const other = pgError("42P01", "relation does not exist");
  assert.equal(toStoreError(other, server), other);
  const already = new StoreError("not-found", "gone");
  assert.equal(toStoreError(already, server), already);
  assert.equal(isRetryable(pgError("40001")), true);
  assert.equal(isRetryable(pgError("40P01")), true);
  assert.equal(isRetryable(pgError("23505")), false);
});
