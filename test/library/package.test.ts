// mailroom as a library, the way a user gets it: `npm pack` makes the package, it is unpacked into a
// fresh project's node_modules (its dependencies linked from this checkout's, so no network), and
// there examples/embed.js runs as README shows it — a whole server embedded, a message sent through
// the exported SMTP client and read back over IMAP — and a TypeScript file type-checks against the
// published .d.ts of every subpath, under the settings a strict user project would have.

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

/** Whether dist/ holds declarations at least as new as every source file (else it is built here). */
async function distIsFresh(): Promise<boolean> {
  const built = await stat(join(root, "dist/library/index.d.ts")).catch(() => null);
  if (built === null) return false;
  for (const name of await readdir(join(root, "src"), { recursive: true })) {
    const info = await stat(join(root, "src", name));
    if (info.isFile() && info.mtimeMs > built.mtimeMs) return false;
  }
  return true;
}

const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
  name: string;
  dependencies: Record<string, string>;
};

describe("the published package", () => {
  let work: string;
  let app: string;
  let example: ChildProcess | null = null;

  before(async () => {
    if (!(await distIsFresh())) {
      await run(
        process.execPath,
        [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
        {
          cwd: root,
        },
      );
    }
    work = await mkdtemp(join(tmpdir(), "mailroom-package-"));
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: root,
    });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(packed);
    app = join(work, "app");
    const modules = join(app, "node_modules");
    await mkdir(modules, { recursive: true });
    await run("tar", ["-xzf", join(work, packed.filename), "-C", modules]);
    await rename(join(modules, "package"), join(modules, manifest.name));
    const linked = [
      ...Object.keys(manifest.dependencies),
      "typescript",
      "@types/node",
      "@types/pg",
      "@types/ws",
      "@types/better-sqlite3",
    ];
    for (const name of linked) {
      const target = join(modules, name);
      await mkdir(dirname(target), { recursive: true });
      await symlink(join(root, "node_modules", name), target, "dir");
    }
    await writeFile(
      join(app, "package.json"),
      JSON.stringify({ name: "embedder", type: "module", private: true }),
    );
    await copyFile(join(root, "examples/embed.js"), join(app, "embed.js"));
  });

  after(async () => {
    if (example && example.exitCode === null) example.kill("SIGKILL");
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("is named so as not to collide with the unrelated 'mailroom' on npm, and ships no sources or tests", async () => {
    assert.notEqual(manifest.name, "mailroom");
    const files = await readdir(join(app, "node_modules", manifest.name), { recursive: true });
    assert.ok(files.includes(join("dist", "library", "index.d.ts")));
    assert.ok(files.includes(join("web", "dist", "index.html")), "the webmail ships with the server");
    assert.ok(
      !files.some((file) => file.startsWith("src") || file.startsWith("test") || file.startsWith("bench")),
    );
  });

  test("examples/embed.js: an embedded server takes mail over SMTP, serves it over IMAP, stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["embed.js", join(work, "data")], {
      cwd: app,
      env: { PATH: process.env.PATH },
    });
    example = child;
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    const first = await lines.next();
    assert.ok(!first.done, `the example printed nothing: ${stderr}`);
    const started = JSON.parse(first.value) as { imap: { host: string; port: number }; reply: number };
    assert.equal(started.reply, 250);
    const client = new ImapFlow({
      host: started.imap.host,
      port: started.imap.port,
      secure: false,
      // Plain IMAP is allowed from loopback; the example's certificate is a self-signed one.
      doSTARTTLS: false,
      auth: { user: "alice@example.org", pass: "correct horse battery" },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxOpen("INBOX");
      const message = await client.fetchOne("1", { envelope: true, source: true });
      assert.ok(message);
      assert.equal(message.envelope?.subject, "Hello");
      assert.match(String(message.source), /Sent to an embedded mailroom\./);
    } finally {
      await client.logout();
    }
    child.kill("SIGTERM");
    const stopped = await lines.next();
    assert.deepEqual(JSON.parse(String(stopped.value)), { stopped: true });
    const [code] = await once(child, "exit");
    assert.equal(code, 0, stderr);
  });

  test("the .d.ts of every subpath type-check in a strict NodeNext project", async () => {
    await writeFile(
      join(app, "check.ts"),
      `import { createServer, type MailroomServer } from "${manifest.name}";
import { connectSmtp, type SendResult, SmtpSession } from "${manifest.name}/smtp";
import { CommandFramer, ImapSession, encodeMailboxUtf7 } from "${manifest.name}/imap";
import { Pop3Session, parseCommand } from "${manifest.name}/pop3";
import { type Store, StoreError, hashPassword, openStore } from "${manifest.name}/store";

export async function embed(): Promise<MailroomServer> {
  const server = await createServer({ dataDir: "data", settings: { listeners: { smtp: { port: 0 } } } });
  const users: number = await server.withStore(async (store: Store) => (await store.directory.listUsers()).length);
  void users;
  return server;
}
export const pieces = [connectSmtp, SmtpSession, CommandFramer, ImapSession, Pop3Session, parseCommand, openStore, hashPassword];
export const mailbox: string = encodeMailboxUtf7("Entwürfe");
export const failed = (error: unknown): boolean => error instanceof StoreError;
export type Sent = SendResult["recipients"][number]["accepted"];
`,
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        files: ["check.ts"],
      }),
    );
    const result = await run(process.execPath, [join(app, "node_modules/typescript/bin/tsc"), "-p", "."], {
      cwd: app,
    }).catch((error: { stdout?: string; stderr?: string }) => ({
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? "failed",
    }));
    assert.equal(`${result.stdout}${result.stderr}`.trim(), "");
  });
});
