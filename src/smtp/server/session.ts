// The SMTP server session, sans-IO: bytes in (`receive`), replies and effects out. It holds no socket;
// the adapter (handler.ts) feeds it one chunk at a time and performs the effects. Policy (recipients,
// storage, authentication) is reached through the DeliveryAgent and Authenticator it was given.

import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { type AuthPolicy, authRefusal } from "../../auth/policy.js";
import type { AuthContext, AuthenticatedUser, Authenticator } from "../../auth/types.js";
import type { SmtpConfig } from "../../config/types.js";
import { formatDateTime, futureReleaseKeyword } from "../../delivery/future-release.js";
import { SigningFailure, submitReceived } from "../../delivery/submit.js";
import { type AcceptedRecipient, type DeliveryAgent, ScriptRefusal } from "../../delivery/types.js";
import { UrlUnavailable } from "../../imap/url-access.js";
import type { BlobRef } from "../../store/types.js";
import { type BlobWriter, StoreError } from "../../store/types.js";
import type { InboundFilter } from "../../trust/filter.js";
import type { InboundTrust, MessageFeed, ReceivedMessage, TrustCheck } from "../../trust/inbound.js";
import { isValidHeloName, type MailboxAddress, parsePath } from "../protocol/address.js";
import { findForbiddenByte, parseCommandLine } from "../protocol/command.js";
import { DataDecoder, LineEndChecker } from "../protocol/data-decoder.js";
import { type MailParameters, mailParameters, parseParams, rcptParameters } from "../protocol/params.js";
import { formatReply, type Reply, reply } from "../protocol/reply.js";
import { receivedHeader, returnPathHeader, rfc5322Date, withProtocol } from "../protocol/trace.js";
import { MAX_AUTH_LINE, SmtpAuthExchange } from "./auth.js";
import { SubmissionHeaders } from "./submission-headers.js";

export type SessionEffect =
  /** Write the replies, then upgrade the connection and call `tlsStarted()`. */
  | { kind: "starttls" }
  /** Write the replies, then close the connection. */
  | { kind: "close" };

export interface SessionOutput {
  /** Formatted replies, CRLF-terminated, to write in order. */
  replies: string[];
  effects: SessionEffect[];
}

export interface TlsInfo {
  protocol: string;
  cipher: string;
}

export type SmtpStage = "mail" | "rcpt" | "data";

/** The verbs that are steps of a mail transaction; a refusal of one is a refusal of (part of) a message. */
const TRANSACTION_STAGES: Readonly<Record<string, SmtpStage>> = {
  MAIL: "mail",
  RCPT: "rcpt",
  DATA: "data",
  BDAT: "data",
  BURL: "data",
};

/** What the session tells its owner about messages (the handler counts them for /metrics). */
export interface SmtpSessionEvents {
  /** A message was committed and 250 is being sent. */
  accepted(): void;
  /** A MAIL, RCPT or message body was answered with a 4xx or 5xx reply. */
  refused(stage: SmtpStage, reply: Reply): void;
}

export interface SmtpSessionOptions {
  /** Told of each accepted and refused message step. */
  events?: SmtpSessionEvents;
  /** This server's name, for the greeting and Received. */
  hostname: string;
  config: SmtpConfig;
  agent: DeliveryAgent;
  authenticator: Authenticator;
  logger: Logger;
  remoteAddress: string;
  /** Set when the connection is already encrypted (implicit TLS). */
  tls: TlsInfo | null;
  /** Whether STARTTLS may be offered on this listener. */
  starttls: boolean;
  /** This listener's rule for when AUTH is offered and accepted. */
  authPolicy: AuthPolicy;
  /** Submission: MAIL is refused until AUTH succeeded (RFC 6409 §4.3 allows requiring it). */
  authRequired: boolean;
  /** A submission listener: missing Date and Message-ID fields are added (RFC 6409 §8). */
  submission?: boolean;
  /** Milliseconds clock for deadlines; Date.now by default. */
  now?: () => number;
  /** SPF/DKIM/DMARC/ARC for mail from other MTAs (never for an authenticated session's mail). */
  trust?: InboundTrust;
  /** The listener's name, for the delivery trace. */
  listener?: string;
  /** Greylisting and rspamd for MX mail (issue 18). */
  filter?: InboundFilter;
  /**
   * RFC 4865 FUTURERELEASE on a submission listener: the longest hold, in seconds. Offered in EHLO,
   * taken from authenticated users only.
   */
  futureRelease?: { maxSeconds: number };
  /** RFC 4468 BURL on a submission listener: reads what an IMAP URL names for the logged-in user. */
  burl?: BurlSource;
}

export interface BurlSource {
  /** The octets `url` names, read as `user` may; throws UrlUnavailable when it does not resolve for them. */
  fetch(user: AuthenticatedUser, url: string): Promise<Buffer>;
}

/** RFC 4468 §6: 5.7.0 where the user may not read the URL, 5.6.6 where there is nothing to read. */
function burlFailure(error: unknown): Reply {
  if (!(error instanceof UrlUnavailable)) {
    return reply(454, "4.6.6", "The URL could not be read just now; try again later");
  }
  const denied = error.reason === "denied" || error.reason === "expired";
  return reply(554, denied ? "5.7.0" : "5.6.6", `BURL: ${error.message}`);
}

type Phase = "greeting" | "command" | "auth" | "data" | "bdat" | "tls-pending" | "closed";

interface Recipient {
  accepted: AcceptedRecipient;
  /** As written, for the Received header. */
  display: string;
  local: boolean;
}

/** Per transaction (MAIL to the end of DATA/BDAT LAST, or RSET). */
interface Envelope {
  sender: MailboxAddress | null;
  params: MailParameters;
  recipients: Recipient[];
  /** BDAT transaction state, once the first chunk arrived. */
  bdat: BdatTransfer | null;
  /** Octets of trace fields this server wrote at the start of the blob. */
  traceLength: number;
  /** Those trace fields again, naming another blob id (for the signed copy). */
  traceFor: (id: string) => Buffer;
  /** The inbound authentication begun at MAIL FROM; null for authenticated or submission mail. */
  trust: TrustCheck | null;
  /** Recipients refused by policy in this transaction, for the delivery trace (bounded by maxRecipients). */
  refused: Array<{ address: string; reply: string; at: Date }>;
  /** Our greylisting passed some recipient (or exempts the client): rspamd's greylist action is not applied again. */
  greylistPassed: boolean;
}

