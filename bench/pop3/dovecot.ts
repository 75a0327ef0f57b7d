// A throwaway Dovecot for the POP3 benchmark: its own config, base and state dirs, log and Maildir in a
// temp dir (`dovecot -c DIR/dovecot.conf`), POP3 only, on a loopback port, plaintext login allowed, no
// TLS, no chroot. Debian's system instance is never touched.
//
// Dovecot will not give mail access to UID 0, so the mail user is Debian's `mail` account (uid 8) and
// the Maildir belongs to it; the master still runs as root, with its default internal and login users
// (`dovecot`, `dovenull`) that the dovecot-core package creates.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { freePort, waitForPort } from "../lib/net.js";
import { childPids, type GroupMemory, sumMemory } from "../lib/proc.js";

const run = promisify(execFile);

export interface DovecotOptions {
  user: string;
  password: string;
  /** The messages, written into the Maildir's new/ in order (RETR n is message n - 1). */
  messages: Iterable<Buffer>;
}

export interface DovecotInstance {
  host: string;
  port: number;
  version: string;
  dir: string;
  /** Sum of RSS and Pss over the master and every process it forked. */
  memory(): Promise<GroupMemory>;
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

async function passwdEntry(account: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const line = passwd.split("\n").find((entry) => entry.startsWith(`${account}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      `there is no "${account}" account; install dovecot-core (apt-get install -y dovecot-pop3d)`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export async function dovecotVersion(): Promise<string> {
  try {
    return (await run("dovecot", ["--version"])).stdout.trim();
  } catch {
    throw new Error(
      "dovecot is not installed: apt-get install -y dovecot-pop3d (the system service it starts is not needed)",
    );
  }
}

/** Maildir names (maildir(5)): unique base, then S= (file size) and W= (RFC 822 size, CRLF) so Dovecot need not read the file to answer LIST. */
function maildirName(index: number, size: number): string {
  return `1767225600.M${index}P1.bench,S=${size},W=${size}`;
}

async function writeMaildir(
  maildir: string,
  messages: Iterable<Buffer>,
  owner: { uid: number; gid: number },
): Promise<void> {
  for (const sub of ["new", "cur", "tmp"]) {
    await mkdir(path.join(maildir, sub), { recursive: true });
  }
  let index = 0;
  const writes: Promise<void>[] = [];
  for (const message of messages) {
    writes.push(writeFile(path.join(maildir, "new", maildirName(index, message.length)), message));
    index++;
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  await run("chown", ["-R", `${owner.uid}:${owner.gid}`, maildir]);
}

function config(dir: string, port: number, mailUid: number): string {
  return `# Written by bench/pop3/dovecot.ts for one benchmark run.
protocols = pop3
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = mailroom-bench-${path.basename(dir)}
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = ${mailUid}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
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
  const owner = await passwdEntry("mail");
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-dovecot-"));
  // The login and mail processes drop root; they must be able to reach the home below this dir.
  await chmod(dir, 0o755);
  const home = path.join(dir, "home");
  await mkdir(home);
  await chown(home, owner.uid, owner.gid);
  await writeMaildir(path.join(home, "Maildir"), options.messages, owner);
  await writeFile(
    path.join(dir, "passwd"),
    `${options.user}:{PLAIN}${options.password}:${owner.uid}:${owner.gid}::${home}::\n`,
    { mode: 0o640 },
  );
  // The auth process reads it as the internal user `dovecot`; nobody else needs to.
  await chown(path.join(dir, "passwd"), 0, (await passwdEntry("dovecot")).gid);
  const configPath = path.join(dir, "dovecot.conf");
  await writeFile(configPath, config(dir, port, owner.uid));
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
    // -F keeps the master in the foreground as our child, so it dies with the benchmark if that crashes.
    const child = spawn("dovecot", ["-F", "-c", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    master = child;
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
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
      dir,
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
