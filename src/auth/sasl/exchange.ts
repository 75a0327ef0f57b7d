// The state every mechanism shares: start() once, then next() while the last step was a challenge.
// Anything else, oversized input, or an unexpected error ends the exchange with a failure step, so a
// protocol session never has to catch exceptions from a mechanism.

import type { SaslExchange, SaslFailure, SaslStep } from "../types.js";

/** Far above any legitimate response of our mechanisms; the protocol's line limit normally bites first. */
export const MAX_RESPONSE_BYTES = 8192;

export function failure(reason: SaslFailure): SaslStep {
  return { kind: "failure", reason };
}

export function challenge(data: string | Buffer): SaslStep {
  return { kind: "challenge", data: typeof data === "string" ? Buffer.from(data, "utf8") : data };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes as UTF-8 text, or null when they are not valid UTF-8. */
export function decodeUtf8(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

export abstract class MechanismExchange implements SaslExchange {
  private state: "new" | "waiting" | "busy" | "done" = "new";

  constructor(
    readonly mechanism: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(initial: Buffer | null): Promise<SaslStep> {
    if (this.state !== "new") return this.finish(failure("malformed"));
    return this.run(() => this.onStart(initial), initial);
  }

  next(response: Buffer): Promise<SaslStep> {
    if (this.state !== "waiting") return this.finish(failure("malformed"));
    return this.run(() => this.onResponse(response), response);
  }

  protected abstract onStart(initial: Buffer | null): Promise<SaslStep>;
  protected abstract onResponse(response: Buffer): Promise<SaslStep>;

  private async run(step: () => Promise<SaslStep>, input: Buffer | null): Promise<SaslStep> {
    if (input !== null && input.length > MAX_RESPONSE_BYTES) return this.finish(failure("malformed"));
    this.state = "busy";
    let result: SaslStep;
    try {
      result = await step();
    } catch (error) {
      this.onError(error);
      result = failure("unavailable");
    }
    this.state = result.kind === "challenge" ? "waiting" : "done";
    return result;
  }

  private async finish(step: SaslStep): Promise<SaslStep> {
    this.state = "done";
    return step;
  }
}
