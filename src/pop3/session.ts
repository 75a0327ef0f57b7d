// The POP3 session, sans-IO: the adapter hands it one line at a time (never two at once) and performs
// what it returns: text to write, message bodies to stream, and whether to start TLS or close. Store
// and authenticator calls are awaited here; sockets are not known here.

import type { Logger } from "pino";
import { type AuthPolicy, authRefusal } from "../auth/policy.js";
import type { AuthContext, AuthenticatedUser, Authenticator, SaslExchange, SaslStep } from "../auth/types.js";
import type { Store } from "../store/types.js";
import { multilineBody, stuffedResponse } from "./body.js";
import { parseCommand, parseNumber } from "./command.js";
import { type LineItem, MAX_COMMAND_LINE, MAX_SASL_LINE } from "./line-reader.js";
import { Maildrop, type MaildropMessage } from "./maildrop.js";
import { err, multiline, ok, quoted, REPLY } from "./replies.js";

export type Pop3State = "authorization" | "transaction" | "closed";

/** In order: status text (CRLF included) and message bodies to stream (already dot-stuffed, terminated). */
export type Pop3Output = string | AsyncIterable<Buffer>;

export interface Pop3Result {
  output: Pop3Output[];
  /** "starttls": write the output, drop anything pipelined, upgrade, then call tlsStarted(). */
  action: "continue" | "starttls" | "close";
}

/** The store parts POP3 uses: INBOX, its messages and bodies, and the maildrop lock. */
export type Pop3Store = Pick<Store, "mailboxes" | "messages" | "blobs" | "locks">;

export interface Pop3SessionOptions {
  store: Pop3Store;
  authenticator: Authenticator;
  remoteAddress: string;
  /** True when the connection is already encrypted (implicit TLS). */
  secure: boolean;
  /** Whether STLS can be offered (a TLS identity is available and the connection is not yet secure). */
  tlsAvailable: boolean;
  /** This listener's rule for when USER/PASS and AUTH are offered and accepted. */
  authPolicy: AuthPolicy;
  hostname?: string;
  /** Bad commands tolerated before the session closes the connection. */
  maxErrors?: number;
  /** Longest command line, CRLF included (RFC 2449 §4: at least 255). */
  maxLineLength?: number;
  /** Longest base64 line of a SASL exchange, CRLF included. */
  maxSaslLineLength?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_ERRORS = 10;

/**
 * Bodies up to this size are read with one call and sent as one buffer; larger ones stream in chunks.
 * Most mail is a few kilobytes, so this covers nearly every RETR without holding much memory.
 */
export const WHOLE_BODY_LIMIT = 256 * 1024;

/** Bodies read ahead for pipelined RETRs (RFC 2449 §6.6 PIPELINING): at most this many, and bytes. */
export const READ_AHEAD_MESSAGES = 16;
export const READ_AHEAD_BYTES = 2 * 1024 * 1024;

interface ReadAhead {
  body: Promise<Buffer>;
  size: number;
}

const AUTHORIZATION_VERBS = new Set(["USER", "PASS", "APOP", "AUTH", "STLS"]);
const TRANSACTION_VERBS = new Set(["STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL"]);

/** Mechanisms that carry the password itself; refused where plaintext is not allowed. */

type SaslPhase =
  | { kind: "exchange"; exchange: SaslExchange }
  /** Success arrived with additional data, sent as a challenge; waiting for the empty response. */
  | { kind: "final"; user: AuthenticatedUser };

export class Pop3Session {
  private stateValue: Pop3State = "authorization";
  private secure: boolean;
  private username: string | null = null;
  private sasl: SaslPhase | null = null;
  private maildrop: Maildrop | null = null;
  private errors = 0;
  private readonly maxErrors: number;
  private readonly maxLineLength: number;
  private readonly maxSaslLineLength: number;
  private readonly hostname: string;
  /** Bodies being read for RETRs the client has already sent, by message number. */
  private readonly readAhead = new Map<number, ReadAhead>();
  private readAheadBytes = 0;

