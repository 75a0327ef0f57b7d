// The one error type every store part throws; `code` is what callers decide on, the message is for people.

export class StoreError extends Error {
  constructor(
    readonly code:
      | "exists"
      | "not-found"
      | "invalid"
      | "in-use"
      | "unavailable"
      | "full"
      | "locked"
      | "not-empty"
      /** A changes request reaches further back than the kept history (JMAP cannotCalculateChanges). */
      | "cannot-calculate",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

/** The backend holds no mailroom store and the caller did not ask to create one. */
export class NoStoreError extends StoreError {
  constructor(message: string) {
    super("not-found", message);
    this.name = "NoStoreError";
  }
}
