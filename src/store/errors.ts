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
      | "not-empty",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}
