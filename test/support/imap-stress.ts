// A multi-session IMAP stress run that checks every response against a model (issue 17): several
// clients on one mailbox, each appending, fetching, flagging, searching and expunging at random, each
// keeping its own view (sequence number → UID, from EXISTS, EXPUNGE and FETCH exactly as it receives
// them). What one client does to its own messages only it can undo, so its own keyword and its own
// messages are known exactly and every answer about them can be checked; other clients' changes only
// ever show up as EXISTS, EXPUNGE and FETCH, which must agree with the view and with what was appended.

import { type Completion, ImapClient } from "../../bench/imap/client.js";
import { createRandom as random } from "../../bench/pop3/corpus.js";

export interface StressOptions {
  port: number;
  user: string;
  password: string;
  clients: number;
  milliseconds: number;
  seed: number;
}

export interface StressResult {
  /** Commands sent, by kind. */
  operations: Record<string, number>;
  /** Every disagreement between an answer and the model, with the client and command it came from. */
  errors: string[];
  /** Messages in the mailbox at the end, as a fresh session sees them. */
  finalCount: number;
}

/** Subjects by UID, from every APPENDUID; FETCHes seen before their APPEND completed are checked at the end. */
class Registry {
  readonly subjects = new Map<number, string>();
  readonly expunged = new Set<number>();
  readonly unchecked: Array<{ uid: number; subject: string; where: string }> = [];
  /** Messages a FETCH left out under [EXPUNGEISSUED]: each must have been expunged by the end. */
  readonly leftOut: Array<{ uid: number; where: string }> = [];

  check(uid: number, subject: string, where: string, errors: string[]): void {
    const known = this.subjects.get(uid);
    if (known === undefined) this.unchecked.push({ uid, subject, where });
    else if (known !== subject)
      errors.push(`${where}: UID ${uid} has subject "${subject}", appended as "${known}"`);
  }
}

const NO_EXPUNGE = /^(FETCH|STORE|SEARCH) /i;

class StressClient {
  /** Sequence number − 1 → UID; null where the session was told of a message but not yet of its UID. */
  private view: Array<number | null> = [];
  /** This client's messages still in the mailbox, with whether its keyword is set on each. */
  private readonly own = new Map<number, boolean>();
  private appended = 0;
  private readonly keyword: string;

  constructor(
    private readonly id: number,
    private readonly imap: ImapClient,
    private readonly registry: Registry,
    private readonly errors: string[],
    private readonly next: () => number,
    private readonly operations: Record<string, number>,
  ) {
    this.keyword = `$stress${id}`;
  }

  private error(command: string, text: string): void {
    this.errors.push(`client ${this.id}, ${command}: ${text}`);
  }

  /** Sends a command and applies its untagged responses to the view, checking each. */
  private async run(kind: string, command: string, literal?: Buffer): Promise<Completion> {
    this.operations[kind] = (this.operations[kind] ?? 0) + 1;
    const completion = await this.imap.command(command, literal);
    for (const response of completion.untagged) {
      const text = response.text;
      let m = /^\* (\d+) EXISTS$/i.exec(text);
      if (m) {
        const count = Number(m[1]);
        if (count < this.view.length)
          this.error(command, `EXISTS ${count} below the ${this.view.length} known`);
        while (this.view.length < count) this.view.push(null);
        continue;
      }
      m = /^\* (\d+) EXPUNGE$/i.exec(text);
      if (m) {
        const seq = Number(m[1]);
        if (NO_EXPUNGE.test(command)) this.error(command, `EXPUNGE ${seq} during a command that forbids it`);
        if (seq < 1 || seq > this.view.length) {
          this.error(command, `EXPUNGE ${seq} outside the ${this.view.length} messages`);
          continue;
        }
        const [uid] = this.view.splice(seq - 1, 1);
        if (uid != null) {
          this.registry.expunged.add(uid);
          if (this.own.has(uid) && !command.startsWith(`UID EXPUNGE ${uid}`)) {
            this.error(command, `own message UID ${uid} was expunged by someone else`);
          }
        }
        continue;
      }
      m = /^\* (\d+) FETCH \((.*)\)$/is.exec(text);
      if (m) this.fetched(command, Number(m[1]), m[2] ?? "", response.literals);
    }
    if (completion.status !== "OK" && !/^\[EXPUNGEISSUED\]/i.test(completion.text)) {
      this.error(command, `${completion.status} ${completion.text}`);
    }
    return completion;
  }

