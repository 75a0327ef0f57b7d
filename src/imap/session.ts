/**
 * The IMAP session, sans-IO (RFC 9051 states: not authenticated, authenticated, selected, logout).
 * The adapter hands it framed commands and raw lines (SASL responses, IDLE's DONE) one at a time and
 * performs what it returns: bytes to write, and whether to start TLS or close. While the client is in
 * IDLE, and between commands once NOTIFY (RFC 5465, notify.ts) asks for it, changes seen on the
 * store's event bus are written at once through `push`.
 */

import type { Logger } from "pino";
import { type AuthPolicy, authRefusal } from "../auth/policy.js";
import type { AuthContext, AuthenticatedUser, Authenticator, SaslExchange, SaslStep } from "../auth/types.js";
import { defaultImapConfig } from "../config/defaults.js";
import { isMessageEvent } from "../store/events.js";
import type { MailboxEvent } from "../store/types.js";
import {
  CommandFailure,
  CommandRefused,
  type ImapContext,
  type ImapStore,
  type MetadataLimits,
  requireSelected,
  storeFailure,
} from "./commands/context.js";
import { FetchStreamBroken, fetch } from "./commands/fetch.js";
import * as mailboxes from "./commands/mailboxes.js";
import { getMetadata, setMetadata } from "./commands/metadata.js";
import { getQuota, getQuotaRoot } from "./commands/quota.js";
import { findMatches, search, usesModseq } from "./commands/search.js";
import { select } from "./commands/select.js";
import { sort, sortedMatches, thread } from "./commands/sort.js";
import { storeFlags } from "./commands/store-flags.js";
import { type AppendUpload, append, copyOrMove, expunge, writeAppend } from "./commands/transfer.js";
import { DEFAULT_MAX_UPDATE_CONTEXTS, UpdateContexts } from "./commands/updates.js";
import { genUrlAuth, resetKey, urlFetch } from "./commands/urlauth.js";
import {
  DEFAULT_NOTIFY_MAX_PENDING,
  NotifyQueue,
  NotifySettings,
  SUPPORTED_NOTIFY_EVENTS,
} from "./notify.js";
import {
  type Command,
  CommandError,
  type FetchItem,
  parseAppendPrefix,
  parseCommand,
} from "./protocol/command.js";
import type { FrameItem } from "./protocol/framer.js";
import { continuation, tagged, untagged } from "./responses.js";
import { ChangesDuringSelect, type SelectedMailbox, type SyncOptions } from "./selected.js";

export type ImapState = "not-authenticated" | "authenticated" | "selected" | "logout";

/**
 * Response bytes in order. A long answer (FETCH) is a lazy stream: the adapter pulls one piece, writes it
 * with backpressure, then pulls the next, and stops pulling (return()) when the client goes away. The
 * session takes no other input until the stream has ended.
 */
export type ImapOutput = Iterable<Buffer> | AsyncIterable<Buffer>;

export interface ImapResult {
  output: ImapOutput;
  /** "starttls" and "compress": see CommandResult (src/net/command-connection.ts). */
  action: "continue" | "starttls" | "compress" | "close";
  /**
   * The verdict on a streamed literal ("literal-start"); for a synchronizing one the adapter passes it
   * to CommandFramer.resolveLiteral() after writing the output ("+" or the refusal).
   */
  literal?: "accepted" | "refused";
}

/** A result whose output is already complete in memory. */
export interface BufferedResult extends ImapResult {
  output: Buffer[];
}

function isBuffered(result: ImapResult): result is BufferedResult {
  return Array.isArray(result.output);
}

/** `result` with one more response in front of its output. */
function startingWith(first: Buffer, result: ImapResult): ImapResult {
  if (isBuffered(result)) {
    result.output.unshift(first);
    return result;
  }
  const rest = result.output;
  async function* output(): AsyncGenerator<Buffer, void, undefined> {
    yield first;
    yield* rest;
  }
  return { ...result, output: output() };
}

export interface ImapSessionOptions {
  store: ImapStore;
  authenticator: Authenticator;
  remoteAddress: string;
  /** True when the connection is already encrypted (implicit TLS). */
  secure: boolean;
  /** Whether STARTTLS can be offered. */
  tlsAvailable: boolean;
  /** This listener's rule for when LOGIN and AUTHENTICATE are offered and accepted. */
  authPolicy: AuthPolicy;
  hostname?: string;
  /** Largest message APPEND accepts, in octets. */
  maxMessageSize?: number;
  /** SEARCH and SORT RETURN (UPDATE) results kept up to date at once (RFC 5267 §4.3.1). */
  maxUpdateContexts?: number;
  /** METADATA (RFC 5464) limits; by default those of a default [imap] section. */
  metadataLimits?: MetadataLimits;
  /** BAD responses tolerated before the session says BYE. */
  maxErrors?: number;
  /** NOTIFY (RFC 5465): changes that may wait to be sent before NOTIFICATIONOVERFLOW. */
  notifyMaxPending?: number;
  /**
   * Writes unsolicited responses: in IDLE, and between commands under NOTIFY. Returns false when the
   * connection's buffer is full; the session then waits for resumePush().
   */
  push?: (data: Buffer) => unknown;
  logger?: Logger;
}

/**
 * APPEND's messages while they stream in: each written to a blob (the last one receiving), or (refused
 * LITERAL+) thrown away. `stored`: the writers were handed to append(), which stores or aborts them.
 */