  constructor(private readonly options: Pop3SessionOptions) {
    this.secure = options.secure;
    this.maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
    this.maxLineLength = options.maxLineLength ?? MAX_COMMAND_LINE;
    this.maxSaslLineLength = options.maxSaslLineLength ?? MAX_SASL_LINE;
    this.hostname = options.hostname ?? "localhost";
  }

  /** A SASL exchange is under way: the next line is a response to a challenge. */
  get inSasl(): boolean {
    return this.sasl !== null;
  }

  /** A user is logged in and holds the maildrop. */
  get authenticated(): boolean {
    return this.stateValue === "transaction";
  }

  get state(): Pop3State {
    return this.stateValue;
  }

  /** The longest line the next input may be (CRLF included). */
  get lineLimit(): number {
    return this.sasl === null ? this.maxLineLength : this.maxSaslLineLength;
  }

  /**
   * No timestamp in the greeting: APOP is optional (RFC 1939 §7) and needs the password in clear on the
   * server, which mailroom never keeps, so it is not offered.
   */
  greeting(): Pop3Result {
    return { output: [REPLY.greeting(this.hostname)], action: "continue" };
  }

  async handle(item: LineItem): Promise<Pop3Result> {
    if (this.stateValue === "closed") return { output: [], action: "close" };
    if (item.kind === "runaway") {
      const limit = this.lineLimit;
      // RFC 1939 §6: a connection that ends without QUIT never enters UPDATE, so nothing is deleted.
      await this.close();
      return { output: [REPLY.runaway(limit)], action: "close" };
    }
    if (item.kind === "overlong") {
      const limit = this.lineLimit;
      this.sasl = null;
      return this.fail(REPLY.overlong(limit));
    }
    const line = item.line.toString("utf8");
    if (this.sasl !== null) return this.saslResponse(line);
    const command = parseCommand(line);
    if (this.stateValue === "authorization")
      return this.authorizationCommand(command.verb, command.args, command.rest);
    return this.transactionCommand(command.verb, command.args);
  }

  /**
   * A line the client pipelined behind the one being handled: when it is a RETR of a small message,
   * start reading that body now, so the store's latency overlaps with writing the replies before it.
   * It is only a hint; handle() still checks everything when the line's turn comes.
   */
  readAheadFor(item: LineItem): void {
    if (this.maildrop === null || this.sasl !== null || item.kind !== "line") return;
    if (this.readAhead.size >= READ_AHEAD_MESSAGES) return;
    const command = parseCommand(item.line.toString("latin1"));
    if (command.verb !== "RETR" || command.args.length !== 1) return;
    const number = parseNumber(command.args[0] ?? "");
    if (number !== null) this.startReadAhead(this.maildrop, number);
  }

  private startReadAhead(maildrop: Maildrop, number: number): void {
    const message = number === 0 ? undefined : maildrop.get(number);
    if (message === undefined || message.deleted || this.readAhead.has(number)) return;
    if (this.readAhead.size >= READ_AHEAD_MESSAGES) return;
    if (message.size > WHOLE_BODY_LIMIT || this.readAheadBytes + message.size > READ_AHEAD_BYTES) return;
    const body = this.options.store.blobs.readBlobBytes(message.messageId, message.size);
    // A failed read is reported when its RETR is handled (or never, if the session ends first).
    body.catch(() => undefined);
    this.readAhead.set(number, { body, size: message.size });
    this.readAheadBytes += message.size;
  }

  /** After the TLS handshake: RFC 2595 §4 makes both sides forget what was said before it. */
  tlsStarted(): void {
    this.secure = true;
    this.username = null;
    this.sasl = null;
  }

  /** The connection is gone: release the lock, delete nothing (RFC 1939 §6: no UPDATE without QUIT). */
  async close(): Promise<void> {
    this.stateValue = "closed";
    this.sasl = null;
    this.readAhead.clear();
    this.readAheadBytes = 0;
    const maildrop = this.maildrop;
    this.maildrop = null;
    if (maildrop !== null) await maildrop.release();
  }

