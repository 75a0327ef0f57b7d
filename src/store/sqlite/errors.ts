import { StoreError } from "../types.js";

/** Turns an error thrown by better-sqlite3 into a StoreError; StoreErrors and bugs pass through. */
export function sqliteError(error: unknown, path: string): Error {
  if (error instanceof StoreError) return error;
  if (!(error instanceof Error)) return new StoreError("unavailable", `database error: ${String(error)}`);
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return error;
  const options = { cause: error };
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR_WRITE" || /\bfull\b/i.test(error.message)) {
    return new StoreError(
      "full",
      `the disk holding ${path} is full; free space or move the data directory, then retry`,
      options,
    );
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreError(
      "unavailable",
      `the database ${path} is busy: another mailroom process held it too long; retry`,
      options,
    );
  }
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    return new StoreError("exists", `already exists (${error.message})`, options);
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) {
    return new StoreError("invalid", `rejected by the database: ${error.message}`, options);
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new StoreError(
      "invalid",
      `${path} is damaged or not a mailroom database; restore it from a backup`,
      options,
    );
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code === "SQLITE_PERM") {
    return new StoreError(
      "unavailable",
      `cannot write ${path}: check the data directory's owner, permissions and free space`,
      options,
    );
  }
  return new StoreError("unavailable", `database error on ${path}: ${error.message}`, options);
}
