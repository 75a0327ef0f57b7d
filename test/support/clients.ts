// The programs outside Node that tests drive, and how a test declares the ones it needs: on a machine
// without one, the test is skipped with the Debian package to install, so `npm test` still runs
// everything else. CI sets MAILROOM_TEST_REQUIRE_CLIENTS=1, where a missing program is a failure instead
// and a broken CI image cannot pass by skipping.

import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

export interface Client {
  /** A command looked up on PATH, or an absolute path. */
  binary: string;
  /** The Debian package that installs it. */
  package: string;
  /** A file of the package the test also needs, when the binary alone does not show it is installed. */
  file?: string;
}

export const clients = {
  /** Debian's build, driven headless by playwright-core in the webmail tests. */
  chromium: { binary: "/usr/bin/chromium", package: "chromium" },
  curl: { binary: "curl", package: "curl" },
  /** Dovecot's IMAP server, which writes the Maildirs `mailroom import` is tested on. */
  dovecot: { binary: "/usr/sbin/dovecot", package: "dovecot-imapd", file: "/usr/lib/dovecot/imap" },
  fetchmail: { binary: "fetchmail", package: "fetchmail" },
  mbsync: { binary: "mbsync", package: "isync" },
  msmtp: { binary: "msmtp", package: "msmtp" },
  mutt: { binary: "mutt", package: "mutt" },
  /** Only the standard library: any python3 on PATH will do. */
  python3: { binary: "python3", package: "python3" },
  /**
   * dkimpy as Debian installs it, for Debian's interpreter: the python3 on PATH may be another one
   * (pyenv) that cannot import it.
   */
  pythonDkim: {
    binary: "/usr/bin/python3",
    package: "python3-dkim",
    file: "/usr/lib/python3/dist-packages/dkim/__init__.py",
  },
  /** sievelib's ManageSieve client (`from sievelib.managesieve import Client`), for Debian's interpreter. */
  pythonSievelib: {
    binary: "/usr/bin/python3",
    package: "python3-sievelib",
    file: "/usr/lib/python3/dist-packages/sievelib/managesieve.py",
  },
  sieveConnect: { binary: "sieve-connect", package: "sieve-connect" },
  /** Pigeonhole's script tester, the reference the Sieve engine is compared with. */
  sieveTest: { binary: "sieve-test", package: "dovecot-sieve" },
  swaks: { binary: "swaks", package: "swaks" },
} satisfies Record<string, Client>;

export const REQUIRE_CLIENTS = "MAILROOM_TEST_REQUIRE_CLIENTS";

/**
 * The skip reason for the clients that are missing (node:test's `skip` option), or undefined when all are
 * there; throws instead under MAILROOM_TEST_REQUIRE_CLIENTS=1.
 */
export function needs(...required: Client[]): string | undefined {
  const missing = required.flatMap((client) => {
    const absent = absentPart(client);
    return absent === undefined ? [] : [`${absent} is not installed: apt-get install ${client.package}`];
  });
  if (missing.length === 0) return undefined;
  const reason = missing.join("; ");
  failIfRequired(reason);
  return reason;
}

function absentPart(client: Client): string | undefined {
  if (findExecutable(client.binary) === null) return client.binary;
  if (client.file !== undefined && !isFile(client.file)) return client.file;
  return undefined;
}

/** Turns a reason to skip into a failure when MAILROOM_TEST_REQUIRE_CLIENTS=1 says nothing may be skipped. */
export function failIfRequired(reason: string): void {
  if (process.env[REQUIRE_CLIENTS] === "1")
    throw new Error(`${reason} (${REQUIRE_CLIENTS}=1, so this fails)`);
}

/**
 * The path of `binary` (a name searched on PATH, or an absolute path) if it is an executable file, else
 * null. Looked up rather than spawned, so that finding out costs no process and cannot hang.
 */
export function findExecutable(binary: string): string | null {
  const candidates = isAbsolute(binary)
    ? [binary]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .filter((dir) => dir !== "")
        .map((dir) => join(dir, binary));
  return candidates.find((path) => isFile(path) && isExecutable(path)) ?? null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