type Upload =
  | { kind: "writing"; parts: AppendUpload[]; failure: unknown; stored: boolean }
  | { kind: "refused"; result: BufferedResult };

type SaslPhase =
  | { kind: "exchange"; tag: string; exchange: SaslExchange }
  | { kind: "final"; tag: string; user: AuthenticatedUser };

const ANY_STATE = new Set(["CAPABILITY", "NOOP", "LOGOUT", "ID"]);
const NOT_AUTHENTICATED = new Set(["STARTTLS", "AUTHENTICATE", "LOGIN"]);
const SELECTED = new Set([
  "CLOSE",
  "UNSELECT",
  "EXPUNGE",
  "UID EXPUNGE",
  "SEARCH",
  "SORT",
  "THREAD",
  "FETCH",
  "STORE",
  "COPY",
  "MOVE",
  "CHECK",
  "CANCELUPDATE",
]);
/** RFC 9051 §7.5.1: no EXPUNGE while answering these (their UID forms are fine). */
const NO_EXPUNGE_DURING = new Set(["FETCH", "STORE", "SEARCH", "SORT", "THREAD"]);

const ENABLEABLE = new Set(["CONDSTORE", "QRESYNC", "IMAP4REV2", "UTF8=ACCEPT"]);

/** RFC 7162 §3.1 CONDSTORE enabling commands other than SELECT and EXAMINE, which report HIGHESTMODSEQ anyway. */
function enablesCondstore(command: Command): boolean {
  switch (command.name) {
    case "ENABLE":
      // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
      return command.capabilities.some((c) => c === "CONDSTORE" || c === "QRESYNC");
    case "STATUS":
      return command.items.includes("HIGHESTMODSEQ");
    case "LIST":
      return command.returns.status?.includes("HIGHESTMODSEQ") ?? false;
    case "FETCH":
      return command.changedSince !== null || command.items.some((item) => item.kind === "MODSEQ");
    case "STORE":
      return command.unchangedSince !== null;
    case "SEARCH":
    case "SORT":
    case "THREAD":
      return usesModseq(command.key);
    default:
      return false;
  }
}

export class ImapSession implements ImapContext {
  private stateValue: ImapState = "not-authenticated";
  private secure: boolean;
  private user: AuthenticatedUser | null = null;
  private sasl: SaslPhase | null = null;
  private idleTag: string | null = null;
  /** Unsolicited output being made (IDLE, NOTIFY): a command waits for it, so responses never mix. */
  private pushWork: Promise<void> = Promise.resolve();
  /** No command is running and the last result has been written: NOTIFY may push (RFC 5465 §3.1). */
  private between = false;
  /** The connection's buffer was full at the last push. */
  private pushBlocked = false;
  private readonly notify: NotifyQueue;
  private unsubscribe: (() => void) | null = null;
  /** Set while SELECT or EXAMINE runs: no view is installed then, yet no change may be lost. */
  private selecting: ChangesDuringSelect | null = null;
  private errors = 0;
  /** COMPRESS succeeded on this connection (RFC 4978). */
  private compressed = false;
  private upload: Upload | null = null;
  private readonly enabled = new Set<string>();
  readonly hostname: string;
  private readonly maxErrors: number;
  selected: SelectedMailbox | null = null;
  condstore = false;
  savedUids = new Set<number>();
  readonly maxMessageSize: number;
  readonly metadataLimits: MetadataLimits;
  readonly updates: UpdateContexts;

  constructor(private readonly options: ImapSessionOptions) {
    this.secure = options.secure;
    this.hostname = options.hostname ?? "localhost";
    this.maxErrors = options.maxErrors ?? 20;
    this.maxMessageSize = options.maxMessageSize ?? 50 * 1024 * 1024;
    const defaults = defaultImapConfig();
    this.metadataLimits = options.metadataLimits ?? {
      maxSize: defaults.metadataMaxSize,
      maxEntries: defaults.metadataMaxEntries,
    };
    this.updates = new UpdateContexts(options.maxUpdateContexts ?? DEFAULT_MAX_UPDATE_CONTEXTS);
    this.notify = new NotifyQueue(options.notifyMaxPending ?? DEFAULT_NOTIFY_MAX_PENDING);
  }

  get store(): ImapStore {
    return this.options.store;
  }

  get logger(): Logger | undefined {
    return this.options.logger;
  }

  get userId(): number {
    if (this.user === null) throw new Error("no user is logged in");
    return this.user.userId;
  }

  get userAddress(): string {
    if (this.user === null) throw new Error("no user is logged in");
    return this.user.address;
  }

  /** A user is logged in (whether or not a mailbox is selected). */
  get authenticated(): boolean {
    return this.user !== null && this.stateValue !== "logout";
  }

  get state(): ImapState {
    return this.stateValue;
  }

  get qresync(): boolean {
    return this.enabled.has("QRESYNC");
  }

  get rev2(): boolean {
    return this.enabled.has("IMAP4REV2");
  }

  get utf8Names(): boolean {
    return this.rev2 || this.enabled.has("UTF8=ACCEPT");
  }

  /** True while input lines are SASL responses or IDLE's DONE rather than commands. */
  get lineMode(): boolean {
    return this.sasl !== null || this.idleTag !== null;
  }

  /** True while in IDLE: the adapter may then close the connection on shutdown with a BYE. */
  get idling(): boolean {
    return this.idleTag !== null;
  }