  private get authContext(): AuthContext {
    return {
      remoteAddress: this.options.remoteAddress,
      secure: this.secure,
      policy: this.options.authPolicy,
    };
  }

  /** The reply to any login command where this listener's policy refuses it here and now, else null. */
  private loginRefusal(): string | null {
    const refusal = authRefusal(this.authContext);
    if (refusal === "needs-tls") return REPLY.encryptionRequired;
    return refusal === "disabled" ? REPLY.loginDisabled : null;
  }

  private reply(...output: Pop3Output[]): Pop3Result {
    return { output, action: "continue" };
  }

  private fail(text: string): Pop3Result {
    this.errors++;
    if (this.errors >= this.maxErrors) {
      this.close().catch((error: unknown) =>
        this.options.logger?.error({ err: error }, "pop3 could not release the maildrop lock"),
      );
      return { output: [text, REPLY.tooManyErrors], action: "close" };
    }
    return { output: [text], action: "continue" };
  }

  private async authorizationCommand(verb: string, args: string[], rest: string): Promise<Pop3Result> {
    switch (verb) {
      case "CAPA":
        return this.reply(this.capabilities());
      case "QUIT":
        await this.close();
        return { output: [ok(`${this.hostname} mailroom POP3 server signing off`)], action: "close" };
      case "STLS":
        return this.stls();
      case "APOP":
        return this.fail(REPLY.apop);
      case "USER":
        return this.user(args);
      case "PASS":
        return this.pass(rest);
      case "AUTH":
        return this.auth(args);
      default:
        if (TRANSACTION_VERBS.has(verb)) return this.fail(err(`"${verb}" is only valid after login`));
        return this.fail(err(`unknown command${quoted(verb)}; see CAPA for what this server supports`));
    }
  }

