import { StoreError } from "../types.js";

function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** Turns a filesystem error about `path` into a StoreError a user can act on. */
export function fileError(error: unknown, path: string, action: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = errnoCode(error);
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new StoreError(
        "full",
        `the disk holding ${path} is full; free space or move the data directory, then retry (${action})`,
        { cause: error },
      );
    case "ENOENT":
      return new StoreError("not-found", `${path} does not exist (${action})`, { cause: error });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new StoreError(
        "unavailable",
        `cannot write ${path} while ${action}: permission denied or read-only filesystem; check the data directory's owner and mount`,
        { cause: error },
      );
    default:
      return new StoreError(
        "unavailable",
        `I/O error on ${path} while ${action} (${code ?? String(error)}); check the disk`,
        { cause: error },
      );
  }
}