  select(mailbox: SelectedMailbox | null): void {
    // RFC 5267 §4.3: updates cease when the mailbox is no longer selected.
    this.updates.clear();
    if (mailbox !== null) mailbox.beforeRemove = (uids) => this.updates.removed(mailbox, uids);
    this.selected = mailbox;
    this.stateValue =
      mailbox === null ? (this.user === null ? "not-authenticated" : "authenticated") : "selected";
  }

  greeting(): BufferedResult {
    return this.result([
      untagged(`OK [CAPABILITY ${this.capabilities().join(" ")}] ${this.hostname} IMAP server ready`),
    ]);
  }

  capabilities(): string[] {
    const caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"];
    if (this.stateValue === "not-authenticated") {
      if (this.options.tlsAvailable && !this.secure) caps.push("STARTTLS");
      if (authRefusal(this.authContext) !== null) caps.push("LOGINDISABLED");
      for (const mechanism of this.options.authenticator.mechanisms(this.authContext))
        caps.push(`AUTH=${mechanism}`);
      return caps;
    }
    caps.push(
      "NAMESPACE",
      "UNSELECT",
      "UIDPLUS",
      "MOVE",
      "MULTIAPPEND",
      "CATENATE",
      "CHILDREN",
      "SPECIAL-USE",
      "CREATE-SPECIAL-USE",
      "LIST-EXTENDED",
      "LIST-STATUS",
      "STATUS=SIZE",
      "ESEARCH",
      "SEARCHRES",
      "SORT",
      "SORT=DISPLAY",
      "ESORT",
      "PARTIAL",
      "CONTEXT=SEARCH",
      "CONTEXT=SORT",
      "THREAD=ORDEREDSUBJECT",
      "THREAD=REFERENCES",
      "CONDSTORE",
      "QRESYNC",
      "BINARY",
      "OBJECTID",
      "SAVEDATE",
      "PREVIEW",
      "QUOTA",
      "QUOTA=RES-STORAGE",
      "METADATA",
      // RFC 9590: a LIST return option over METADATA entries, so offered only with METADATA.
      "LIST-METADATA",
      "NOTIFY",
      "COMPRESS=DEFLATE",
      "UNAUTHENTICATE",
      "URLAUTH",
      "UTF8=ACCEPT",
      `APPENDLIMIT=${this.maxMessageSize}`,
    );
    return caps;
  }

  async handle(item: FrameItem): Promise<ImapResult> {
    this.between = false;
    await this.pushWork;
    if (this.stateValue === "logout") return { output: [], action: "close" };
    switch (item.kind) {
      case "continue":
        return this.result([continuation("Ready for literal data")]);
      case "error": {
        if (item.reason === "runaway") {
          this.close();
          return this.result(
            [
              untagged(
                "BYE [TOOBIG] the command line is too long and no line end followed; closing the connection",
              ),
            ],
            "close",
          );
        }
        const text =
          item.reason === "line-too-long"
            ? "[TOOBIG] the command line is too long"
            : item.reason === "literal-too-large"
              ? `[TOOBIG] the literal is larger than the ${item.limit ?? 0} octets allowed here`
              : "[TOOBIG] the command has too many literals";
        return this.bad(item.tag, text);
      }
      case "line":
        return this.handleLine(item.line.toString("utf8"));
      case "literal-start":
        return this.beginUpload(item);
      case "literal-data":
        await this.receiveUpload(item.data);
        return this.result([]);
      case "command":
        if (item.frame.streamed !== undefined) return this.finishUpload(item);
        return this.handleFrame(item);
    }
  }

  /**
   * APPEND announced its message: check the command, the mailbox and the size before the client sends
   * it (RFC 7889 §3: too big is NO [TOOBIG], not a "+"), then open the blob writer the bytes go to.
   */
  private async beginUpload(item: Extract<FrameItem, { kind: "literal-start" }>): Promise<ImapResult> {
    // A later MULTIAPPEND message continues the command's upload; a refused one stays refused.
    if (item.part > 0 && this.upload?.kind === "refused") {
      if (!item.sync) return { output: [], action: "continue", literal: "refused" };
      const { result } = this.upload;
      this.upload = null;
      return { ...result, literal: "refused" };
    }
    const earlier = item.part > 0 && this.upload?.kind === "writing" ? this.upload : null;
    if (earlier === null) await this.dropUpload();
    const refuse = async (result: BufferedResult): Promise<ImapResult> => {
      await this.dropUpload();
      if (item.sync) return { ...result, literal: "refused" };
      // RFC 7888 §4: a non-synchronizing literal is on its way regardless; it is read and thrown
      // away, and the answer goes out once the command has been read to its end.
      this.upload = { kind: "refused", result };
      return { output: [], action: "continue", literal: "refused" };
    };
    let parsed: ReturnType<typeof parseCommand>;
    try {
      parsed = parseAppendPrefix({
        lines: [...item.frame.lines, Buffer.alloc(0)],
        literals: [...item.frame.literals, Buffer.alloc(0)],
      });
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      return refuse(this.bad(error.tag ?? item.tag, error.message));
    }
    const { tag, command } = parsed;
    if (command.name !== "APPEND") return refuse(this.bad(tag, "only APPEND may stream a message"));
    if (this.stateValue === "not-authenticated") {
      return refuse(this.bad(tag, "APPEND needs a logged-in session; LOGIN or AUTHENTICATE first"));
    }
    // RFC 4469 §5: a URL that does not resolve, or a result past the limit, may be answered at any
    // literal, here instead of the "+", so the client sends no more of a command that is bound to fail.
    const upload: Extract<Upload, { kind: "writing" }> = earlier ?? {
      kind: "writing",
      parts: [],
      failure: null,
      stored: false,
    };
    this.upload = upload;
    try {
      if (earlier?.failure) throw earlier.failure;
      await writeAppend(this, command, upload.parts, item.size);
    } catch (error) {
      return refuse(this.failure(tag, "APPEND", error));
    }
    return {
      output: item.sync ? [continuation("Ready for literal data")] : [],
      action: "continue",
      literal: "accepted",
    };
  }

