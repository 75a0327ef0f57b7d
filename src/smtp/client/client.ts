// The SMTP client (RFC 5321) used by `mailroom send`, `mailroom sendmail` and the relay: connects,
// negotiates EHLO/STARTTLS/AUTH, and runs transactions with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
// CHUNKING and DSN where the server offers them.

import { isIP } from "node:net";
import type { Readable } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import { type AuthChannel, authenticate, chooseMechanism } from "./auth.js";
import { DotStuffer } from "./dot-stuff.js";
import { checkAddress, mailCommand, needsSmtpUtf8, rcptCommand, sizeLimit } from "./params.js";
import { parseExtensions, type RawReply, toReply } from "./reply-parser.js";
import {
  type ClientEnvelope,
  type ClientStage,
  formatClientReply,
  isCertificateFailure,
  type RecipientOutcome,
  type Reply,
  type SendResult,
  SmtpCertificateError,
  SmtpClientError,
  type SmtpClientOptions,
  type SmtpConnection,
} from "./types.js";
import { openSocket, Wire, WireError } from "./wire.js";

export * from "./types.js";

/** RFC 5321 §4.5.3.2: 5 minutes for most replies, 10 after the final dot; connecting gets less. */
const DEFAULT_TIMEOUTS = { connect: 30_000, command: 300_000, dataEnd: 600_000 };
/** BDAT chunk size: big enough to keep round trips rare, small enough to bound memory for streams. */
const BDAT_CHUNK = 1024 * 1024;

const isSuccess = (reply: RawReply) => reply.code >= 200 && reply.code < 300;

function tlsOptionsFor(options: SmtpClientOptions): ConnectionOptions {
  return {
    ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    rejectUnauthorized: options.tls !== "opportunistic",
    ...options.tlsOptions,
  };
}

class Connection implements SmtpConnection {
  extensions: ReadonlyMap<string, string> = new Map();
  greeting: Reply = { code: 0, enhanced: null, text: "" };
  private busy = false;
  private readonly server: string;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;

  constructor(
    private readonly wire: Wire,
    private readonly options: SmtpClientOptions,
  ) {
    this.server = `${options.host}:${options.port}`;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  }

  get secure(): boolean {
    return this.wire.isTls;
  }

  async open(): Promise<void> {
    const greeting = await this.read("greeting");
    this.greeting = toReply(greeting);
    if (greeting.code !== 220) {
      // RFC 5321 §3.1: a 554 greeting means "no service here"; QUIT and leave.
      this.sayQuit();
      throw this.refusal("greeting", greeting, "refused the connection");
    }
    await this.hello();
    const tls = this.options.tls;
    if ((tls === "starttls" || tls === "opportunistic") && !this.wire.isTls) await this.startTls(tls);
    if (this.options.auth) {
      const mechanism = chooseMechanism(this.extensions.get("AUTH"), this.options.auth.mechanism);
      const channel: AuthChannel = {
        exchange: async (line, shown) => {
          this.wire.writeLines([line], [shown]);
          return this.read("auth");
        },
      };
      await authenticate(channel, this.options.auth, mechanism);
    }
  }

  async send(envelope: ClientEnvelope, body: Buffer | (() => Readable)): Promise<SendResult> {
    return this.exclusive(() => this.transaction(envelope, body));
  }

  async reset(): Promise<void> {
    await this.exclusive(async () => {
      const reply = await this.command("RSET", "mail");
      if (!isSuccess(reply)) throw this.refusal("mail", reply, "refused RSET");
    });
  }

  async quit(): Promise<void> {
    if (!this.wire.isOpen) return;
    try {
      this.wire.writeLines(["QUIT"]);
      await this.wire.next(this.timeouts.command);
    } catch {
      // The transactions' outcomes are already known; a QUIT that goes unanswered changes none of them.
    } finally {
      this.wire.end();
    }
  }

