// A throwaway Dovecot for the IMAP benchmark, the same way bench/pop3/dovecot.ts runs one for POP3: its
// own config, base and state dirs, log, passwd-file and Maildir in a temp dir (`dovecot -F -c FILE`),
// IMAP only on a loopback port, plaintext login, no TLS, no chroot; Debian's system instance is never
// touched. Mail access runs as Debian's `mail` account (Dovecot refuses UID 0).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort, waitForPort } from "../lib/net.js";
import { childPids, type GroupMemory, sumMemory } from "../lib/proc.js";
import { dovecotVersion } from "../pop3/dovecot.js";

const run = promisify(execFile);

export interface DovecotOptions {
  user: string;
  password: string;
  /** The messages, written into the Maildir's new/ in order. */
  messages: Iterable<Buffer>;
  /**
   * Each message's INTERNALDATE (the file's mtime, which Dovecot's Maildir takes as the received
   * date); by default every file keeps the time it was written.
   */
  receivedAt?: (index: number) => Date;
  /** Dovecot's mail_location; by default Maildir++ folders in ~/Maildir. */
  mailLocation?: string;
  /**
   * The password scheme of the passwd-file entry (`doveadm pw -l` lists them): PLAIN by default, so
   * LOGIN costs Dovecot no hashing; ARGON2ID or SHA512-CRYPT make it verify a hash as mailroom does.
   */
  passwordScheme?: string;
}

export interface DovecotInstance {
  host: string;
  port: number;
  version: string;
  /** The user's home, which holds the Maildir (removed by stop). */
  home: string;
  /** Sum of RSS and Pss over the master and every process it forked. */
  memory(): Promise<GroupMemory>;
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

async function account(name: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const [, , uid, gid] =
    passwd
      .split("\n")
      .find((entry) => entry.startsWith(`${name}:`))
      ?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`there is no "${name}" account; install Dovecot: apt-get install -y dovecot-imapd`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

async function writeMaildir(
  maildir: string,
  messages: Iterable<Buffer>,
  receivedAt: ((index: number) => Date) | undefined,
): Promise<void> {
  for (const sub of ["new", "cur", "tmp"]) await mkdir(path.join(maildir, sub), { recursive: true });
  let index = 0;
  const writes: Promise<void>[] = [];
  for (const message of messages) {
    // maildir(5) names; S= and W= (RFC 822 size with CRLF) spare Dovecot reading the file for sizes.
    const name = `1767225600.M${index}P1.bench,S=${message.length},W=${message.length}`;
    const file = path.join(maildir, "new", name);
    const date = receivedAt?.(index);
    writes.push(
      writeFile(file, message).then(() => (date === undefined ? undefined : utimes(file, date, date))),
    );
    index++;
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
}

function config(dir: string, port: number, mailUid: number, mailLocation: string): string {
  return `# Written by bench/imap/dovecot.ts for one benchmark run.
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailroom-bench-${path.basename(dir)}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = ${mailUid}
mail_location = ${mailLocation}
namespace inbox {
  inbox = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`;
}

export async function startDovecot(options: DovecotOptions): Promise<DovecotInstance> {
  const version = await dovecotVersion();
  const host = "127.0.0.1";
  const port = await freePort(host);
  const owner = await account("mail");
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-imap-dovecot-"));
  // The login and mail processes drop root; they must be able to reach the home below this dir.
  await chmod(dir, 0o755);
  const home = path.join(dir, "home");
  await writeMaildir(path.join(home, "Maildir"), options.messages, options.receivedAt);
  await run("chown", ["-R", `${owner.uid}:${owner.gid}`, home]);
  const passwd = path.join(dir, "passwd");
  const scheme = options.passwordScheme ?? "PLAIN";
  const secret =
    scheme === "PLAIN"
      ? `{PLAIN}${options.password}`
      : (await run("doveadm", ["pw", "-s", scheme, "-p", options.password])).stdout.trim();
  await writeFile(passwd, `${options.user}:${secret}:${owner.uid}:${owner.gid}::${home}::\n`, {
    mode: 0o640,
  });
  // The auth process reads it as the internal user `dovecot`.
  await chown(passwd, 0, (await account("dovecot")).gid);
  const configPath = path.join(dir, "dovecot.conf");
  await writeFile(configPath, config(dir, port, owner.uid, options.mailLocation ?? "maildir:~/Maildir"));
  const logTail = async (lines: number) => {
    const text = await readFile(path.join(dir, "dovecot.log"), "utf8").catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  };
  let master: ChildProcess | null = null;
  const stop = async () => {
    if (master !== null && master.exitCode === null && master.signalCode === null) {
      const exited = once(master, "exit");
      master.kill("SIGTERM");
      const gone = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!gone) master.kill("SIGKILL");
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // -F keeps the master in the foreground as our child, so it dies with the benchmark.
    const child = spawn("dovecot", ["-F", "-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    master = child;
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`dovecot exited with ${code}: ${output.trim()}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(host, port, 30_000, "dovecot"), exited]);
    const pid = child.pid;
    if (pid === undefined) throw new Error("dovecot has no pid");
    return {
      host,
      port,
      version,
      home,
      memory: async () => sumMemory([pid, ...(await childPids(pid))]),
      logTail,
      stop,
    };
  } catch (error) {
    const tail = await logTail(10);
    await stop().catch(() => undefined);
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tail ? `\n${tail}` : ""}`);
  }
}