  private async receiveUpload(data: Buffer): Promise<void> {
    const upload = this.upload;
    const writer = upload?.kind === "writing" ? upload.parts[upload.parts.length - 1]?.writer : undefined;
    if (upload?.kind !== "writing" || upload.failure !== null || writer === undefined) return;
    try {
      await writer.write(data);
    } catch (error) {
      // Reported when the command ends; the rest of the literal is still read and thrown away.
      upload.failure = error;
    }
  }

  private async finishUpload(item: Extract<FrameItem, { kind: "command" }>): Promise<ImapResult> {
    const upload = this.upload;
    if (upload?.kind === "refused") {
      this.upload = null;
      return upload.result;
    }
    try {
      if (upload?.kind === "writing" && upload.failure !== null) {
        const tag = parseCommand(item.frame).tag;
        return this.failure(tag, "APPEND", upload.failure);
      }
      return await this.handleFrame(item);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      return this.bad(error.tag, error.message);
    } finally {
      await this.dropUpload();
    }
  }

  /** Throws away an upload that was not stored (refused, failed, cut short). */
  private async dropUpload(): Promise<void> {
    const upload = this.upload;
    this.upload = null;
    if (upload?.kind === "writing" && !upload.stored) {
      try {
        for (const part of upload.parts) await part.writer.abort();
      } catch (error) {
        this.logger?.warn({ err: error }, "imap could not discard an unfinished APPEND");
      }
    }
  }

  /** After the TLS handshake: nothing said before it carries over (RFC 9051 §6.2.1). */
  tlsStarted(): void {
    this.secure = true;
  }