  destroy(): void {
    this.wire.destroy();
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error("SmtpConnection: one command sequence at a time; await the previous call");
    if (!this.wire.isOpen)
      throw new SmtpClientError(`the connection to ${this.server} is closed`, "mail", null, true);
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  private async hello(): Promise<void> {
    const ehlo = await this.command(`EHLO ${this.options.heloName}`, "ehlo");
    if (ehlo.code === 250) {
      this.extensions = parseExtensions(ehlo);
      return;
    }
    if (ehlo.code < 500) throw this.refusal("ehlo", ehlo, "refused EHLO");
    // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall back to HELO (no extensions).
    const helo = await this.command(`HELO ${this.options.heloName}`, "ehlo");
    if (helo.code !== 250) throw this.refusal("ehlo", helo, "refused HELO");
    this.extensions = new Map();
  }

  private async startTls(mode: "starttls" | "opportunistic"): Promise<void> {
    if (!this.extensions.has("STARTTLS")) {
      if (mode === "opportunistic") return;
      throw new SmtpClientError(
        `${this.server} does not offer STARTTLS; use --tls implicit for a TLS port, or --tls none to send in the clear`,
        "starttls",
        null,
        false,
      );
    }
    const reply = await this.command("STARTTLS", "starttls");
    if (reply.code !== 220) {
      if (mode === "opportunistic") return;
      throw this.refusal("starttls", reply, "refused STARTTLS");
    }
    try {
      await this.wire.startTls(tlsOptionsFor(this.options), this.timeouts.connect);
    } catch (error) {
      this.wire.destroy();
      throw tlsFailure(this.server, error);
    }
    // RFC 3207 §4.2: everything learnt before TLS is forgotten; ask again.
    this.extensions = new Map();
    await this.hello();
  }

  private async transaction(envelope: ClientEnvelope, body: Buffer | (() => Readable)): Promise<SendResult> {
    const problem =
      (envelope.to.length === 0 ? "the envelope has no recipients" : null) ??
      (envelope.from === "" ? null : checkAddress(envelope.from)) ??
      envelope.to.map((recipient) => checkAddress(recipient.address)).find((each) => each !== null) ??
      null;
    if (problem) throw new SmtpClientError(`not sent: ${problem}`, "mail", null, false);
    const smtputf8 = needsSmtpUtf8(envelope);
    if (smtputf8 && !this.extensions.has("SMTPUTF8")) {
      // RFC 6531 §3.2: UTF-8 addresses go only to a server that offers SMTPUTF8.
      throw new SmtpClientError(
        `${this.server} does not offer SMTPUTF8, which the non-ASCII addresses of this message need`,
        "mail",
        null,
        false,
      );
    }
    const size = Buffer.isBuffer(body) ? body.length : null;
    const limit = sizeLimit(this.extensions);
    if (size !== null && limit !== null && size > limit) {
      // RFC 1870 §6: a client that knows the message is too big does not send it.
      throw new SmtpClientError(
        `the message (${size} bytes) is larger than ${this.server} accepts (SIZE ${limit})`,
        "mail",
        null,
        false,
      );
    }
    const chunking = this.extensions.has("CHUNKING");
    const mail = mailCommand(envelope, { extensions: this.extensions, size, smtputf8 });
    const rcpts = envelope.to.map((recipient) => rcptCommand(recipient, this.extensions));

    let mailReply: RawReply;
    const rcptReplies: RawReply[] = [];
    let dataReply: RawReply | null = null;
    if (this.extensions.has("PIPELINING")) {
      // RFC 2920 §3.1: MAIL, the RCPTs and DATA may go in one write; DATA is last in the group.
      this.wire.writeLines([mail, ...rcpts, ...(chunking ? [] : ["DATA"])]);
      mailReply = await this.read("mail");
      for (const _ of rcpts) rcptReplies.push(await this.read("rcpt"));
      if (!chunking) dataReply = await this.read("data");
    } else {
      mailReply = await this.command(mail, "mail");
      if (!isSuccess(mailReply)) throw this.refusal("mail", mailReply, "refused the sender");
      for (const rcpt of rcpts) rcptReplies.push(await this.command(rcpt, "rcpt"));
    }
    const recipients: RecipientOutcome[] = envelope.to.map((recipient, index) => {
      const raw = rcptReplies[index] ?? { code: 554, lines: ["no reply"] };
      return {
        address: recipient.address,
        reply: toReply(raw),
        accepted: raw.code === 250 || raw.code === 251,
      };
    });
    const anyAccepted = recipients.some((outcome) => outcome.accepted);
    if (dataReply?.code === 354 && (!isSuccess(mailReply) || !anyAccepted)) {
      // RFC 2920 §3.1: DATA accepted although nothing can be delivered; end it with an empty message.
      this.wire.writeRaw(Buffer.from(".\r\n"));
      await this.read("data");
    }
    if (!isSuccess(mailReply)) throw this.refusal("mail", mailReply, "refused the sender");
    if (!anyAccepted) {
      await this.abandon();
      return { recipients, data: null };
    }
    if (!chunking && dataReply === null) dataReply = await this.command("DATA", "data");
    if (dataReply !== null && dataReply.code !== 354) {
      await this.abandon();
      throw this.refusal("data", dataReply, "refused DATA");
    }
    const final = chunking ? await this.sendBdat(body) : await this.sendData(body);
    if (!isSuccess(final)) {
      if (chunking) await this.abandon();
      throw this.refusal("data", final, "refused the message");
    }
    return { recipients, data: toReply(final) };
  }

  private async sendData(body: Buffer | (() => Readable)): Promise<RawReply> {
    const stuffer = new DotStuffer();
    if (Buffer.isBuffer(body)) {
      // Body and terminator in one write: with Nagle off each write is a packet (and a syscall) of its own.
      await this.writeBody(Buffer.concat([stuffer.push(body), stuffer.end()]));
      return this.read("data", this.timeouts.dataEnd);
    }
    await this.streamBody(body, async (chunk) => {
      await this.writeBody(stuffer.push(chunk));
      return true;
    });
    await this.writeBody(stuffer.end());
    return this.read("data", this.timeouts.dataEnd);
  }

  /** RFC 3030: BDAT sends the body as sized chunks, no dot-stuffing, binary-safe; the last says LAST. */
  private async sendBdat(body: Buffer | (() => Readable)): Promise<RawReply> {
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const sendChunk = async (last: boolean): Promise<RawReply> => {
      const chunk = Buffer.concat(pending, pendingSize);
      pending = [];
      pendingSize = 0;
      const command = `BDAT ${chunk.length}${last ? " LAST" : ""}`;
      this.wire.writeLines([command]);
      await this.writeBody(chunk);
      return this.read("data", last ? this.timeouts.dataEnd : this.timeouts.command);
    };
    let refusal: RawReply | null = null;
    await this.streamBody(body, async (data) => {
      let rest = data;
      while (rest.length > 0 && refusal === null) {
        const take = Math.min(rest.length, BDAT_CHUNK - pendingSize);
        pending.push(rest.subarray(0, take));
        pendingSize += take;
        rest = rest.subarray(take);
        if (pendingSize === BDAT_CHUNK) {
          const reply = await sendChunk(false);
          if (!isSuccess(reply)) refusal = reply;
        }
      }
      return refusal === null;
    });
    return refusal ?? sendChunk(true);
  }

  /** Feeds the body to `write` chunk by chunk; `write` returns false to stop early. */
  private async streamBody(
    body: Buffer | (() => Readable),
    write: (chunk: Buffer) => Promise<boolean>,
  ): Promise<void> {
    if (Buffer.isBuffer(body)) {
      await write(body);
      return;
    }
    const stream = body();
    try {
      for await (const chunk of stream) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        if (!(await write(bytes))) break;
      }
    } catch (error) {
      if (error instanceof SmtpClientError) throw error;
      // The server has part of a message; ending it with a dot would deliver it cut short, so drop the
      // connection instead (RFC 5321 §3.3: a transaction without its final dot is discarded).
      this.wire.destroy();
      throw new SmtpClientError(
        `reading the message failed, so the transaction was abandoned: ${(error as Error).message}`,
        "data",
        null,
        true,
      );
    } finally {
      stream.destroy();
    }
  }

