// Differential conformance: every corpus script runs over every corpus message through Pigeonhole's
// sieve-test and through our engine, and the final actions must agree. sieve-test prints what it would
// do ("store message in folder: X", "redirect message to: <a>", …) without doing it.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compile, evaluate, type SieveAction, SieveError } from "../../src/sieve/index.js";
import { clients, needs } from "../support/clients.js";

const CORPUS = join(import.meta.dirname, "corpus");
const SCRIPTS = readdirSync(join(CORPUS, "scripts"))
  .filter((f) => f.endsWith(".sieve"))
  .sort();
const MESSAGES = readdirSync(join(CORPUS, "messages"))
  .filter((f) => f.endsWith(".eml"))
  .sort();
const RECIPIENT = "bob@example.com";
const SPAM_MAX = 10;
const VIRUS_MAX = 5;

/**
 * Cases where the two differ on purpose, keyed "script message". Each is asserted to still differ, so a
 * fix on either side shows up.
 */
// sieve-test cannot be given the null reverse path (-f "" and -f "<>" are refused), so no corpus message has one.
const DIFFERENCES: Record<string, string> = {
  "date-index.sieve encoded.eml":
    "Pigeonhole 0.5's date test reads only the first field of the name whatever :index says; RFC 5260 §6 has " +
    ":index 1 :last pick the last Received (08:59:00 +0100, 07:59:00 in +0000)",
  "relational-value.sieve plain.eml":
    'Pigeonhole orders i;ascii-casemap after folding to lower case, so "[" sorts below "m"; RFC 4790 §9.2 folds ' +
    'to upper case, where "[" (0x5B) sorts above "M" (0x4D)',
};

const skip = needs(clients.sieveTest);

let work = "";

/** A throwaway Dovecot configuration: the extensions under test, spam/virus scores read from headers. */
function dovecotConfig(dir: string): string {
  // sieve-test as root must drop to another user; as anyone else it keeps its own.
  const uid = process.getuid?.() === 0 ? 65534 : (process.getuid?.() ?? 65534);
  const gid = process.getuid?.() === 0 ? 65534 : (process.getgid?.() ?? 65534);
  return `mail_uid = ${uid}
mail_gid = ${gid}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${dir}/mail
mail_home = ${dir}/home
protocols =
plugin {
  sieve = file:${dir}/personal;active=${dir}/active.sieve
  sieve_extensions = +editheader +spamtest +spamtestplus +virustest +vacation-seconds
  sieve_spamtest_status_type = score
  sieve_spamtest_status_header = X-Spam-Score
  sieve_spamtest_max_value = ${SPAM_MAX}
  sieve_virustest_status_type = score
  sieve_virustest_status_header = X-Virus-Verdict
  sieve_virustest_max_value = ${VIRUS_MAX}
}
`;
}

function headerValue(message: string, name: string): string | undefined {
  return new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(message)?.[1]?.trim();
}

function envelopeFrom(message: string): string {
  return /^<(.*)>$/.exec(headerValue(message, "return-path") ?? "<>")?.[1] ?? "";
}

/** A score header as Pigeonhole's "score" status type scales it: 1 + ⌊score / max × (top − 1)⌋. */
function scaled(message: string, header: string, max: number, top: number): number | undefined {
  const text = headerValue(message, header);
  if (text === undefined) return undefined;
  return 1 + Math.floor((Math.min(Number(text), max) / max) * (top - 1));
}

function flagsText(flags: readonly string[]): string {
  return flags.length === 0
    ? ""
    : ` flags=${flags
        .map((f) => f.toLowerCase())
        .sort()
        .join(" ")}`;
}

function ourActions(script: string, message: Buffer): string[] {
  let compiled: ReturnType<typeof compile>;
  try {
    compiled = compile(readFileSync(join(CORPUS, "scripts", script), "utf8"));
  } catch (e) {
    if (e instanceof SieveError) return ["compile-error"];
    throw e;
  }
  const text = message.toString("latin1");
  const spam = headerValue(text, "x-spam-score");
  const result = evaluate(compiled, {
    message,
    envelope: { from: envelopeFrom(text), to: RECIPIENT },
    environment: {
      mailboxes: ["INBOX"],
      ...(spam === undefined
        ? {}
        : {
            spam: {
              value: scaled(text, "x-spam-score", SPAM_MAX, 10)!,
              percent: Math.round((Number(spam) / SPAM_MAX) * 100),
            },
          }),
      ...(headerValue(text, "x-virus-verdict") === undefined
        ? {}
        : { virus: scaled(text, "x-virus-verdict", VIRUS_MAX, 5)! }),
      include: (_location, name) => {
        try {
          return readFileSync(join(CORPUS, "include", `${name}.sieve`), "utf8");
        } catch {
          return null;
        }
      },
    },
  });
  if (result.status === "error") return ["error"];
  return result.actions.flatMap(canonical).sort();
}

