// A real rspamd for tests (Debian `rspamd`), with a redis-server (Debian `redis-server`) for its Bayes
// statistics, both on loopback high ports in a temporary directory. The configuration includes the
// packaged rules but turns off every module that would reach the network, and points rspamd's DNS at
// a closed loopback port, so a scan depends on nothing outside the machine. GTUBE gets `reject`.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
export const rspamdClients = {
  rspamd: { binary: "rspamd", package: "rspamd" },
  redis: { binary: "redis-server", package: "redis-server" },
} as const;

export interface TestRspamd {
  /** The normal worker: POST /checkv2. */
  url: string;
  /** The controller worker: /learnspam, /learnham, /stat. */
  controllerUrl: string;
  /** What the controller's /stat says was learned so far. */
  learned(): Promise<number>;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (bound and released by the OS). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

// Modules that query DNS lists or remote services; off so a scan is local and quick.
const NETWORK_MODULES = [
  "rbl",
  "surbl",
  "fuzzy_check",
  "phishing",
  "dmarc",
  "spf",
  "dkim",
  "arc",
  "asn",
  "emails",
  "mx_check",
  "neural",
  "url_redirector",
  "greylist",
  "ratelimit",
  "replies",
  "history_redis",
  "dcc",
  "external_services",
  "metadata_exporter",
  "reputation",
  "milter_headers",
];

export async function startRspamd(): Promise<TestRspamd> {
  const dir = await mkdtemp(join(tmpdir(), "mailroom-rspamd-"));
  const local = join(dir, "local.d");
  await mkdir(local);
  await mkdir(join(dir, "db"));
  const [redisPort, normalPort, controllerPort, deadDnsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const redis = spawn(
      "redis-server",
      ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    children.push(redis);
    for (const name of NETWORK_MODULES) await writeFile(join(local, `${name}.conf`), "enabled = false;\n");
    // No greylist or add-header action below the reject score: a plain message scored without working
    // DNS (no PTR, no MX for the sender) is still "no action", so the reject test is about GTUBE alone.
    await writeFile(
      join(local, "actions.conf"),
      "reject = 15;\nadd_header = null;\nrewrite_subject = null;\ngreylist = null;\n",
    );
    await writeFile(join(local, "redis.conf"), `servers = "127.0.0.1:${redisPort}";\n`);
    // min_learns 1: the classifier answers after the first learn, so a test can see it work.
    await writeFile(join(local, "classifier-bayes.conf"), "min_learns = 1;\nautolearn = false;\n");
    await writeFile(
      join(local, "options.inc"),
      `dns { nameserver = ["127.0.0.1:${deadDnsPort}"]; timeout = 0.2s; retransmits = 1; }\n`,
    );
    const config = join(dir, "rspamd.conf");
    await writeFile(
      config,
      `.include "$CONFDIR/common.conf"
options {
  pidfile = "${dir}/rspamd.pid";
  .include "$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}
logging { type = "file"; filename = "${dir}/rspamd.log"; level = "warning"; }
worker "normal" {
  bind_socket = "127.0.0.1:${normalPort}";
  .include "$CONFDIR/worker-normal.inc"
  count = 1;
}
worker "controller" {
  bind_socket = "127.0.0.1:${controllerPort}";
  .include "$CONFDIR/worker-controller.inc"
  count = 1;
  secure_ip = "127.0.0.1";
}
`,
    );
    // rspamd drops privileges to a user and group; ours, since it runs unprivileged.
    const user = execFileSync("id", ["-un"]).toString().trim();
    const group = execFileSync("id", ["-gn"]).toString().trim();
    const rspamd = spawn(
      "rspamd",
      [
        "-f",
        "-u",
        user,
        "-g",
        group,
        "-c",
        config,
        `--var=LOCAL_CONFDIR=${dir}`,
        `--var=DBDIR=${join(dir, "db")}`,
        `--var=RUNDIR=${dir}`,
        `--var=LOGDIR=${dir}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(rspamd);
    let stderr = "";
    rspamd.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const url = `http://127.0.0.1:${normalPort}`;
    const controllerUrl = `http://127.0.0.1:${controllerPort}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (rspamd.exitCode !== null) throw new Error(`rspamd exited (${rspamd.exitCode}): ${stderr}`);
      const ok = await Promise.all([ping(url), ping(controllerUrl)]);
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`rspamd did not answer /ping within 60 s: ${stderr}`);
      await sleep(200);
    }
    return {
      url,
      controllerUrl,
      async learned() {
        const response = await fetch(`${controllerUrl}/stat`);
        const stat = (await response.json()) as { learned?: number };
        return stat.learned ?? 0;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function ping(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ping`);
    return response.ok;
  } catch {
    return false;
  }
}