interface BdatTransfer {
  /** Null once the transaction failed: later chunks are read and thrown away. */
  writer: BlobWriter | null;
  /** MX mail with inbound authentication: the body goes through it (to `writer`) as it arrives. */
  feed: MessageFeed | null;
  headers: SubmissionHeaders | null;
  size: number;
  lineEnds: LineEndChecker;
  failure: Reply | null;
  startedAt: number;
}

interface DataTransfer {
  writer: BlobWriter | null;
  feed: MessageFeed | null;
  headers: SubmissionHeaders | null;
  decoder: DataDecoder;
  failure: Reply | null;
  startedAt: number;
}

/** The chunk being read after a BDAT command. */
interface BdatChunk {
  remaining: number;
  last: boolean;
  /** Why this chunk is being read only to be thrown away, if it is. */
  refusal: Reply | null;
}

const ERROR_CODES = new Set([500, 501, 502, 503, 504, 530, 535, 555]);

/**
 * Octets past the line limit read while looking for the end of an over-long command line. A client
 * that sends this much more without a line feed is not speaking SMTP: it is answered and disconnected
 * instead of being read until the command timeout.
 */
export const OVERLONG_LINE_SLACK = 4096;

const HELP_TEXT = [
  "mailroom SMTP server. Commands:",
  "EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
  "See RFC 5321 for their syntax",
];

export class SmtpSession {
  private phase: Phase = "greeting";
  /** The transaction step the reply being sent answers, or null outside MAIL, RCPT and the body. */
  private stage: SmtpStage | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  /** Octets of an over-long command line thrown away so far (0: not in one), and its limit. */
  private discardedOctets = 0;
  private discardLimit = 0;
  private outbox: string[] = [];
  private effects: SessionEffect[] = [];

  private heloName: string | null = null;
  private esmtp = false;
  private tls: TlsInfo | null;
  private user: AuthenticatedUser | null = null;
  private auth: SmtpAuthExchange | null = null;
  private envelope: Envelope | null = null;
  private data: DataTransfer | null = null;
  private bdatChunk: BdatChunk | null = null;
  private transactions = 0;
  private errors = 0;
  private draining = false;

  private readonly now: () => number;
  private readonly greetAt: number;
  private commandDeadline = Number.POSITIVE_INFINITY;
  private dataDeadline = Number.POSITIVE_INFINITY;

  constructor(private readonly options: SmtpSessionOptions) {
    this.now = options.now ?? Date.now;
    this.tls = options.tls;
    this.greetAt = this.now() + options.config.greetingDelay;
  }

  /** Call once when the connection opens. Without a greeting delay, returns the greeting. */
  start(): SessionOutput {
    if (this.options.config.greetingDelay <= 0) this.greet();
    return this.flush();
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  /** Clock time (from `now`) at which `tick()` has something to do, or null. */
  nextDeadline(): number | null {
    switch (this.phase) {
      case "greeting":
        return this.greetAt;
      case "command":
      case "auth":
        return this.envelope?.bdat ? Math.min(this.commandDeadline, this.dataDeadline) : this.commandDeadline;
      case "data":
      case "bdat":
        return this.dataDeadline;
      default:
        return null;
    }
  }

  /** Sends the delayed greeting, or ends the session when its deadline has passed. */
  async tick(): Promise<SessionOutput> {
    const deadline = this.nextDeadline();
    if (deadline === null || this.now() < deadline) return this.flush();
    if (this.phase === "greeting") {
      this.greet();
      return this.flush();
    }
    // RFC 5321 §4.5.3.2: the server may close a connection that is idle past its timeout.
    await this.abortTransfer();
    this.send(reply(421, "4.4.2", `${this.options.hostname} Timeout exceeded, closing connection`));
    this.close();
    return this.flush();
  }

  /** Feeds bytes from the client. Not reentrant: await each call before the next. */
  async receive(chunk: Uint8Array): Promise<SessionOutput> {
    if (this.phase === "closed" || this.phase === "tls-pending") return this.flush();
    if (this.phase === "greeting") {
      // A client that talks before the greeting is not waiting for the server: typical of spam bots.
      this.send(reply(554, "5.5.0", "Protocol error: client sent data before the greeting"));
      this.close();
      return this.flush();
    }
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length > 0 && this.readingInput()) {
      if (this.phase === "data") {
        await this.receiveData();
        this.closeIfDrainedAndIdle();
      } else if (this.phase === "bdat") {
        await this.receiveBdat();
        this.closeIfDrainedAndIdle();
      } else if (!(await this.receiveLine())) {
        break;
      }
    }
    return this.flush();
  }

  /** Closing and STARTTLS stop input processing (and drop what is buffered) in the middle of a chunk. */
  private readingInput(): boolean {
    return this.phase !== "closed" && this.phase !== "tls-pending";
  }

  /** The TLS handshake after STARTTLS completed: RFC 3207 §4.2, forget everything learnt before it. */
  tlsStarted(info: TlsInfo): SessionOutput {
    this.tls = info;
    this.heloName = null;
    this.esmtp = false;
    this.user = null;
    this.envelope = null;
    this.buffer = Buffer.alloc(0);
    this.discardedOctets = 0;
    this.phase = "command";
    this.commandDeadline = this.now() + this.options.config.commandTimeout;
    return this.flush();
  }

  /** Shutting down: finish the transaction in flight, then say goodbye. */
  drain(): SessionOutput {
    this.draining = true;
    if (this.phase === "greeting") this.close();
    else this.closeIfDrainedAndIdle();
    return this.flush();
  }

  /** The connection is gone: throw away a half-received message. */
  async dispose(): Promise<void> {
    await this.abortTransfer();
    this.phase = "closed";
  }

  // ----- input framing -----

