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
      // RFC 8620 §5.2: the history no longer reaches back to the state given (or never held it).
      | "cannotCalculateChanges",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}