  private capabilities(): string {
    const lines = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER"];
    if (this.stateValue === "authorization") {
      if (authRefusal(this.authContext) === null) lines.push("USER");
      const mechanisms = this.options.authenticator.mechanisms(this.authContext);
      if (mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(" ")}`);
      if (!this.secure && this.options.tlsAvailable) lines.push("STLS");
    }
    lines.push("IMPLEMENTATION mailroom");
    return multiline("capability list follows", lines);
  }

  private stls(): Pop3Result {
    if (this.secure) return this.fail(err("TLS is already active on this connection"));
    if (!this.options.tlsAvailable) return this.fail(err("STLS is not available on this server"));
    this.username = null;
    return { output: [ok("begin TLS negotiation")], action: "starttls" };
  }

  private user(args: string[]): Pop3Result {
    const refusal = this.loginRefusal();
    if (refusal !== null) return this.fail(refusal);
    const [name] = args;
    if (name === undefined || args.length > 1) return this.fail(err("usage: USER <address>"));
    this.username = name;
    // RFC 1939 §7 lets USER succeed for any name, so it reveals nothing about which mailboxes exist.
    return this.reply(ok("send your password with PASS"));
  }

  /** RFC 1939 §7: PASS has exactly one argument, so spaces inside it are part of the password. */
  private async pass(password: string): Promise<Pop3Result> {
    const username = this.username;
    this.username = null;
    if (username === null) return this.fail(err("send USER before PASS"));
    const refusal = this.loginRefusal();
    if (refusal !== null) return this.fail(refusal);
    if (password === "") return this.fail(err("usage: PASS <password>; send USER again, then PASS"));
    const step = await this.options.authenticator.verifyPassword(username, password, this.authContext);
    return this.afterStep(step);
  }

  private async auth(args: string[]): Promise<Pop3Result> {
    const [requested, initial] = args;
    if (requested === undefined) {
      // The RFC 1734 form still sent by some clients: list the mechanisms.
      return this.reply(
        multiline("SASL mechanisms follow", this.options.authenticator.mechanisms(this.authContext)),
      );
    }
    if (args.length > 2) return this.fail(err("usage: AUTH <mechanism> [initial-response]"));
    const mechanism = requested.toUpperCase();
    let initialResponse: Buffer | null = null;
    if (initial !== undefined) {
      // RFC 5034 §4: "=" stands for an empty initial response.
      const decoded = initial === "=" ? Buffer.alloc(0) : decodeBase64(initial);
      if (decoded === null) return this.fail(REPLY.saslMalformed);
      initialResponse = decoded;
    }
    const refusal = this.loginRefusal();
    if (refusal !== null) return this.fail(refusal);
    const exchange = this.options.authenticator.begin(mechanism, this.authContext);
    if (exchange === null) {
      return this.fail(err(`SASL mechanism${quoted(mechanism)} is not supported; see CAPA for the list`));
    }
    this.sasl = { kind: "exchange", exchange };
    return this.afterStep(await exchange.start(initialResponse));
  }

  private async saslResponse(line: string): Promise<Pop3Result> {
    const phase = this.sasl;
    if (phase === null) return this.fail(err("no authentication in progress"));
    // RFC 5034 §4: a lone "*" cancels the exchange.
    if (line === "*") {
      this.sasl = null;
      return this.fail(REPLY.saslCancelled);
    }
    const response = decodeBase64(line);
    if (response === null) {
      this.sasl = null;
      return this.fail(REPLY.saslMalformed);
    }
    if (phase.kind === "final") {
      this.sasl = null;
      if (response.length > 0) return this.fail(REPLY.saslMalformed);
      return this.login(phase.user);
    }
    return this.afterStep(await phase.exchange.next(response));
  }

  private async afterStep(step: SaslStep): Promise<Pop3Result> {
    switch (step.kind) {
      case "challenge":
        // RFC 5034 §4: a challenge is "+" SP base64 (an empty challenge leaves the base64 empty).
        return this.reply(`+ ${step.data.toString("base64")}\r\n`);
      case "success":
        if (step.data !== undefined && step.data.length > 0) {
          // POP3 has no way to carry data on +OK, so RFC 4422 §5 has it sent as one more challenge,
          // answered by an empty response, before the outcome.
          this.sasl = { kind: "final", user: step.user };
          return this.reply(`+ ${step.data.toString("base64")}\r\n`);
        }
        this.sasl = null;
        return this.login(step.user);
      case "failure":
        this.sasl = null;
        this.options.logger?.info({ reason: step.reason }, "pop3 login failed");
        switch (step.reason) {
          case "malformed":
            return this.fail(REPLY.saslMalformed);
          case "bad-credentials":
            return this.fail(REPLY.badCredentials);
          case "throttled":
            return this.fail(REPLY.throttled);
          case "unavailable":
            return this.fail(REPLY.authUnavailable);
        }
    }
  }

  private async login(user: AuthenticatedUser): Promise<Pop3Result> {
    let opened: Awaited<ReturnType<typeof Maildrop.open>>;
    try {
      opened = await Maildrop.open(this.options.store, user.userId);
    } catch (error) {
      this.options.logger?.error({ err: error, userId: user.userId }, "pop3 could not open the maildrop");
      return this.fail(REPLY.storeUnavailable);
    }
    if (opened.kind === "in-use") return this.fail(REPLY.inUse);
    if (opened.kind === "no-inbox") return this.fail(REPLY.noInbox);
    if (this.stateValue === "closed") {
      // The connection went away while the store was answering.
      await opened.maildrop.release();
      return { output: [], action: "close" };
    }
    this.maildrop = opened.maildrop;
    this.stateValue = "transaction";
    this.options.logger?.info({ user: user.address, secure: this.secure }, "pop3 login");
    const { count, size } = opened.maildrop.stat();
    return this.reply(ok(`${user.address} has ${count} messages (${size} octets)`));
  }

  private async transactionCommand(verb: string, args: string[]): Promise<Pop3Result> {
    const maildrop = this.maildrop;
    if (maildrop === null) return { output: [], action: "close" };
    switch (verb) {
      case "CAPA":
        return this.reply(this.capabilities());
      case "QUIT":
        return this.quit(maildrop);
      case "NOOP":
        return args.length === 0 ? this.reply(ok("")) : this.fail(err("NOOP takes no arguments"));
      case "STAT": {
        if (args.length > 0) return this.fail(err("STAT takes no arguments"));
        const { count, size } = maildrop.stat();
        return this.reply(ok(`${count} ${size}`));
      }
      case "RSET": {
        if (args.length > 0) return this.fail(err("RSET takes no arguments"));
        maildrop.reset();
        const { count, size } = maildrop.stat();
        return this.reply(ok(`maildrop has ${count} messages (${size} octets)`));
      }
      case "LIST":
        return this.scanListing(maildrop, "LIST", args, (message) => `${message.number} ${message.size}`);
      case "UIDL":
        return this.scanListing(
          maildrop,
          "UIDL",
          args,
          (message) => `${message.number} ${maildrop.uniqueId(message)}`,
        );
      case "DELE": {
        const found = this.messageArgument(maildrop, "DELE", args, 1);
        if (typeof found === "string") return this.fail(found);
        found.deleted = true;
        return this.reply(ok(`message ${found.number} deleted`));
      }
      case "RETR": {
        const ahead = this.takeReadAhead(args);
        const found = this.messageArgument(maildrop, "RETR", args, 1);
        if (typeof found === "string") return this.fail(found);
        // Clients that do not pipeline still fetch in order: the next body is read while this one goes out.
        this.startReadAhead(maildrop, found.number + 1);
        if (ahead !== null || found.size <= WHOLE_BODY_LIMIT) {
          const read = ahead ?? this.options.store.blobs.readBlobBytes(found.messageId, found.size);
          return this.sendWholeMessage(maildrop, found, read);
        }
        return this.sendMessage(maildrop, found, `${found.size} octets`);
      }
      case "TOP": {
        const found = this.messageArgument(maildrop, "TOP", args, 2);
        if (typeof found === "string") return this.fail(found);
        const lines = parseNumber(args[1] ?? "");
        if (lines === null)
          return this.fail(err("usage: TOP <message> <lines>, lines being a number of 0 or more"));
        return this.sendMessage(maildrop, found, "top of message follows", lines);
      }
      default:
        if (AUTHORIZATION_VERBS.has(verb)) return this.fail(err(`"${verb}" is only valid before login`));
        return this.fail(err(`unknown command${quoted(verb)}; see CAPA for what this server supports`));
    }
  }

  private scanListing(
    maildrop: Maildrop,
    verb: "LIST" | "UIDL",
    args: string[],
    format: (message: MaildropMessage) => string,
  ): Pop3Result {
    if (args.length === 0) {
      const lines = maildrop.messages.filter((message) => !message.deleted).map(format);
      const { count, size } = maildrop.stat();
      const status = verb === "LIST" ? `${count} messages (${size} octets)` : "unique-id listing follows";
      return this.reply(multiline(status, lines));
    }
    const found = this.messageArgument(maildrop, verb, args, 1);
    if (typeof found === "string") return this.fail(found);
    return this.reply(ok(format(found)));
  }

  /** The message named by args[0], or the error text to send. */
  private messageArgument(
    maildrop: Maildrop,
    verb: string,
    args: string[],
    expected: number,
  ): MaildropMessage | string {
    const usage = expected === 1 ? `usage: ${verb} <message>` : `usage: ${verb} <message> <lines>`;
    const [first] = args;
    if (first === undefined || args.length !== expected) return err(usage);
    const number = parseNumber(first);
    if (number === null) return err(`${usage}; the message is a number from LIST`);
    const message = number === 0 ? undefined : maildrop.get(number);
    if (message === undefined)
      return err(`no message ${number}; this maildrop has ${maildrop.messages.length}`);
    if (message.deleted) return err(`message ${number} is deleted; RSET undeletes it`);
    return message;
  }

  private takeReadAhead(args: string[]): Promise<Buffer> | null {
    const number = args.length === 1 ? parseNumber(args[0] ?? "") : null;
    const ahead = number === null ? undefined : this.readAhead.get(number);
    if (number === null || ahead === undefined) return null;
    this.readAhead.delete(number);
    this.readAheadBytes -= ahead.size;
    return ahead.body;
  }

  /** RETR of a body read in one piece: status line, stuffed body and terminator go out as one write. */
  private async sendWholeMessage(
    maildrop: Maildrop,
    message: MaildropMessage,
    read: Promise<Buffer>,
  ): Promise<Pop3Result> {
    let body: Buffer;
    try {
      body = await read;
    } catch (error) {
      return this.unreadable(maildrop, message, error);
    }
    const response = stuffedResponse(ok(`${message.size} octets`), body);
    return this.reply(this.markSeenAfter(maildrop, message, oneChunk(response)));
  }

  private async sendMessage(
    maildrop: Maildrop,
    message: MaildropMessage,
    status: string,
    bodyLines?: number,
  ): Promise<Pop3Result> {
    // Read the first chunk before saying +OK: once +OK is out, a failure can only drop the connection.
    let rest: AsyncIterator<Uint8Array>;
    let first: IteratorResult<Uint8Array>;
    try {
      rest = this.options.store.blobs.readBlob(message.messageId)[Symbol.asyncIterator]();
      first = await rest.next();
    } catch (error) {
      return this.unreadable(maildrop, message, error);
    }
    const body = multilineBody(first.done ? null : first.value, rest, bodyLines);
    const output = bodyLines === undefined ? this.markSeenAfter(maildrop, message, body) : body;
    return this.reply(ok(status), output);
  }

  /**
   * A body read failed before +OK. The maildrop is a snapshot, and IMAP sessions may expunge from the
   * same INBOX meanwhile: such a message is gone for good, which is no server failure and no client
   * error; anything else is a temporary failure, told in fixed words (the detail goes to the log).
   */
  private async unreadable(
    maildrop: Maildrop,
    message: MaildropMessage,
    error: unknown,
  ): Promise<Pop3Result> {
    if (await maildrop.expungedMeanwhile(message, error)) {
      this.options.logger?.info(
        { messageId: message.messageId, number: message.number },
        "pop3 message was expunged by another session",
      );
      return this.reply(REPLY.expunged(message.number));
    }
    this.options.logger?.error({ err: error, messageId: message.messageId }, "pop3 could not read a message");
    return this.fail(err(`[SYS/TEMP] message ${message.number} could not be read; try again later`));
  }

  /** Notes the message as retrieved once its whole body has gone out (the maildrop marks it \Seen later). */
  private async *markSeenAfter(
    maildrop: Maildrop,
    message: MaildropMessage,
    body: AsyncIterable<Buffer>,
  ): AsyncGenerator<Buffer> {
    yield* body;
    maildrop.noteRetrieved(message);
  }

  private async quit(maildrop: Maildrop): Promise<Pop3Result> {
    this.stateValue = "closed";
    this.maildrop = null;
    try {
      const deleted = await maildrop.commit();
      return {
        output: [ok(`${this.hostname} mailroom POP3 server signing off (${deleted} messages deleted)`)],
        action: "close",
      };
    } catch (error) {
      this.options.logger?.error({ err: error }, "pop3 could not delete messages at QUIT");
      // RFC 1939 §6: QUIT answers -ERR when the deletions could not be made.
      return {
        output: [
          err(
            "[SYS/TEMP] some deleted messages were not removed; they are still in the maildrop, try again later",
          ),
        ],
        action: "close",
      };
    }
  }
}

async function* oneChunk(chunk: Buffer): AsyncGenerator<Buffer> {
  yield chunk;
}

/** Strict base64 (RFC 4648 §4, with padding): anything else is a malformed SASL response. */
function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, "base64");
}