  /** Handles one command (or AUTH response) line if a whole one is buffered; false when more is needed. */
  private async receiveLine(): Promise<boolean> {
    const lf = this.buffer.indexOf(0x0a);
    const limit = this.lineLimit();
    if (lf === -1) {
      if (this.discardedOctets > 0 || this.buffer.length > limit) this.discardOverlong(limit);
      return false;
    }
    const raw = this.buffer.subarray(0, lf);
    this.buffer = this.buffer.subarray(lf + 1);
    if (this.discardedOctets > 0 || lf + 1 > limit) {
      const refused = this.discardedOctets > 0 ? this.discardLimit : limit;
      this.discardedOctets = 0;
      // RFC 5321 §4.5.3.1.4: over-long command lines are refused, never executed in part.
      this.send(reply(500, "5.5.6", `Line too long; the limit is ${refused} octets including CRLF`));
      this.afterCommand();
      return true;
    }
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (this.phase === "auth") await this.authResponse(line);
    else await this.command(line);
    this.afterCommand();
    return true;
  }

  /** Drops the buffered part of an over-long line; past the slack, answers and closes at once. */
  private discardOverlong(limit: number): void {
    if (this.discardedOctets === 0) this.discardLimit = limit;
    this.discardedOctets += this.buffer.length;
    this.buffer = Buffer.alloc(0);
    if (this.discardedOctets <= this.discardLimit + OVERLONG_LINE_SLACK) return;
    this.send(
      reply(
        500,
        "5.5.6",
        `Line too long; the limit is ${this.discardLimit} octets including CRLF, and no line end followed; closing connection`,
      ),
    );
    if (this.phase !== "closed") this.close();
  }

  private lineLimit(): number {
    const limit = this.options.config.maxCommandLine;
    if (this.phase === "auth") return Math.max(limit, MAX_AUTH_LINE);
    const start = this.buffer.subarray(0, 5).toString("latin1").toUpperCase();
    return start === "AUTH " ? Math.max(limit, MAX_AUTH_LINE) : limit;
  }

  private afterCommand(): void {
    if (this.phase === "command" || this.phase === "auth") {
      this.commandDeadline = this.now() + this.options.config.commandTimeout;
    }
    if (this.phase === "command") this.closeIfDrainedAndIdle();
  }

  private closeIfDrainedAndIdle(): void {
    if (!this.draining || this.envelope !== null || this.phase !== "command") return;
    this.send(reply(421, "4.3.2", `${this.options.hostname} Service shutting down, try again later`));
    this.close();
  }

  // ----- commands -----

  /** Runs one command with `stage` naming its part of a transaction, so refusals are counted by stage. */
  private async command(bytes: Buffer): Promise<void> {
    const verb = bytes.subarray(0, 4).toString("latin1").toUpperCase();
    this.stage = TRANSACTION_STAGES[verb] ?? null;
    try {
      await this.runCommand(bytes);
    } finally {
      this.stage = null;
    }
  }