function canonical(action: SieveAction): string[] {
  switch (action.type) {
    case "keep":
      return [`store INBOX${flagsText(action.flags)}`];
    case "fileinto":
      return [`store ${action.mailbox}${flagsText(action.flags)}${action.create ? " create" : ""}`];
    case "redirect":
      return [`redirect ${action.address}`];
    case "discard":
      return ["discard"];
    case "reject":
      return ["reject"];
    case "vacation": {
      const parts = [`seconds=${action.seconds}`];
      if (action.subject !== null) parts.push(`subject=${action.subject}`);
      if (action.from !== null) parts.push(`from=${action.from}`);
      parts.push(`handle=${action.handle}`);
      return [`vacation ${parts.join(" ")}`];
    }
    // Header edits are not listed by sieve-test; the corpus tests them through later tests.
    case "addheader":
    case "deleteheader":
      return [];
  }
}

/** The final actions of sieve-test's report, in the same canonical form. */
function pigeonholeActions(script: string, messagePath: string, message: string): string[] {
  const run = spawnSync(
    "sieve-test",
    [
      "-c",
      join(work, "dovecot.conf"),
      "-f",
      envelopeFrom(message),
      "-a",
      RECIPIENT,
      join(work, "scripts", script),
      messagePath,
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  if (/failed to compile/.test(run.stderr)) return ["compile-error"];
  if (/final result: failed/.test(run.stderr)) return ["error"];
  assert.equal(run.status, 0, `sieve-test failed: ${run.stderr}`);
  const out: string[] = [];
  let current: { text: string; flags: string; create: boolean; vacation: string[] } | null = null;
  const flush = () => {
    if (current === null) return;
    out.push(
      current.vacation.length > 0
        ? `vacation ${current.vacation.join(" ")}`
        : `${current.text}${current.flags}${current.create ? " create" : ""}`,
    );
    current = null;
  };
  let inMessage = false;
  for (const line of run.stdout.split("\n")) {
    if (line === "START MESSAGE") inMessage = true;
    if (inMessage) {
      if (line === "END MESSAGE") inMessage = false;
      continue;
    }
    const action = /^ \* (.*)$/.exec(line)?.[1];
    if (action !== undefined) {
      flush();
      const text = action
        .replace(/^store message in folder: /, "store ")
        .replace(/^redirect message to: <(.*)>$/, "redirect $1")
        .replace(/^reject message with reason: .*/, "reject")
        .replace(/^send vacation message:$/, "vacation");
      current = { text, flags: "", create: false, vacation: [] };
      continue;
    }
    if (current === null) continue;
    const flags = /^\s+\+ add IMAP flags: (.*)$/.exec(line)?.[1];
    if (flags !== undefined) current.flags = flagsText(flags.trim().split(/\s+/));
    if (/^\s+\+ create mailbox/.test(line)) current.create = true;
    const param = /^\s+=> (\w+)\s*: (.*)$/.exec(line);
    if (param !== null && current.text === "vacation") current.vacation.push(`${param[1]}=${param[2]}`);
  }
  flush();
  return out.sort();
}

describe("differential conformance with Pigeonhole's sieve-test", { skip }, () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), "mailroom-pigeonhole-"));
    cpSync(join(CORPUS, "scripts"), join(work, "scripts"), { recursive: true });
    cpSync(join(CORPUS, "include"), join(work, "personal"), { recursive: true });
    mkdirSync(join(work, "mail"));
    mkdirSync(join(work, "home"));
    writeFileSync(join(work, "dovecot.conf"), dovecotConfig(work));
    // sieve-test writes compiled scripts and the mail store as the user it drops to.
    for (const dir of ["", "scripts", "personal", "mail", "home"]) chmodSync(join(work, dir), 0o777);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const script of SCRIPTS) {
    test(script, () => {
      for (const name of MESSAGES) {
        const path = join(CORPUS, "messages", name);
        const bytes = readFileSync(path);
        const theirs = pigeonholeActions(script, path, bytes.toString("latin1"));
        const ours = ourActions(script, bytes);
        const difference = DIFFERENCES[`${script} ${name}`];
        if (difference === undefined) assert.deepEqual(ours, theirs, `${script} on ${name}`);
        else assert.notDeepEqual(ours, theirs, `${script} on ${name} no longer differs: ${difference}`);
      }
    });
  }
});