  private fetched(command: string, seq: number, items: string, literals: Buffer[]): void {
    if (seq < 1 || seq > this.view.length) {
      this.error(command, `FETCH for message ${seq} of ${this.view.length}`);
      return;
    }
    const uidMatch = /\bUID (\d+)/i.exec(items);
    const known = this.view[seq - 1] ?? null;
    let uid = known;
    if (uidMatch) {
      const said = Number(uidMatch[1]);
      if (known !== null && known !== said)
        this.error(command, `message ${seq} is UID ${known}, FETCH says ${said}`);
      uid = said;
      this.view[seq - 1] = said;
      const before = this.view.slice(0, seq - 1).findLast((u) => u !== null);
      const after = this.view.slice(seq).find((u) => u !== null);
      if ((before != null && before >= said) || (after != null && after <= said)) {
        this.error(command, `UID ${said} at message ${seq} breaks ascending order`);
      }
    }
    if (uid === null) return;
    const subject = /BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}/i.test(items)
      ? (literals[0]
          ?.toString("utf8")
          .replace(/^Subject: /i, "")
          .trim() ?? "")
      : null;
    if (subject !== null) this.registry.check(uid, subject, `client ${this.id}, ${command}`, this.errors);
    const flags = /\bFLAGS \(([^)]*)\)/i.exec(items);
    const expected = this.own.get(uid);
    if (flags && expected !== undefined) {
      const has = (flags[1] ?? "").split(" ").includes(this.keyword);
      if (has !== expected) {
        this.error(
          command,
          `UID ${uid} shows ${this.keyword} ${has ? "set" : "clear"}, last set ${expected ? "on" : "off"}`,
        );
      }
    }
  }

  private pickOwn(): number | undefined {
    const uids = [...this.own.keys()];
    return uids[Math.floor(this.next() * uids.length)];
  }

  async select(): Promise<void> {
    this.view = [];
    await this.run("select", "SELECT INBOX");
    if (this.view.length > 0) await this.run("fetch", "FETCH 1:* (UID)");
  }

  async step(): Promise<void> {
    const roll = this.next();
    if (roll < 0.2) {
      const subject = `client ${this.id} message ${++this.appended}`;
      const body = Buffer.from(
        `Subject: ${subject}\r\nFrom: c${this.id}@example.org\r\nMessage-ID: <${this.id}.${this.appended}@stress>\r\n\r\nbody ${subject}\r\n`,
      );
      const done = await this.run("append", "APPEND INBOX ()", body);
      const m = /\[APPENDUID \d+ (\d+)\]/i.exec(done.text);
      if (!m) {
        this.error("APPEND", `no APPENDUID in "${done.text}"`);
        return;
      }
      const uid = Number(m[1]);
      this.registry.subjects.set(uid, subject);
      this.own.set(uid, false);
    } else if (roll < 0.5) {
      if (this.view.length === 0) return;
      const from = 1 + Math.floor(this.next() * this.view.length);
      const to = Math.min(this.view.length, from + Math.floor(this.next() * 20));
      const command = `FETCH ${from}:${to} (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])`;
      const before = this.view.length;
      const done = await this.run("fetch", command);
      const answered = new Set(
        done.untagged.map((r) => /^\* (\d+) FETCH /i.exec(r.text)?.[1]).filter(Boolean),
      );
      // RFC 9051 §7.1: a message another session expunged may be left out, with [EXPUNGEISSUED] saying so.
      const issued = /\[EXPUNGEISSUED\]/i.test(done.text);
      if (this.view.length === before) {
        for (let seq = from; seq <= to; seq++) {
          if (answered.has(String(seq))) continue;
          const uid = this.view[seq - 1] ?? null;
          if (!issued) this.error(command, `no FETCH response for message ${seq}, and no [EXPUNGEISSUED]`);
          else if (uid !== null && this.own.has(uid)) this.error(command, `own message UID ${uid} left out`);
          else if (uid !== null) this.registry.leftOut.push({ uid, where: `client ${this.id}, ${command}` });
        }
      }
    } else if (roll < 0.65) {
      const uid = this.pickOwn();
      if (uid === undefined) return;
      const on = this.next() < 0.5;
      const command = `UID STORE ${uid} ${on ? "+" : "-"}FLAGS (${this.keyword})`;
      this.own.set(uid, on);
      const done = await this.run("store", command);
      const shown = done.untagged.some(
        (r) => new RegExp(`\\bUID ${uid}\\b`).test(r.text) && /FLAGS/i.test(r.text),
      );
      if (!shown) this.error(command, "no FETCH FLAGS for the stored message");
    } else if (roll < 0.75) {
      const command = `UID SEARCH KEYWORD ${this.keyword}`;
      const done = await this.run("search", command);
      const found = done.untagged
        .flatMap((r) => /^\* SEARCH((?: \d+)*)$/i.exec(r.text)?.[1]?.trim().split(" ") ?? [])
        .filter((s) => s !== "")
        .map(Number)
        .sort((a, b) => a - b);
      const wanted = [...this.own]
        .filter(([, on]) => on)
        .map(([uid]) => uid)
        .sort((a, b) => a - b);
      if (found.join(",") !== wanted.join(",")) {
        this.error(command, `found [${found.join(",")}], expected [${wanted.join(",")}]`);
      }
    } else if (roll < 0.85) {
      const uid = this.pickOwn();
      if (uid === undefined) return;
      await this.run("store", `UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
      await this.run("expunge", `UID EXPUNGE ${uid}`);
      this.own.delete(uid);
      this.registry.expunged.add(uid);
      if (this.view.includes(uid)) this.error(`UID EXPUNGE ${uid}`, "the message is still in the view");
    } else if (roll < 0.95) {
      await this.run("noop", "NOOP");
    } else {
      await this.select();
    }
  }

  /** The end, when no session changes anything: the view fetched again must be the one this session built. */
  async finish(): Promise<void> {
    await this.run("noop", "NOOP");
    const kept = [...this.view];
    if (kept.length === 0) return;
    await this.run("fetch", "FETCH 1:* (UID)");
    if (kept.some((uid, i) => uid !== null && this.view[i] !== uid) || kept.length !== this.view.length) {
      this.error("final FETCH 1:* (UID)", "the session's view and the server's disagree");
    }
  }
}

export async function runImapStress(options: StressOptions): Promise<StressResult> {
  const errors: string[] = [];
  const operations: Record<string, number> = {};
  const registry = new Registry();
  const next = random(options.seed);
  const clients: Array<{ imap: ImapClient; client: StressClient }> = [];
  for (let id = 1; id <= options.clients; id++) {
    const imap = await ImapClient.connect("127.0.0.1", options.port);
    await imap.ok(`LOGIN "${options.user}" "${options.password}"`);
    const client = new StressClient(
      id,
      imap,
      registry,
      errors,
      random(Math.floor(next() * 2 ** 32)),
      operations,
    );
    await client.select();
    clients.push({ imap, client });
  }
  const deadline = Date.now() + options.milliseconds;
  await Promise.all(
    clients.map(async ({ client }) => {
      while (Date.now() < deadline) await client.step();
    }),
  );
  // Once nobody changes anything, a NOOP must bring every view to what the server has.
  await Promise.all(clients.map(({ client }) => client.finish()));
  for (const { imap } of clients) await imap.logout();

  for (const { uid, subject, where } of registry.unchecked) registry.check(uid, subject, where, errors);
  for (const { uid, where } of registry.leftOut) {
    if (!registry.expunged.has(uid))
      errors.push(`${where}: UID ${uid} left out as expunged, yet it never was`);
  }
  const fresh = await ImapClient.connect("127.0.0.1", options.port);
  await fresh.ok(`LOGIN "${options.user}" "${options.password}"`);
  await fresh.ok("SELECT INBOX");
  const listed = await fresh.ok("UID SEARCH ALL");
  const uids = listed.untagged
    .flatMap((r) => /^\* SEARCH((?: \d+)*)$/i.exec(r.text)?.[1]?.trim().split(" ") ?? [])
    .filter((s) => s !== "")
    .map(Number);
  await fresh.logout();
  const expected = [...registry.subjects.keys()]
    .filter((uid) => !registry.expunged.has(uid))
    .sort((a, b) => a - b);
  if (uids.join(",") !== expected.join(",")) {
    errors.push(`final mailbox: UIDs [${uids.join(",")}], expected [${expected.join(",")}]`);
  }
  return { operations, errors, finalCount: uids.length };
}