  private async runCommand(bytes: Buffer): Promise<void> {
    const verbEnd = bytes.indexOf(0x20);
    const verb = bytes
      .subarray(0, verbEnd === -1 ? bytes.length : verbEnd)
      .toString("latin1")
      .toUpperCase();
    // 8-bit octets are allowed only in MAIL/RCPT arguments, and only under SMTPUTF8 (RFC 6531 §3.3),
    // which MAIL and RCPT check themselves once they know whether SMTPUTF8 applies.
    const eightBitAllowed = this.esmtp && (verb === "MAIL" || verb === "RCPT");
    if (findForbiddenByte(bytes, eightBitAllowed) !== null) {
      this.send(reply(500, "5.5.2", "Command contains NUL, CR or non-ASCII octets"));
      return;
    }
    let line: string;
    try {
      line = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      this.send(reply(500, "5.5.2", "Command is not valid UTF-8"));
      return;
    }
    const eightBit = bytes.some((byte) => byte >= 0x80);
    const { verb: parsedVerb, args } = parseCommandLine(line);
    switch (parsedVerb) {
      case "EHLO":
      case "HELO":
        return this.send(this.hello(parsedVerb, args));
      case "MAIL":
        return this.mail(args, eightBit);
      case "RCPT":
        return this.rcpt(args, eightBit);
      case "DATA":
        return this.dataCommand(args);
      case "BDAT":
        return this.bdatCommand(args);
      case "BURL":
        return this.burlCommand(args);
      case "RSET":
        if (args.trim() !== "") return this.send(reply(501, "5.5.4", "RSET takes no arguments"));
        await this.resetTransaction();
        return this.send(reply(250, "2.0.0", "Ok"));
      case "NOOP":
        return this.send(reply(250, "2.0.0", "Ok"));
      case "QUIT":
        this.send(reply(221, "2.0.0", `${this.options.hostname} Bye`));
        await this.abortTransfer();
        return this.close();
      case "VRFY":
        // RFC 5321 §3.5.3: 252 neither confirms nor denies, so VRFY cannot be used to probe for users.
        return this.send(
          reply(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery"),
        );
      case "EXPN":
        return this.send(reply(502, "5.5.1", "EXPN is not available"));
      case "HELP":
        return this.send(reply(214, "2.0.0", HELP_TEXT));
      case "STARTTLS":
        return this.send(this.startTls(args));
      case "AUTH":
        return this.authCommand(args);
      case "TURN":
      case "ETRN":
      case "SEND":
      case "SOML":
      case "SAML":
        return this.send(reply(502, "5.5.1", `${parsedVerb} is not implemented`));
      default:
        return this.send(reply(500, "5.5.2", "Command not recognized"));
    }
  }

  private hello(verb: "EHLO" | "HELO", args: string): Reply {
    const name = args.trim();
    if (!isValidHeloName(name)) {
      return reply(501, "5.5.4", `Syntax: ${verb} hostname (a domain name or an address literal)`);
    }
    // RFC 5321 §4.1.4: EHLO/HELO mid-session resets the transaction, as RSET does.
    this.discardEnvelope();
    this.heloName = name;
    this.esmtp = verb === "EHLO";
    const first = `${this.options.hostname} Hello ${name}`;
    if (verb === "HELO") return reply(250, null, first);
    const config = this.options.config;
    const lines = [
      first,
      `SIZE ${config.maxMessageSize}`,
      "8BITMIME",
      "PIPELINING",
      "ENHANCEDSTATUSCODES",
      "SMTPUTF8",
      "CHUNKING",
      "BINARYMIME",
      "DSN",
    ];
    if (this.options.starttls && this.tls === null) lines.push("STARTTLS");
    if (this.user === null) {
      const mechanisms = this.options.authenticator.mechanisms(this.authContext());
      if (mechanisms.length > 0) lines.push(`AUTH ${mechanisms.join(" ")}`);
    }
    // RFC 4468 §3: "imap" for URLAUTH URLs, and this server's own, which it reads for its users.
    if (this.options.burl) lines.push(`BURL imap imap://${this.options.hostname}`);
    if (this.futureRelease()) {
      lines.push(futureReleaseKeyword(this.futureRelease()!.maxSeconds, new Date(this.now())));
    }
    lines.push(`LIMITS RCPTMAX=${config.maxRecipients} MAILMAX=${config.maxTransactions}`, "HELP");
    return reply(250, null, lines);
  }

  private async mail(args: string, eightBit: boolean): Promise<void> {
    if (this.heloName === null) return this.send(reply(503, "5.5.1", "Send EHLO or HELO first"));
    if (this.envelope !== null) return this.send(reply(503, "5.5.1", "Nested MAIL command; send RSET first"));
    if (this.options.authRequired && this.user === null) {
      const how =
        authRefusal(this.authContext()) === "needs-tls"
          ? "start TLS with STARTTLS, then log in with AUTH"
          : "log in with AUTH first";
      return this.send(reply(530, "5.7.0", `Authentication required; ${how}`));
    }
    if (this.transactions >= this.options.config.maxTransactions) {
      // RFC 9422 MAILMAX: the advertised transaction limit; later MAIL commands get a temporary 452.
      return this.send(reply(452, "4.5.3", "Too many transactions in this session; reconnect to send more"));
    }
    if (!/^FROM:/i.test(args))
      return this.send(reply(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"));
    const path = parsePath(args.slice(5), { utf8: true, allowBare: this.options.config.allowBareAddresses });
    if (!path.ok) return this.send(reply(501, "5.1.7", `Bad sender address: ${path.error}`));
    if (path.postmaster) return this.send(reply(501, "5.1.7", "Bad sender address: missing @domain"));
    const params = parseParams(path.rest);
    if (!params.ok) return this.send(params.reply);
    if (!this.esmtp && params.value.length > 0) {
      return this.send(reply(555, "5.5.4", "MAIL parameters need EHLO, not HELO"));
    }
    const futureRelease = this.futureRelease();
    if (
      futureRelease &&
      this.user === null &&
      params.value.some(({ keyword }) => keyword === "HOLDFOR" || keyword === "HOLDUNTIL")
    ) {
      // RFC 4865 §3 offers it on submission (RFC 6409), where mail is the authenticated user's.
      return this.send(reply(530, "5.7.0", "Future release needs authentication; log in with AUTH first"));
    }
    const mailParams = mailParameters(
      params.value,
      this.options.config.maxMessageSize,
      futureRelease ? { maxSeconds: futureRelease.maxSeconds, now: new Date(this.now()) } : undefined,
    );
    if (!mailParams.ok) return this.send(mailParams.reply);
    if (eightBit && !mailParams.value.smtputf8) {
      return this.send(reply(553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter"));
    }
    const refusal = await this.senderRefusal(path.mailbox?.routingAddress ?? "");
    if (refusal !== null) return this.send(refusal);
    this.transactions += 1;
    this.envelope = {
      sender: path.mailbox,
      params: mailParams.value,
      recipients: [],
      bdat: null,
      traceLength: 0,
      traceFor: () => Buffer.alloc(0),
      refused: [],
      trust:
        this.options.trust && this.user === null && !this.options.submission
          ? this.options.trust.begin({
              remoteAddress: this.options.remoteAddress,
              helo: this.heloName,
              sender: path.mailbox?.routingAddress ?? "",
            })
          : null,
      greylistPassed: false,
    };
    this.send(reply(250, "2.1.0", "Sender ok"));
  }

  /** RFC 4865 §3: the extension belongs to submission (RFC 6409); the MX listener never offers it. */
  private futureRelease(): { maxSeconds: number } | null {
    return this.options.submission ? (this.options.futureRelease ?? null) : null;
  }

  /** An authenticated user sends only as themselves (the agent's policy); null when allowed. */
  private async senderRefusal(address: string): Promise<Reply | null> {
    const check = this.options.agent.checkSender;
    if (this.user === null || check === undefined) return null;
    try {
      const verdict = await check.call(this.options.agent, address, {
        authenticated: this.user,
        remoteAddress: this.options.remoteAddress,
      });
      return verdict.kind === "reject" ? reply(verdict.code, verdict.enhanced, verdict.text) : null;
    } catch (error) {
      this.options.logger.warn({ err: error, from: address }, "sender check failed");
      return reply(451, "4.3.0", "Temporary failure checking the sender; try again later");
    }
  }

  private async rcpt(args: string, eightBit: boolean): Promise<void> {
    const envelope = this.envelope;
    if (envelope === null) return this.send(reply(503, "5.5.1", "Send MAIL first"));
    if (envelope.bdat !== null) return this.send(reply(503, "5.5.1", "RCPT is not allowed after BDAT"));
    if (!/^TO:/i.test(args)) return this.send(reply(501, "5.5.4", "Syntax: RCPT TO:<address> [parameters]"));
    if (envelope.recipients.length >= this.options.config.maxRecipients) {
      // RFC 5321 §4.5.3.1.10: 452 tells the client to send the remaining recipients in another transaction.
      return this.send(reply(452, "4.5.3", "Too many recipients"));
    }
    if (eightBit && !envelope.params.smtputf8) {
      return this.send(reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8 on MAIL"));
    }
    const listed = envelope.trust === null ? null : await envelope.trust.blocklisted;
    if (listed !== null) {
      this.noteRefusal(envelope, args, `554 5.7.1 ${listed}`);
      return this.send(reply(554, "5.7.1", listed));
    }
    const path = parsePath(args.slice(3), {
      utf8: envelope.params.smtputf8,
      allowBare: this.options.config.allowBareAddresses,
    });
    if (!path.ok) return this.send(reply(501, "5.1.3", `Bad recipient address: ${path.error}`));
    let routingAddress: string;
    let display: string;
    if (path.postmaster) {
      // RFC 5321 §4.5.1: <Postmaster> without a domain reaches this server's postmaster.
      routingAddress = `postmaster@${this.options.hostname.toLowerCase()}`;
      display = "Postmaster";
    } else if (path.mailbox === null) {
      return this.send(reply(501, "5.1.3", "Bad recipient address: <> is only a sender"));
    } else {
      routingAddress = path.mailbox.routingAddress;
      display = path.mailbox.address;
    }
    const params = parseParams(path.rest);
    if (!params.ok) return this.send(params.reply);
    if (!this.esmtp && params.value.length > 0) {
      return this.send(reply(555, "5.5.4", "RCPT parameters need EHLO, not HELO"));
    }
    const dsn = rcptParameters(params.value);
    if (!dsn.ok) return this.send(dsn.reply);
    let verdict: Awaited<ReturnType<DeliveryAgent["checkRecipient"]>>;
    try {
      verdict = await this.options.agent.checkRecipient(routingAddress, {
        authenticated: this.user,
        remoteAddress: this.options.remoteAddress,
      });
    } catch (error) {
      this.options.logger.warn({ err: error, to: routingAddress }, "recipient check failed");
      return this.send(reply(451, "4.3.0", "Temporary failure checking the recipient; try again later"));
    }
    if (verdict.kind === "reject") {
      this.noteRefusal(envelope, routingAddress, `${verdict.code} ${verdict.enhanced} ${verdict.text}`);
      return this.send(reply(verdict.code, verdict.enhanced, verdict.text));
    }
    if (this.options.filter && this.user === null && !this.options.submission) {
      const answer = await this.options.filter.greylist({
        remoteAddress: this.options.remoteAddress,
        sender: envelope.sender?.routingAddress ?? "",
        recipient: routingAddress,
      });
      if (answer.kind === "defer") {
        this.noteRefusal(envelope, routingAddress, `${answer.code} ${answer.enhanced} ${answer.text}`);
        return this.send(reply(answer.code, answer.enhanced, answer.text));
      }
      if (answer.kind === "pass") envelope.greylistPassed = true;
    }
    const accepted: AcceptedRecipient = { address: routingAddress };
    if (dsn.value !== null) accepted.dsn = dsn.value;
    envelope.recipients.push({ accepted, display, local: verdict.kind === "local" });
    this.send(reply(250, "2.1.5", "Recipient ok"));
  }

  /** Keeps a policy refusal for the trace of the message this transaction may still deliver. */
  private noteRefusal(envelope: Envelope, address: string, text: string): void {
    if (envelope.refused.length >= this.options.config.maxRecipients) return;
    const bare = /<([^>]*)>/.exec(address)?.[1] ?? address;
    envelope.refused.push({ address: bare.toLowerCase(), reply: text, at: new Date() });
  }

  private transactionRefusal(): Reply | null {
    const envelope = this.envelope;
    if (envelope === null) return reply(503, "5.5.1", "Send MAIL first");
    // RFC 5321 §3.3 and RFC 2920 §3.1: no accepted recipient means no data, with 554 under pipelining.
    if (envelope.recipients.length === 0) return reply(554, "5.5.1", "No valid recipients");
    return null;
  }

  private async dataCommand(args: string): Promise<void> {
    if (args.trim() !== "") return this.send(reply(501, "5.5.4", "DATA takes no arguments"));
    const refusal = this.transactionRefusal();
    if (refusal !== null) return this.send(refusal);
    const envelope = this.envelope!;
    if (envelope.bdat !== null) return this.send(reply(503, "5.5.1", "DATA is not allowed after BDAT"));
    // RFC 3030 §3: a BINARYMIME body can only be sent with BDAT.
    if (envelope.params.body === "BINARYMIME")
      return this.send(reply(503, "5.5.1", "BODY=BINARYMIME requires BDAT"));
    const opened = await this.openBlob(envelope);
    if ("code" in opened) return this.send(opened);
    const config = this.options.config;
    this.data = {
      ...opened,
      headers: this.submissionHeaders(),
      decoder: new DataDecoder({ maxLine: config.maxDataLine, maxSize: config.maxMessageSize }),
      failure: null,
      startedAt: this.now(),
    };
    this.dataDeadline = this.now() + config.dataTimeout;
    this.phase = "data";
    this.send(reply(354, null, "End data with <CR><LF>.<CR><LF>"));
  }

  private async receiveData(): Promise<void> {
    const transfer = this.data!;
    const progress = transfer.decoder.feed(this.buffer);
    this.buffer = progress.rest;
    if (progress.data.length > 0 && transfer.failure === null && transfer.decoder.error === null) {
      await this.writeBlob(transfer, Buffer.concat(progress.data));
    }
    if (!progress.done) return;
    this.phase = "command";
    this.data = null;
    const decoderError = transfer.decoder.error;
    if (decoderError !== null) {
      transfer.failure = {
        "too-big": reply(
          552,
          "5.3.4",
          `Message too big; the limit is ${this.options.config.maxMessageSize} octets`,
        ),
        "line-too-long": reply(
          500,
          "5.5.2",
          `Line too long; the limit is ${this.options.config.maxDataLine} octets`,
        ),
        "bare-line-end": reply(550, "5.6.11", "Message contains a bare CR or LF; lines must end with CRLF"),
      }[decoderError];
    }
    await this.completeMessage(transfer, transfer.decoder.size);
  }

  private async bdatCommand(args: string): Promise<void> {
    const match = /^([0-9]{1,15})( +LAST)? *$/i.exec(args);
    if (match === null) {
      // Without a chunk size the end of the chunk cannot be found: the octets that follow would be read
      // as commands, so the connection is closed instead.
      return this.refuseBdat(reply(501, "5.5.4", "Syntax: BDAT size [LAST]; closing connection"));
    }
    const size = Number(match[1]);
    const limit = this.options.config.maxMessageSize;
    if (size > limit) {
      // RFC 3030 §2 has a refused chunk read anyway, but one larger than any acceptable message costs
      // more to skip than a reconnect: it is answered before any of it is read, and the session ends.
      return this.refuseBdat(
        reply(552, "5.3.4", `Message too big; the limit is ${limit} octets; closing connection`),
      );
    }
    const last = match[2] !== undefined;
    // RFC 3030 §2: the chunk's octets are read even when the command is refused.
    const refusal = this.transactionRefusal() ?? (await this.startChunks());
    this.bdatChunk = { remaining: size, last, refusal };
    this.phase = "bdat";
    if (size === 0) await this.finishBdatChunk();
  }

  /**
   * The chunked transfer BDAT and BURL add to, opened at the first chunk; the refusal of this chunk when
   * the blob cannot be opened or an earlier chunk failed. Call after transactionRefusal() passed.
   */
  private async startChunks(): Promise<Reply | null> {
    const envelope = this.envelope!;
    if (envelope.bdat !== null) {
      return envelope.bdat.failure === null
        ? null
        : reply(503, "5.5.1", "An earlier BDAT or BURL chunk failed; send RSET and start again");
    }
    const opened = await this.openBlob(envelope);
    const failed = "code" in opened;
    envelope.bdat = {
      writer: failed ? null : opened.writer,
      feed: failed ? null : opened.feed,
      headers: this.submissionHeaders(),
      size: 0,
      lineEnds: new LineEndChecker(),
      failure: failed ? opened : null,
      startedAt: this.now(),
    };
    this.dataDeadline = this.now() + this.options.config.dataTimeout;
    return failed ? opened : null;
  }

  /**
   * BURL (RFC 4468 §3): a chunk of the message fetched from an IMAP URL instead of sent, so a client
   * submits a draft it has already stored without uploading it again. It mixes with BDAT chunks in one
   * transaction; LAST ends the message. A URL that does not resolve fails the whole transaction, as a
   * failed BDAT chunk does.
   */
  private async burlCommand(args: string): Promise<void> {
    const source = this.options.burl;
    if (source === undefined) return this.send(reply(500, "5.5.2", "Command not recognized"));
    const match = /^(\S+)( +LAST)? *$/i.exec(args);
    if (match === null) return this.send(reply(501, "5.5.4", "Syntax: BURL imap-url [LAST]"));
    if (this.user === null) {
      return this.send(reply(530, "5.7.0", "Authentication required: BURL fetches your mail as you"));
    }
    const refusal = this.transactionRefusal() ?? (await this.startChunks());
    if (refusal !== null) return this.send(refusal);
    const transfer = this.envelope!.bdat!;
    const url = match[1] as string;
    let data: Buffer | null = null;
    try {
      data = await source.fetch(this.user, url);
    } catch (error) {
      transfer.failure = burlFailure(error);
      if (!(error instanceof UrlUnavailable)) {
        this.options.logger.warn({ err: error }, "BURL could not read its URL");
      }
      await this.abortWriter(transfer);
    }
    if (data !== null) await this.appendChunk(transfer, data);
    this.bdatChunk = { remaining: 0, last: match[2] !== undefined, refusal: null };
    await this.finishBdatChunk();
  }

  private async refuseBdat(refusal: Reply): Promise<void> {
    this.send(refusal);
    await this.abortTransfer();
    if (this.phase !== "closed") this.close();
  }

  private async receiveBdat(): Promise<void> {
    const chunk = this.bdatChunk!;
    const take = Math.min(chunk.remaining, this.buffer.length);
    const piece = this.buffer.subarray(0, take);
    this.buffer = this.buffer.subarray(take);
    chunk.remaining -= take;
    const transfer = this.envelope?.bdat;
    if (chunk.refusal === null && transfer && transfer.failure === null) {
      await this.appendChunk(transfer, piece);
    }
    if (chunk.remaining === 0) await this.finishBdatChunk();
  }

  /** Adds a BDAT or BURL chunk's octets to the message, or fails the transfer once past the size limit. */
  private async appendChunk(transfer: BdatTransfer, data: Buffer): Promise<void> {
    transfer.size += data.length;
    const limit = this.options.config.maxMessageSize;
    if (transfer.size > limit) {
      transfer.failure = reply(552, "5.3.4", `Message too big; the limit is ${limit} octets`);
      await this.abortWriter(transfer);
      return;
    }
    if (this.envelope!.params.body !== "BINARYMIME") transfer.lineEnds.feed(data);
    await this.writeBlob(transfer, data);
  }

  private async finishBdatChunk(): Promise<void> {
    const chunk = this.bdatChunk!;
    this.bdatChunk = null;
    this.phase = "command";
    const transfer = this.envelope?.bdat;
    if (chunk.refusal !== null || !transfer) {
      this.send(chunk.refusal ?? reply(503, "5.5.1", "Send MAIL first"));
      if (chunk.last && this.envelope?.bdat) this.discardEnvelope();
      return;
    }
    if (!chunk.last) {
      this.send(transfer.failure ?? reply(250, "2.0.0", `${transfer.size} octets received`));
      return;
    }
    if (
      transfer.failure === null &&
      this.envelope!.params.body !== "BINARYMIME" &&
      transfer.lineEnds.finish()
    ) {
      transfer.failure = reply(
        550,
        "5.6.11",
        "Message contains a bare CR or LF; lines must end with CRLF (or use BODY=BINARYMIME)",
      );
    }
    await this.completeMessage(transfer, transfer.size);
  }

  // ----- the message -----

  /**
   * Creates the blob and writes the trace headers, or hands both to the inbound authentication, which
   * writes them with its result at the end; on failure returns the reply to send.
   */
  private async openBlob(
    envelope: Envelope,
  ): Promise<{ writer: BlobWriter; feed: MessageFeed | null } | Reply> {
    let writer: BlobWriter | null = null;
    try {
      writer = await this.options.agent.createBlobWriter();
      const only = envelope.recipients.length === 1 ? envelope.recipients[0]!.display : null;
      const sender = envelope.sender?.address ?? "";
      // RFC 5321 §4.4: Return-Path is added by the final delivery; it is written only when some
      // recipient is local, and the relay strips it before sending onwards.
      const returnPath = envelope.recipients.some((recipient) => recipient.local)
        ? returnPathHeader(sender)
        : "";
      const fields = {
        heloName: this.heloName!,
        remoteAddress: this.options.remoteAddress,
        hostname: this.options.hostname,
        protocol: withProtocol({
          esmtp: this.esmtp,
          utf8: envelope.params.smtputf8,
          tls: this.tls !== null,
          authenticated: this.user !== null,
        }),
        tls: this.tls,
        recipient: only,
        date: new Date(),
      };
      const traceFor = (id: string) => Buffer.from(returnPath + receivedHeader({ ...fields, id }), "utf8");
      const trace = traceFor(writer.id);
      envelope.traceLength = trace.length;
      envelope.traceFor = traceFor;
      if (envelope.trust !== null) return { writer, feed: envelope.trust.receive(writer, trace) };
      await writer.write(trace);
      return { writer, feed: null };
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not start storing a message");
      if (writer !== null) await writer.abort().catch(() => undefined);
      return storeFailureReply(error);
    }
  }

  /** Submission listeners complete the header section; MX mail is stored exactly as received. */
  private submissionHeaders(): SubmissionHeaders | null {
    if (!this.options.submission) return null;
    const hostname = this.options.hostname;
    return new SubmissionHeaders({
      date: () => rfc5322Date(new Date()),
      messageId: () => `<${Date.now().toString(36)}.${randomBytes(9).toString("hex")}@${hostname}>`,
    });
  }

  private async writeBlob(transfer: DataTransfer | BdatTransfer, data: Buffer): Promise<void> {
    const writer = transfer.writer;
    if (writer === null) return;
    const bytes = transfer.headers ? transfer.headers.push(data) : data;
    if (bytes.length === 0) return;
    try {
      await (transfer.feed ?? writer).write(bytes);
    } catch (error) {
      this.options.logger.warn({ err: error }, "writing a message body failed");
      transfer.failure = storeFailureReply(error);
      await this.abortWriter(transfer);
    }
  }

  private async abortWriter(transfer: DataTransfer | BdatTransfer): Promise<void> {
    const feed = transfer.feed;
    transfer.feed = null;
    if (feed !== null) await feed.abort();
    const writer = transfer.writer;
    transfer.writer = null;
    if (writer !== null) await writer.abort().catch(() => undefined);
  }

  /** The end of the data: commit, and reply 250 only once the agent says the message is durable. */
  private async completeMessage(transfer: DataTransfer | BdatTransfer, size: number): Promise<void> {
    this.stage = "data";
    try {
      await this.commitMessage(transfer, size);
    } finally {
      this.stage = null;
    }
  }

  private async commitMessage(transfer: DataTransfer | BdatTransfer, size: number): Promise<void> {
    const envelope = this.envelope!;
    this.envelope = null;
    if (transfer.failure !== null || transfer.writer === null) {
      await this.abortWriter(transfer);
      this.send(
        transfer.failure ?? reply(451, "4.3.0", "Temporary failure storing the message; try again later"),
      );
      return;
    }
    const rest = transfer.headers?.finish();
    if (rest && rest.length > 0) {
      transfer.headers = null;
      await this.writeBlob(transfer, rest);
      if (transfer.writer === null) {
        this.send(
          transfer.failure ?? reply(451, "4.3.0", "Temporary failure storing the message; try again later"),
        );
        return;
      }
    }
    const writer = transfer.writer;
    const feed = transfer.feed;
    try {
      let received: BlobRef;
      // What rspamd reads: the stored message past the fields this server put before it; with inbound
      // authentication that is the message as delivered, without fields that claimed our name.
      let prefixLength = envelope.traceLength;
      let trustJunk = false;
      if (feed === null) {
        received = await writer.finish();
      } else {
        // The inbound authentication writes and finishes the blob, its result before the message.
        const verdict = await feed.finish();
        if (verdict.kind === "reject") {
          await writer.abort().catch(() => undefined);
          this.options.logger.info(
            { from: envelope.sender?.routingAddress ?? "", reason: verdict.text },
            "message refused by the trust policy",
          );
          this.send(reply(verdict.code, verdict.enhanced, verdict.text));
          return;
        }
        received = verdict.blob;
        prefixLength = verdict.prefixLength;
        trustJunk = verdict.junk;
      }
      const scanned = await this.scanMessage(envelope, { blob: received, traceLength: prefixLength });
      if (scanned?.kind === "reject") {
        await writer.abort().catch(() => undefined);
        this.options.logger.info(
          { from: envelope.sender?.routingAddress ?? "", reason: scanned.text },
          "message refused by the spam filter",
        );
        this.send(reply(scanned.code, scanned.enhanced, scanned.text));
        return;
      }
      const spam = scanned?.scan ?? null;
      const outcome = await submitReceived(
        this.options.agent,
        writer,
        {
          blob: received,
          ...(trustJunk || scanned?.junk ? { junk: true } : {}),
          ...(spam !== null ? { spam } : {}),
          sender: envelope.sender?.routingAddress ?? "",
          recipients: envelope.recipients.map((recipient) => recipient.accepted),
          ...(envelope.params.dsn ? { envelopeDsn: envelope.params.dsn } : {}),
          ...(envelope.params.holdUntil ? { holdUntil: envelope.params.holdUntil } : {}),
          receivedAt: new Date(),
          canRefuse: true,
          origin: {
            protocol: "smtp",
            ...(this.options.listener ? { listener: this.options.listener } : {}),
            client: this.options.remoteAddress,
            helo: this.heloName,
            tls: this.tls?.protocol ?? null,
            user: this.user?.address ?? null,
          },
          refused: envelope.refused,
        },
        {
          authenticated: this.user,
          remoteAddress: this.options.remoteAddress,
          traceLength: envelope.traceLength,
          traceFor: envelope.traceFor,
        },
      );
      if (outcome.kind === "refused") {
        this.options.logger.info(
          { user: this.user?.address ?? null, reason: outcome.text },
          "message refused: its header names a sender the user does not own",
        );
        this.send(reply(outcome.code, outcome.enhanced, outcome.text));
        return;
      }
      const { result } = outcome;
      this.options.logger.info(
        {
          messageId: result.messageId,
          from: envelope.sender?.routingAddress ?? "",
          to: envelope.recipients.map((recipient) => recipient.accepted.address),
          size,
          tls: this.tls?.protocol ?? null,
          user: this.user?.address ?? null,
          ms: this.now() - transfer.startedAt,
          ...(spam !== null ? { spamScore: spam.score, spamAction: spam.action } : {}),
        },
        "message accepted",
      );
      this.options.events?.accepted();
      const held = envelope.params.holdUntil;
      this.send(
        reply(
          250,
          "2.0.0",
          held
            ? `Ok: queued as ${result.messageId}, held until ${formatDateTime(held)}`
            : `Ok: queued as ${result.messageId}`,
        ),
      );
    } catch (error) {
      // The feed's scratch blob, and its verification when finish() failed before reaching its end.
      await feed?.abort();
      await writer.abort().catch(() => undefined);
      if (error instanceof ScriptRefusal) {
        this.options.logger.info(
          { from: envelope.sender?.routingAddress ?? "", reason: error.text },
          "message refused by the recipients' Sieve scripts",
        );
        this.send(reply(error.code, error.enhanced, error.text));
        return;
      }
      if (error instanceof SigningFailure) {
        this.options.logger.error({ err: error.reason }, "DKIM signing failed; the message was refused");
        this.send(reply(451, "4.3.0", "Temporary failure signing the message (DKIM); try again later"));
        return;
      }
      this.options.logger.warn({ err: error }, "committing a message failed");
      this.send(storeFailureReply(error));
    }
  }

  /** rspamd's verdict on MX mail (null when there is no filter or this is submission); never rejects. */
  private async scanMessage(
    envelope: Envelope,
    message: ReceivedMessage,
  ): Promise<Awaited<ReturnType<InboundFilter["scan"]>> | null> {
    if (!this.options.filter || this.options.submission) return null;
    return this.options.filter.scan(
      message,
      {
        remoteAddress: this.options.remoteAddress,
        helo: this.heloName ?? "",
        sender: envelope.sender?.routingAddress ?? "",
        recipients: envelope.recipients.map((recipient) => recipient.accepted.address),
        queueId: message.blob.id,
        user: this.user?.address ?? null,
      },
      envelope.greylistPassed,
    );
  }

  private async abortTransfer(): Promise<void> {
    if (this.data !== null) await this.abortWriter(this.data);
    if (this.envelope?.bdat) await this.abortWriter(this.envelope.bdat);
    this.data = null;
    this.bdatChunk = null;
    this.envelope = null;
  }

  private async resetTransaction(): Promise<void> {
    if (this.envelope?.bdat) await this.abortWriter(this.envelope.bdat);
    this.envelope = null;
  }

  /** Drops the envelope without waiting; a BDAT blob in progress is aborted in the background. */
  private discardEnvelope(): void {
    void this.envelope?.bdat?.feed?.abort();
    const writer = this.envelope?.bdat?.writer;
    if (writer) writer.abort().catch(() => undefined);
    this.envelope = null;
  }

  // ----- STARTTLS and AUTH -----

  private startTls(args: string): Reply {
    if (args.trim() !== "") return reply(501, "5.5.4", "STARTTLS takes no arguments");
    if (!this.options.starttls) return reply(502, "5.5.1", "STARTTLS is not offered here");
    if (this.tls !== null) return reply(503, "5.5.1", "TLS is already active");
    if (this.user !== null) return reply(503, "5.5.1", "STARTTLS is not allowed after AUTH");
    if (this.envelope !== null) return reply(503, "5.5.1", "STARTTLS is not allowed during a transaction");
    // RFC 3207 §4.2 / §6: whatever the client sent after STARTTLS in plaintext is thrown away, so nothing
    // injected before the handshake can be taken as a command sent over TLS.
    this.buffer = Buffer.alloc(0);
    this.phase = "tls-pending";
    this.effects.push({ kind: "starttls" });
    return reply(220, "2.0.0", "Ready to start TLS");
  }

  private authContext(): AuthContext {
    return {
      remoteAddress: this.options.remoteAddress,
      secure: this.tls !== null,
      policy: this.options.authPolicy,
    };
  }

  private async authCommand(args: string): Promise<void> {
    if (!this.esmtp) return this.send(reply(503, "5.5.1", "Send EHLO first"));
    if (this.user !== null) return this.send(reply(503, "5.5.1", "Already authenticated"));
    if (this.envelope !== null)
      return this.send(reply(503, "5.5.1", "AUTH is not allowed during a transaction"));
    const { exchange, progress } = await SmtpAuthExchange.begin(
      args,
      this.options.authenticator,
      this.authContext(),
    );
    this.auth = exchange;
    this.authProgress(progress);
  }

  private async authResponse(bytes: Buffer): Promise<void> {
    const exchange = this.auth!;
    this.authProgress(await exchange.respond(bytes.toString("latin1")));
  }

  private authProgress(progress: Awaited<ReturnType<SmtpAuthExchange["respond"]>>): void {
    if (progress.kind === "continue") {
      this.phase = "auth";
    } else {
      this.phase = "command";
      this.auth = null;
      if (progress.user !== null) this.user = progress.user;
    }
    this.send(progress.reply);
  }

  // ----- output -----

  private greet(): void {
    this.phase = "command";
    this.commandDeadline = this.now() + this.options.config.commandTimeout;
    this.send(reply(220, null, `${this.options.hostname} ESMTP mailroom`));
  }

  private send(value: Reply): void {
    this.outbox.push(formatReply(value));
    if (this.stage !== null && value.code >= 400) this.options.events?.refused(this.stage, value);
    if (!ERROR_CODES.has(value.code)) return;
    this.errors += 1;
    if (this.errors >= this.options.config.maxErrors && this.phase !== "closed") {
      this.outbox.push(
        formatReply(reply(421, "4.7.0", `${this.options.hostname} Too many errors, closing connection`)),
      );
      this.discardEnvelope();
      this.close();
    }
  }

  private close(): void {
    this.phase = "closed";
    this.buffer = Buffer.alloc(0);
    this.effects.push({ kind: "close" });
  }

  private flush(): SessionOutput {
    const output = { replies: this.outbox, effects: this.effects };
    this.outbox = [];
    this.effects = [];
    return output;
  }
}

function storeFailureReply(error: unknown): Reply {
  if (error instanceof StoreError && error.code === "full")
    return reply(452, "4.3.1", "Insufficient system storage");
  return reply(451, "4.3.0", "Temporary failure storing the message; try again later");
}
