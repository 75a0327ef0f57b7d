// Shared fixtures for the Sieve tests: a message, and running a script over it in one call.
import assert from "node:assert/strict";
import {
  compile,
  type EvaluateResult,
  evaluate,
  type SieveAction,
  type SieveEnvironment,
  type SieveLimits,
} from "../../src/sieve/index.js";

export const MESSAGE = Buffer.from(
  [
    "Received: from mx.example.org by mail.example.com; Tue, 1 Oct 2024 08:01:00 +0000",
    "From: Alice <alice+list@example.org>",
    "To: bob@example.com, Carol <carol@example.net>",
    "Cc: undisclosed-recipients:;",
    "Subject: [acme-users] [fwd] version 1.0 is out",
    "Date: Tue, 1 Oct 2024 10:00:00 +0200",
    "X-Tag: one",
    "X-Tag: two",
    "",
    "Hello Bob,",
    "the new version is out.",
    "",
  ].join("\r\n"),
);

export interface RunOptions {
  message?: Buffer;
  from?: string;
  environment?: SieveEnvironment;
  limits?: Partial<SieveLimits>;
}

export function run(script: string, options: RunOptions = {}): EvaluateResult {
  return evaluate(compile(script, options.limits), {
    message: options.message ?? MESSAGE,
    envelope: { from: options.from ?? "alice+list@example.org", to: "bob@example.com", auth: "alice" },
    environment: { now: new Date("2024-10-01T12:00:00Z"), zone: "+0000", ...options.environment },
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
}

export function actions(script: string, options: RunOptions = {}): SieveAction[] {
  const result = run(script, options);
  assert.equal(result.status, "ok", result.status === "error" ? result.error.message : "");
  return result.actions;
}

/** The actions in a short form: "keep", "keep*" (implicit), "fileinto X", "redirect a", "discard", … */
export function summary(script: string, options: RunOptions = {}): string[] {
  return actions(script, options).map((a) => {
    switch (a.type) {
      case "keep":
        return `${a.implicit ? "keep*" : "keep"}${a.flags.length > 0 ? ` [${a.flags.join(" ")}]` : ""}`;
      case "fileinto":
        return `fileinto ${a.mailbox}${a.flags.length > 0 ? ` [${a.flags.join(" ")}]` : ""}`;
      case "redirect":
        return `redirect ${a.address}`;
      case "reject":
        return `${a.extended ? "ereject" : "reject"} ${a.reason}`;
      case "addheader":
      case "deleteheader":
        return `${a.type} ${a.name}`;
      default:
        return a.type;
    }
  });
}

/** True when the script files the message into "yes": the tests' way of asking "did the test hold". */
export function holds(test: string, requires: readonly string[] = [], options: RunOptions = {}): boolean {
  const script = `require ${JSON.stringify(["fileinto", ...requires])};\nif ${test} { fileinto "yes"; }`;
  return summary(script, options).includes("fileinto yes");
}

/** True when a whole script (the requires added) files the message into "yes". */
export function filesYes(body: string, requires: readonly string[] = [], options: RunOptions = {}): boolean {
  return summary(`require ${JSON.stringify(["fileinto", ...requires])};\n${body}`, options).includes(
    "fileinto yes",
  );
}

export function runtimeError(script: string, options: RunOptions = {}): string {
  const result = run(script, options);
  assert.equal(result.status, "error", "expected a runtime error");
  return result.status === "error" ? result.error.message : "";
}
