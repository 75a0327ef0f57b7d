// Turns what pg and the server report into StoreErrors a user can act on. Connection-level failures
// name the server (never the password) and point at the `store` setting, because that is what to fix.

import { StoreError } from "../types.js";

export interface ServerAddress {
  host: string;
  port: number;
  database: string;
}

export function describeServer(url: string): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new StoreError(
      "invalid",
      "the store setting is not a valid PostgreSQL URL; write it as postgres://user:password@host:5432/database",
      { cause },
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new StoreError("invalid", `the store URL must start with postgres://, not ${parsed.protocol}//`);
  }
  return {
    host: parsed.hostname || "localhost",
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "(the user's default)",
  };
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  // admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away or not up yet.
  "57P01",
  "57P02",
  "57P03",
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Serialization failures and deadlocks: the transaction did nothing and may simply be run again. */
export function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  return code === "40001" || code === "40P01";
}

export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    messageOf(error),
  );
}

export function toStoreError(error: unknown, server: ServerAddress): Error {
  if (error instanceof StoreError) return error;
  const code = codeOf(error);
  const where = `${server.host}:${server.port}`;
  if (code === "23505") {
    return new StoreError("exists", `already exists (${messageOf(error)})`, { cause: error });
  }
  if (code === "53100") {
    return new StoreError(
      "full",
      `the disk of the PostgreSQL server at ${where} is full; free space there and retry`,
      { cause: error },
    );
  }
  if (code === "28P01" || code === "28000") {
    return new StoreError(
      "unavailable",
      `PostgreSQL at ${where} refused the login: ${messageOf(error)}; check the user and password in store in the config`,
      { cause: error },
    );
  }
  if (code === "3D000") {
    return new StoreError(
      "unavailable",
      `database "${server.database}" does not exist on PostgreSQL at ${where}; create it (createdb) or fix store in the config`,
      { cause: error },
    );
  }
  if (isConnectionError(error)) {
    return new StoreError(
      "unavailable",
      `cannot reach PostgreSQL at ${where}: ${messageOf(error)}; check store in the config and that the server is running`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(messageOf(error));
}