  close(): void {
    this.stateValue = "logout";
    this.sasl = null;
    this.idleTag = null;
    this.selected = null;
    // The connection dropped mid-APPEND: the partial message is thrown away.
    void this.dropUpload();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private get authContext(): AuthContext {
    return {
      remoteAddress: this.options.remoteAddress,
      secure: this.secure,
      policy: this.options.authPolicy,
    };
  }

  private result(output: Buffer[], action: ImapResult["action"] = "continue"): BufferedResult {
    return { output, action };
  }

  private bad(tag: string | null, text: string): BufferedResult {
    this.errors++;
    if (this.errors > this.maxErrors) {
      this.close();
      return this.result([untagged("BYE too many invalid commands; closing the connection")], "close");
    }
    return this.result([tag === null ? untagged(`BAD ${text}`) : tagged(tag, "BAD", text)]);
  }

  private async handleFrame(item: Extract<FrameItem, { kind: "command" }>): Promise<ImapResult> {
    let parsed: ReturnType<typeof parseCommand>;
    try {
      parsed = parseCommand(item.frame);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      if (error.badCharset && error.tag !== null) {
        return this.result([
          tagged(
            error.tag,
            "NO",
            `[BADCHARSET (UTF-8 US-ASCII)] ${error.message.replace(/^BADCHARSET: /, "")}`,
          ),
        ]);
      }
      return this.bad(error.tag, `${error.message}`);
    }
    const { tag, command } = parsed;
    const name = command.name;
    if (!ANY_STATE.has(name)) {
      if (this.stateValue === "not-authenticated" && !NOT_AUTHENTICATED.has(name)) {
        return this.bad(tag, `${name} needs a logged-in session; LOGIN or AUTHENTICATE first`);
      }
      if (this.stateValue !== "not-authenticated" && NOT_AUTHENTICATED.has(name)) {
        return this.bad(tag, `${name} is only valid before logging in`);
      }
      if (SELECTED.has(name) && this.stateValue !== "selected") {
        return this.bad(tag, `${name} needs a selected mailbox; SELECT or EXAMINE one first`);
      }
    }
    const sync: SyncOptions = {
      allowExpunge: !NO_EXPUNGE_DURING.has(name) || ("uid" in command && command.uid),
      vanished: this.qresync,
      condstore: this.condstore,
      uid: "uid" in command && command.uid,
    };
    let first: Buffer | null = null;
    try {
      first = await this.enableCondstore(command);
      const result = await this.execute(tag, command, sync);
      if (
        isBuffered(result) &&
        result.action === "continue" &&
        (this.selected !== null || this.notify.hasPending) &&
        !this.lineMode &&
        name !== "SELECT" &&
        name !== "EXAMINE"
      ) {
        // Untagged updates go before the tagged completion (RFC 9051 §7).
        const last = result.output.pop();
        sync.condstore = this.condstore;
        result.output.push(...(await this.syncSelected(sync)));
        if (this.notify.hasPending) result.output.push(...(await this.notify.take(this)));
        if (last !== undefined) result.output.push(last);
      }
      return first === null ? result : startingWith(first, result);
    } catch (error) {
      const failed = this.failure(tag, name, error);
      return first === null ? failed : startingWith(first, failed);
    }
  }

  /**
   * Turns CONDSTORE on for a command that uses it. RFC 7162 §3.1: when that happens with a mailbox
   * selected, the client is told the mailbox's HIGHESTMODSEQ, first, since the command's own responses
   * may carry MODSEQs. Returns that response, or null when none is due.
   */
  private async enableCondstore(command: Command): Promise<Buffer | null> {
    if (this.condstore || !enablesCondstore(command)) return null;
    this.condstore = true;
    if (this.selected === null) return null;
    const { highestModseq } = await this.store.mailboxes.mailboxStatus(this.selected.mailbox.id);
    return untagged(`OK [HIGHESTMODSEQ ${highestModseq}] CONDSTORE enabled`);
  }

  /** The tagged NO or BAD a failed command gets. */
  private failure(tag: string, name: string, error: unknown): BufferedResult {
    if (error instanceof CommandRefused) return this.bad(tag, error.message);
    let refusal: unknown = error;
    if (!(error instanceof CommandFailure)) {
      try {
        storeFailure(error);
      } catch (mapped) {
        refusal = mapped;
      }
    }
    if (refusal instanceof CommandFailure) {
      if (refusal.cause !== undefined)
        this.logger?.warn({ err: refusal.cause, command: name }, "imap command failed in the store");
      return this.result([
        tagged(tag, "NO", `${refusal.code === null ? "" : `[${refusal.code}] `}${refusal.message}`),
      ]);
    }
    this.logger?.error({ err: error, command: name }, "imap command failed");
    return this.result([
      tagged(tag, "NO", "[SERVERBUG] the server could not complete the command; try again later"),
    ]);
  }

  /**
   * A command answered as a stream: its untagged responses as they are produced, then the pending
   * mailbox updates and the tagged completion (RFC 9051 §7), whose response code is only known at the
   * end. A failure part-way ends the stream with a tagged NO after what was already sent; a
   * FetchStreamBroken (a literal cut short) is rethrown so the adapter drops the connection.
   */
  private async *streamed(
    tag: string,
    name: string,
    body: AsyncIterable<Buffer>,
    sync: SyncOptions,
    completion: () => string,
  ): AsyncGenerator<Buffer, void, undefined> {
    let text: string;
    try {
      yield* body;
      text = completion();
    } catch (error) {
      if (error instanceof FetchStreamBroken) throw error;
      yield* this.failure(tag, name, error).output;
      return;
    }
    if (this.selected !== null && this.stateValue !== "logout") {
      sync.condstore = this.condstore;
      yield* await this.syncSelected(sync);
    }
    if (this.notify.hasPending) yield* await this.notify.take(this);
    yield tagged(tag, "OK", text);
  }

  private ok(tag: string, output: Buffer[], text: string, code: string | null = null): BufferedResult {
    output.push(tagged(tag, "OK", code === null ? text : `[${code}] ${text}`));
    return this.result(output);
  }

  private async execute(tag: string, command: Command, sync: SyncOptions): Promise<ImapResult> {
    switch (command.name) {
      case "CAPABILITY":
        return this.ok(
          tag,
          [untagged(`CAPABILITY ${this.capabilities().join(" ")}`)],
          "CAPABILITY completed",
        );
      case "NOOP":
      case "CHECK":
        return this.ok(tag, [], `${command.name} completed`);
      case "LOGOUT":
        this.close();
        return this.result([untagged("BYE logging out"), tagged(tag, "OK", "LOGOUT completed")], "close");
      case "ID":
        // RFC 2971 §3.3: fields about the server; the client's are only logged.
        if (command.params !== null)
          this.logger?.debug({ id: Object.fromEntries(command.params) }, "imap client id");
        return this.ok(tag, [untagged('ID ("name" "mailroom")')], "ID completed");
      case "STARTTLS":
        if (!this.options.tlsAvailable || this.secure)
          return this.bad(tag, "TLS is already active or not available here");
        return this.result([tagged(tag, "OK", "begin TLS negotiation now")], "starttls");
      case "LOGIN":
        return this.login(tag, command.user, command.password);
      case "AUTHENTICATE":
        return this.authenticate(tag, command.mechanism, command.initial);
      case "ENABLE": {
        const enabled: string[] = [];
        for (const capability of command.capabilities) {
          if (!ENABLEABLE.has(capability) || this.enabled.has(capability)) continue;
          this.enabled.add(capability);
          enabled.push(capability);
        }
        return this.ok(tag, [untagged(`ENABLED${enabled.map((c) => ` ${c}`).join("")}`)], "ENABLE completed");
      }
      case "SELECT":
      case "EXAMINE": {
        const changes = new ChangesDuringSelect();
        this.selecting = changes;
        try {
          const { output, code } = await select(this, command);
          // Reported at the next command (or at once in IDLE), as any change seen after SELECT.
          if (this.selected !== null) changes.replayInto(this.selected);
          return this.ok(tag, output, `${command.name} completed`, code);
        } finally {
          this.selecting = null;
        }
      }
      case "CREATE":
        return this.ok(
          tag,
          [],
          "CREATE completed",
          `MAILBOXID (${await mailboxes.create(this, command.mailbox, command.use)})`,
        );
      case "DELETE":
        await mailboxes.remove(this, command.mailbox);
        return this.ok(tag, [], "DELETE completed");
      case "RENAME":
        await mailboxes.rename(this, command.from, command.to);
        return this.ok(tag, [], "RENAME completed");
      case "SUBSCRIBE":
      case "UNSUBSCRIBE":
        await mailboxes.subscribe(this, command.mailbox, command.name === "SUBSCRIBE");
        return this.ok(tag, [], `${command.name} completed`);
      case "LIST":
      case "LSUB": {
        const { output, code } = await mailboxes.list(this, command);
        return this.ok(tag, output, `${command.name} completed`, code);
      }
      case "NAMESPACE":
        return this.ok(tag, mailboxes.namespace(), "NAMESPACE completed");
      case "UNAUTHENTICATE":
        // RFC 8437 §3: back to the state of a new connection — no user, no mailbox, nothing enabled —
        // keeping only what lies under IMAP: TLS and COMPRESS.
        this.select(null);
        this.unsubscribe?.();
        this.unsubscribe = null;
        this.notify.reset();
        this.user = null;
        this.stateValue = "not-authenticated";
        this.enabled.clear();
        this.condstore = false;
        this.savedUids = new Set();
        return this.result([tagged(tag, "OK", "logged out; LOGIN or AUTHENTICATE to go on as someone")]);
      case "COMPRESS":
        // RFC 4978 §3: DEFLATE is the one mechanism; a second COMPRESS is NO [COMPRESSIONACTIVE].
        if (command.mechanism !== "DEFLATE") {
          return this.bad(tag, `unknown compression mechanism ${command.mechanism}; DEFLATE is offered`);
        }
        if (this.compressed) {
          return this.result([tagged(tag, "NO", "[COMPRESSIONACTIVE] DEFLATE is already active")]);
        }
        this.compressed = true;
        return this.result([tagged(tag, "OK", "DEFLATE active")], "compress");
      case "GETQUOTAROOT":
        return this.ok(tag, await getQuotaRoot(this, command.mailbox), "GETQUOTAROOT completed");
      case "GETQUOTA":
        return this.ok(tag, await getQuota(this, command.root), "GETQUOTA completed");
      case "GETMETADATA": {
        const { output, code } = await getMetadata(this, command);
        return this.ok(tag, output, "GETMETADATA completed", code);
      }
      case "SETMETADATA":
        await setMetadata(this, command);
        return this.ok(tag, [], "SETMETADATA completed");
      case "NOTIFY": {
        if (command.groups === null) {
          await this.notify.set(this, NotifySettings.none());
          return this.ok(tag, [], "NOTIFY completed; no notifications from now on");
        }
        const settings = NotifySettings.fromGroups(this, command.groups);
        // RFC 5465 §3.1: an event the server does not offer is refused whole, naming those it does.
        if (settings === null) {
          return this.result([
            tagged(tag, "NO", `[BADEVENT (${SUPPORTED_NOTIFY_EVENTS.join(" ")})] not offered here`),
          ]);
        }
        await this.notify.set(this, settings);
        const output = command.status ? await this.notify.initialStatus(this) : [];
        return this.ok(tag, output, "NOTIFY completed");
      }
      case "GENURLAUTH":
        return this.ok(tag, await genUrlAuth(this, command.urls), "GENURLAUTH completed");
      case "URLFETCH":
        return this.ok(tag, await urlFetch(this, command.urls), "URLFETCH completed");
      case "RESETKEY": {
        const code = await resetKey(this, command.mailbox, command.mechanisms);
        const what = command.mailbox === null ? "every mailbox's key" : "the mailbox's key";
        return this.ok(
          tag,
          [],
          `RESETKEY completed: ${what} reset, URLs signed with it no longer work`,
          code,
        );
      }
      case "SETQUOTA":
        throw new CommandFailure(
          "NOPERM",
          "quotas are set by the administrator (mailroom user quota USER SIZE), not over IMAP",
        );
      case "STATUS":
        return this.ok(tag, await mailboxes.status(this, command), "STATUS completed");
      case "APPEND": {
        const upload = this.upload;
        if (upload?.kind !== "writing")
          return this.ok(tag, [], "APPEND completed", await append(this, command));
        upload.stored = true;
        return this.ok(tag, [], "APPEND completed", await append(this, command, upload.parts));
      }
      case "IDLE": {
        // Changes noted since the last command (e.g. while SELECT ran) are reported now, not only
        // when the next change wakes the IDLE (RFC 9051 §6.3.13).
        const output = [continuation("idling")];
        if (this.selected !== null) output.push(...(await this.syncSelected(idleSync(this))));
        if (this.notify.hasPending) output.push(...(await this.notify.take(this)));
        this.idleTag = tag;
        if (this.selected?.hasPending) this.schedulePush();
        return this.result(output);
      }
      case "CLOSE":
        // RFC 9051 §6.4.1: CLOSE expunges silently; no EXPUNGE responses.
        await expunge(this, null, sync, true);
        this.select(null);
        return this.ok(tag, [], "CLOSE completed");
      case "UNSELECT":
        this.select(null);
        return this.ok(tag, [], "UNSELECT completed");
      case "EXPUNGE":
        return this.ok(tag, await expunge(this, null, sync), "EXPUNGE completed");
      case "UID EXPUNGE":
        return this.ok(tag, await expunge(this, command.set, sync), "UID EXPUNGE completed");
      case "FETCH": {
        const run = fetch(this, command);
        const text = `${command.uid ? "UID " : ""}FETCH completed`;
        return {
          output: this.streamed(tag, command.name, run.responses, sync, () => {
            const code = run.code();
            return code === null ? text : `[${code}] ${text}`;
          }),
          action: "continue",
        };
      }
      case "STORE": {
        const { output, code } = await storeFlags(this, command);
        return this.ok(tag, output, `${command.uid ? "UID " : ""}STORE completed`, code);
      }
      case "SEARCH":
        return this.ok(tag, await search(this, tag, command), `${command.uid ? "UID " : ""}SEARCH completed`);
      case "SORT":
        return this.ok(tag, await sort(this, tag, command), `${command.uid ? "UID " : ""}SORT completed`);
      case "CANCELUPDATE":
        this.updates.cancel(command.tags);
        return this.ok(tag, [], "CANCELUPDATE completed; no further updates for those searches");
      case "THREAD":
        return this.ok(tag, await thread(this, command), `${command.uid ? "UID " : ""}THREAD completed`);
      case "COPY":
      case "MOVE": {
        requireSelected(this);
        const { output, code } = await copyOrMove(this, command, sync);
        return this.ok(tag, output, `${command.uid ? "UID " : ""}${command.name} completed`, code);
      }
    }
  }

  /** The tagged NO for LOGIN or AUTHENTICATE where this listener's policy refuses it, else null. */
  private loginRefusal(tag: string, command: string): BufferedResult | null {
    const refusal = authRefusal(this.authContext);
    if (refusal === null) return null;
    // RFC 9051 §7.1: PRIVACYREQUIRED when the operation needs TLS first; CANNOT when it never works here.
    const text =
      refusal === "needs-tls"
        ? `[PRIVACYREQUIRED] ${command} needs an encrypted connection; use STARTTLS first`
        : "[CANNOT] logins are turned off on this listener; ask the postmaster which port to use";
    return this.result([tagged(tag, "NO", text)]);
  }

  private async login(tag: string, username: string, password: string): Promise<ImapResult> {
    const refusal = this.loginRefusal(tag, "LOGIN");
    if (refusal !== null) return refusal;
    const step = await this.options.authenticator.verifyPassword(username, password, this.authContext);
    return this.finishAuth(tag, step);
  }

  private async authenticate(tag: string, mechanism: string, initial: string | null): Promise<ImapResult> {
    const refusal = this.loginRefusal(tag, mechanism);
    if (refusal !== null) return refusal;
    const exchange = this.options.authenticator.begin(mechanism, this.authContext);
    if (exchange === null) {
      return this.result([
        tagged(tag, "NO", `[CANNOT] mechanism ${mechanism} is not supported; see the AUTH= capabilities`),
      ]);
    }
    let initialBytes: Buffer | null = null;
    if (initial !== null) {
      const decoded = decodeBase64(initial);
      if (decoded === null) return this.bad(tag, "the initial response is not valid base64");
      initialBytes = decoded;
    }
    this.sasl = { kind: "exchange", tag, exchange };
    return this.saslStep(tag, await exchange.start(initialBytes));
  }

  private async saslStep(tag: string, step: SaslStep): Promise<ImapResult> {
    if (step.kind === "challenge") return this.result([continuation(step.data.toString("base64"))]);
    if (step.kind === "success" && step.data !== undefined && step.data.length > 0) {
      // RFC 9051 §6.2.2: additional data with success goes in a final challenge, answered empty.
      this.sasl = { kind: "final", tag, user: step.user };
      return this.result([continuation(step.data.toString("base64"))]);
    }
    this.sasl = null;
    return this.finishAuth(tag, step);
  }

  private finishAuth(tag: string, step: SaslStep): ImapResult {
    if (step.kind === "success") return this.loggedIn(tag, step.user);
    if (step.kind === "challenge")
      return this.result([tagged(tag, "NO", "[AUTHENTICATIONFAILED] authentication failed")]);
    switch (step.reason) {
      case "malformed":
        return this.bad(tag, "the authentication data does not follow the mechanism's format");
      case "throttled":
        return this.result([
          tagged(tag, "NO", "[UNAVAILABLE] too many failed logins from your address; wait and retry"),
        ]);
      case "unavailable":
        return this.result([
          tagged(tag, "NO", "[UNAVAILABLE] authentication is not possible right now; try again later"),
        ]);
      default:
        return this.result([tagged(tag, "NO", "[AUTHENTICATIONFAILED] invalid user name or password")]);
    }
  }

  private loggedIn(tag: string, user: AuthenticatedUser): ImapResult {
    this.user = user;
    this.stateValue = "authenticated";
    this.unsubscribe = this.store.events.subscribe((event) => this.onEvent(event));
    return this.result([
      tagged(tag, "OK", `[CAPABILITY ${this.capabilities().join(" ")}] logged in as ${user.address}`),
    ]);
  }

  private onEvent(event: MailboxEvent): void {
    // Sieve scripts are no IMAP state (their changes are for JMAP push).
    if (this.user === null || event.userId !== this.user.userId || event.kind === "sieve") return;
    const selected = this.selected;
    if (isMessageEvent(event)) {
      this.selecting?.record(event);
      if (selected !== null) {
        selected.observe(event);
        if (event.mailboxId === selected.mailbox.id) this.updates.observe(event.uids);
      }
    }
    // The selected mailbox's waiting changes count against NOTIFY's bound only where NOTIFY would
    // have sent them; otherwise they wait for a command, as without NOTIFY.
    const counted = this.notify.settings?.selected != null ? (selected?.pendingCount ?? 0) : 0;
    this.notify.observe(event, selected?.mailbox.id ?? null, counted);
    if (this.idleTag !== null || (this.between && this.notify.settings !== null)) this.schedulePush();
  }

  /**
   * The adapter has written the last result and no command waits: under NOTIFY, changes are sent
   * from now until the next command arrives (RFC 5465 §3.1 lets the server send them at any time).
   */
  betweenCommands(): void {
    this.between = true;
    if (this.notify.settings !== null) this.schedulePush();
  }

  /** The connection's buffer has room again after push() returned false. */
  resumePush(): void {
    this.pushBlocked = false;
    if (this.between || this.idleTag !== null) this.schedulePush();
  }

  /** Resolves once the unsolicited output being made has been pushed (tests wait on it). */
  get pushSettled(): Promise<void> {
    return this.pushWork;
  }

  /** MessageNew's fetch attributes for the messages just announced (RFC 5465 §5.2), as UID FETCH answers. */
  private async notifyFetch(uids: readonly number[], items: readonly FetchItem[]): Promise<Buffer[]> {
    const withUid = items.some((item) => item.kind === "UID")
      ? [...items]
      : [...items, { kind: "UID" } as const];
    const run = fetch(this, {
      name: "FETCH",
      uid: true,
      set: { kind: "ranges", ranges: uids.map((uid) => ({ start: uid, end: uid })) },
      items: withUid,
      changedSince: null,
      vanished: false,
      partial: null,
    });
    const out: Buffer[] = [];
    for await (const data of run.responses) out.push(data);
    return out;
  }

  /**
   * The selected mailbox's pending updates, then what they change in the updating searches: ADDTO after
   * the EXISTS that numbers the new messages (RFC 5267 §4.3.3).
   */
  private async syncSelected(options: SyncOptions): Promise<Buffer[]> {
    const view = this.selected;
    if (view === null) return [];
    const known = view.highestKnownUid;
    const output = await view.sync(this.store, options);
    const fetchItems = this.notify.settings?.selected?.fetch;
    if (fetchItems != null && view.highestKnownUid > known) {
      const fresh = view.messages.filter((m) => m.uid > known).map((m) => m.uid);
      output.push(...(await this.notifyFetch(fresh, fetchItems)));
    }
    output.push(
      ...(await this.updates.refresh(view, async (key, criteria, only) =>
        criteria === null
          ? (await findMatches(this, key, only)).map((hit) => hit.uid)
          : (await sortedMatches(this, key, criteria)).map((facts) => facts.uid),
      )),
    );
    return output;
  }

  private schedulePush(): void {
    this.pushWork = this.pushWork
      .then(() => this.flushPush())
      .catch((error: unknown) => {
        this.logger?.error({ err: error }, "imap unsolicited update failed");
      });
  }

  /**
   * Sends what may be sent unsolicited now. In IDLE (RFC 2177) the selected mailbox's changes as they
   * happen, expunges included since no command runs; under NOTIFY only the events its selected group
   * names (RFC 5465 §4), and, between commands too, those changes (expunges held back for
   * selected-delayed, §6) and the queued STATUS, LIST and METADATA responses for other mailboxes.
   */
  private async flushPush(): Promise<void> {
    const idling = this.idleTag !== null;
    if (this.stateValue === "logout" || this.pushBlocked || (!idling && !this.between)) return;
    const output: Buffer[] = [];
    const view = this.selected;
    const group = this.notify.settings?.selected ?? null;
    if (view !== null) {
      if (group === null && idling) {
        if (view.hasPending || this.updates.stale) output.push(...(await this.syncSelected(idleSync(this))));
      } else if (group !== null) {
        const only = new Set(this.notify.settings?.selectedKinds());
        if (idling && group.events.has("MessageExpunge")) only.add("expunge");
        if (view.hasPendingOf(only) || this.updates.stale) {
          output.push(...(await this.syncSelected({ ...idleSync(this), only })));
        }
      }
    }
    if (this.notify.hasPending) output.push(...(await this.notify.take(this)));
    for (const data of output) if (this.options.push?.(data) === false) this.pushBlocked = true;
  }

  private async handleLine(line: string): Promise<ImapResult> {
    if (this.idleTag !== null) {
      const tag = this.idleTag;
      await this.pushWork;
      this.idleTag = null;
      const output: Buffer[] = [];
      if (this.selected !== null) {
        output.push(...(await this.syncSelected(idleSync(this))));
      }
      if (line.toUpperCase() !== "DONE") {
        output.push(...this.bad(tag, 'IDLE ends with "DONE"').output);
        return this.result(output);
      }
      output.push(tagged(tag, "OK", "IDLE terminated"));
      return this.result(output);
    }
    const phase = this.sasl;
    if (phase === null) return this.bad(null, "unexpected line");
    if (line === "*") {
      this.sasl = null;
      return this.bad(phase.tag, "authentication cancelled");
    }
    const response = decodeBase64(line);
    if (response === null) {
      this.sasl = null;
      return this.bad(phase.tag, "the response is not valid base64");
    }
    if (phase.kind === "final") {
      this.sasl = null;
      if (response.length !== 0)
        return this.bad(phase.tag, "expected an empty response after the server's final data");
      return this.loggedIn(phase.tag, phase.user);
    }
    return this.saslStep(phase.tag, await phase.exchange.next(response));
  }
}

/** IDLE runs no command, so expunges may be reported (RFC 9051 §7.5.1). */
function idleSync(session: ImapSession): SyncOptions {
  return { allowExpunge: true, vanished: session.qresync, condstore: session.condstore, uid: false };
}

function decodeBase64(text: string): Buffer | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  return Buffer.from(text, "base64");
}