  private async writeBody(bytes: Buffer): Promise<void> {
    try {
      await this.wire.writeBody(bytes, this.timeouts.command);
    } catch (error) {
      throw this.lost("data", error);
    }
  }

  /** RSET after a transaction that cannot go on, so the connection is ready for the next one. */
  private async abandon(): Promise<void> {
    try {
      await this.command("RSET", "mail");
    } catch {
      // A connection that cannot even RSET is closed by now; the caller's outcome stands.
    }
  }

  private async command(line: string, stage: ClientStage, timeout?: number): Promise<RawReply> {
    this.wire.writeLines([line]);
    return this.read(stage, timeout);
  }

  private async read(stage: ClientStage, timeout = this.timeouts.command): Promise<RawReply> {
    try {
      return await this.wire.next(timeout);
    } catch (error) {
      throw this.lost(stage, error);
    }
  }

  private lost(stage: ClientStage, error: unknown): SmtpClientError {
    if (!(error instanceof WireError)) return error as SmtpClientError;
    return new SmtpClientError(`${this.server}: ${error.message} (during ${stage})`, stage, null, true);
  }

  private refusal(stage: ClientStage, raw: RawReply, what: string): SmtpClientError {
    const reply = toReply(raw);
    return new SmtpClientError(
      `${this.server} ${what}: ${formatClientReply(reply)}`,
      stage,
      reply,
      raw.code < 500,
    );
  }

  private sayQuit(): void {
    this.wire.writeLines(["QUIT"]);
    this.wire.end();
  }
}

/** Temporary, as a relay treats it (the server may fix its certificate); marked so a person can be told. */
function tlsFailure(server: string, error: unknown): SmtpClientError {
  const message = `TLS with ${server} failed: ${(error as Error).message}`;
  return isCertificateFailure(error)
    ? Object.assign(new SmtpCertificateError(message, "tls", null, true), {
        certificateCode: String((error as NodeJS.ErrnoException).code),
      })
    : new SmtpClientError(message, "tls", null, true);
}

/** Connects, reads the greeting, says EHLO, starts TLS and authenticates as the options ask. */
export async function connectSmtp(options: SmtpClientOptions): Promise<SmtpConnection> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const server = `${options.host}:${options.port}`;
  let socket: Awaited<ReturnType<typeof openSocket>>;
  try {
    socket = await openSocket(
      options.host,
      options.port,
      options.tls === "implicit" ? tlsOptionsFor(options) : null,
      timeouts.connect,
    );
  } catch (error) {
    if (options.tls === "implicit" && isCertificateFailure(error)) throw tlsFailure(server, error);
    const stage = options.tls === "implicit" ? "tls" : "connect";
    throw new SmtpClientError(`cannot connect to ${server}: ${(error as Error).message}`, stage, null, true);
  }
  const connection = new Connection(new Wire(socket, options.onTranscript), options);
  try {
    await connection.open();
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return connection;
}
