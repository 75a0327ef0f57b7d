// `mailroom send`: compose a message and hand it to a server (--server) or straight to each recipient
// domain's MX hosts. Shares the submission and the reporting of outcomes with `mailroom sendmail`.

import { Resolver } from "node:dns/promises";
import { access, constants, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { splitAddress } from "../delivery/route.js";
import { addressOf, parseAddresses } from "../mail/address-list.js";
import { composeMessage } from "../mail/compose.js";
import {
  type ClientEnvelope,
  type ClientTls,
  connectSmtp,
  formatClientReply,
  type SendResult,
  SmtpCertificateError,
  SmtpClientError,
  type SmtpClientOptions,
  type SmtpConnection,
} from "../smtp/client/client.js";
import { routeDomain } from "../smtp/client/direct.js";
import { checkAddress } from "../smtp/client/params.js";
import { usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { promptHidden } from "./prompt.js";

const HELP_COMMAND = "mailroom send --help";

/** The largest message read from stdin: a bound on memory, far above what mail servers accept. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

const HELP = `Usage: mailroom send --from ADDRESS --to ADDRESS [options]

Compose a message and send it: to --server, or without it directly to each recipient domain's mail
servers (MX records, port 25, STARTTLS when offered). The body is typed at the terminal (end it with a
line holding only "." or with Ctrl-D) or read from stdin.

Options:
  --from ADDRESS          sender, "alice@example.org" or "Alice <alice@example.org>"
  --to ADDRESS            recipient (repeat for more, or separate with commas)
  --cc ADDRESS            copy recipient (repeatable)
  --subject TEXT          subject line
  --attach FILE           attach a file (repeatable); its content type comes from its name
  --server HOST[:PORT]    submit to this server instead of the MX hosts (port 25 by default,
                          465 with --tls implicit); use port 587 for a submission service
  --tls MODE              starttls (required, certificate verified), implicit (TLS from the start),
                          none; default: starttls with --user, else STARTTLS when offered
  --ca-file FILE          trust this PEM certificate for --server (e.g. a mailroom's self-signed
                          data/tls/cert.pem) instead of the system's certificate authorities
  --user NAME             authenticate (SCRAM-SHA-256, PLAIN or LOGIN, the best offered)
  --password-stdin        read the password from the first line of stdin (the body follows it)
  -v, --verbose           print the SMTP dialogue on stderr (passwords masked)
  -h, --help              show this help

Exit status: 0 all recipients accepted, 1 some refused (each refusal is printed with the server's reply) or
the server's certificate is not trusted,
75 a temporary failure (try again later), 64 a usage error.

Test and advanced knobs (environment):
  MAILROOM_SEND_RESOLVER=HOST:PORT   DNS server for MX lookups instead of the system's
  MAILROOM_SEND_MX_PORT=PORT         port of the MX hosts instead of 25
`;

const sendOptions = {
  from: { type: "string" },
  to: { type: "string", multiple: true },
  cc: { type: "string", multiple: true },
  subject: { type: "string" },
  attach: { type: "string", multiple: true },
  server: { type: "string" },
  tls: { type: "string" },
  "ca-file": { type: "string" },
  user: { type: "string" },
  "password-stdin": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** Reads stdin in pieces: a line at a time (password, typed body) or everything left. */
export class InputReader {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(
    stream: NodeJS.ReadableStream,
    private readonly limit = MAX_INPUT_BYTES,
  ) {
    this.iterator = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof next.value === "string" ? Buffer.from(next.value, "utf8") : next.value;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > this.limit) {
      throw new CliError(
        `the input is larger than ${this.limit / (1024 * 1024)} MiB; nothing was sent. Send large files by other means`,
        ExitCode.failure,
      );
    }
    return true;
  }

  /** The next line without its line end, or null at the end of input. */
  async line(): Promise<string | null> {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline !== -1) {
        const line = this.buffer.subarray(0, newline).toString("utf8").replace(/\r$/, "");
        this.buffer = this.buffer.subarray(newline + 1);
        return line;
      }
      if (!(await this.fill())) {
        if (this.buffer.length === 0) return null;
        const line = this.buffer.toString("utf8");
        this.buffer = Buffer.alloc(0);
        return line;
      }
    }
  }

  /** Lines up to one holding only "." (not included) or the end of input, each ending in LF. */
  async untilDotLine(): Promise<Buffer> {
    const lines: string[] = [];
    let size = 0;
    for (let line = await this.line(); line !== null && line !== "."; line = await this.line()) {
      size += line.length;
      if (size > this.limit) throw new CliError("the input is too large; nothing was sent", ExitCode.failure);
      lines.push(`${line}\n`);
    }
    return Buffer.from(lines.join(""), "utf8");
  }

  async rest(): Promise<Buffer> {
    while (await this.fill());
    const all = this.buffer;
    this.buffer = Buffer.alloc(0);
    return all;
  }

  /** Stops reading (a terminal would otherwise keep the process alive). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/** Validates an address given on the command line (without lower-casing: local parts are case-sensitive). */
export function recipientArgument(value: string, helpCommand: string): string[] {
  const parsed = parseAddresses(value);
  if (parsed.length === 0)
    throw usageError(`'${value}' is not an address (expected something like bob@example.org)`, helpCommand);
  return parsed.map((address) => {
    const problem = checkAddress(address);
    if (!splitAddress(address) || problem)
      throw usageError(
        `'${address}' is not a valid address (expected something like bob@example.org)`,
        helpCommand,
      );
    return address;
  });
}

export interface SubmitTarget {
  host: string;
  port: number;
  tls: ClientTls;
  user?: string;
  password?: string;
}

/** Counts of recipients per outcome; decides the exit status. */
export class Outcomes {
  accepted = 0;
  refused = 0;
  deferred = 0;

  constructor(
    private readonly io: CliIo,
    private readonly announce: boolean,
  ) {}

  /** Records one transaction's result, printing each refusal with the server's reply. */
  record(result: SendResult): void {
    for (const outcome of result.recipients) {
      if (outcome.accepted && result.data) {
        this.accepted += 1;
      } else if (outcome.reply.code >= 400 && outcome.reply.code < 500) {
        this.deferred += 1;
        this.io.stderr.write(
          `mailroom: ${outcome.address}: deferred, try again later: ${formatClientReply(outcome.reply)}\n`,
        );
      } else if (!outcome.accepted) {
        this.refused += 1;
        this.io.stderr.write(`mailroom: ${outcome.address}: refused: ${formatClientReply(outcome.reply)}\n`);
      }
    }
    const sent = result.recipients.filter((outcome) => outcome.accepted).length;
    if (this.announce && result.data && sent > 0) {
      const queued = /queued as \S+/i.exec(result.data.text)?.[0] ?? result.data.text;
      this.io.stderr.write(`sent to ${sent} recipient${sent === 1 ? "" : "s"}: ${queued}\n`);
    }
  }

  /** Every recipient in `addresses` failed together for one reason. */
  fail(addresses: string[], temporary: boolean, message: string): void {
    if (temporary) this.deferred += addresses.length;
    else this.refused += addresses.length;
    const what = temporary ? "not sent (temporary failure, try again later)" : "not sent";
    this.io.stderr.write(`mailroom: ${addresses.join(", ")}: ${what}: ${message}\n`);
  }

  exitCode(): number {
    if (this.refused > 0) return ExitCode.failure;
    if (this.deferred > 0) return ExitCode.tempFail;
    return ExitCode.ok;
  }
}

function transcriptTo(io: CliIo): SmtpClientOptions["onTranscript"] {
  return (direction, line) => io.stderr.write(`${direction}: ${line}\n`);
}

/** One transaction with one server; failures are recorded, not thrown. */
export async function submitTo(
  target: SubmitTarget & { tlsOptions?: SmtpClientOptions["tlsOptions"] },
  envelope: ClientEnvelope,
  message: Buffer,
  outcomes: Outcomes,
  io: CliIo,
  verbose: boolean,
): Promise<void> {
  const addresses = envelope.to.map((recipient) => recipient.address);
  let connection: SmtpConnection;
  try {
    connection = await connectSmtp(clientOptions(target, io, verbose));
  } catch (error) {
    if (!(error instanceof SmtpClientError)) throw error;
    outcomes.fail(addresses, error.temporary, error.message);
    return;
  }
  try {
    outcomes.record(await connection.send(envelope, message));
    await connection.quit();
  } catch (error) {
    connection.destroy();
    if (!(error instanceof SmtpClientError)) throw error;
    outcomes.fail(addresses, error.temporary, error.message);
  }
}

function clientOptions(
  target: SubmitTarget & { tlsOptions?: SmtpClientOptions["tlsOptions"] },
  io: CliIo,
  verbose: boolean,
): SmtpClientOptions {
  return {
    host: target.host,
    port: target.port,
    tls: target.tls,
    heloName: hostname(),
    ...(target.tlsOptions ? { tlsOptions: target.tlsOptions } : {}),
    ...(target.user !== undefined ? { auth: { user: target.user, password: target.password ?? "" } } : {}),
    ...(verbose ? { onTranscript: transcriptTo(io) } : {}),
  };
}

/** "host", "host:port", "[v6]:port". */
export function parseServer(
  value: string,
  defaultPort: number,
  helpCommand: string,
): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(value);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(
      `'${value}' is not a server (expected HOST or HOST:PORT, e.g. mail.example.org:587)`,
      helpCommand,
    );
  }
  return { host: match[1], port };
}

/** Direct delivery: recipients grouped by domain, each domain's MX hosts tried in order (RFC 5321 §5.1). */
async function sendDirect(
  envelope: ClientEnvelope,
  message: Buffer,
  tls: ClientTls,
  outcomes: Outcomes,
  io: CliIo,
  verbose: boolean,
): Promise<void> {
  const resolver = new Resolver({ timeout: 5_000, tries: 2 });
  const dnsServer = io.env.MAILROOM_SEND_RESOLVER;
  if (dnsServer) resolver.setServers([dnsServer]);
  const portSetting = io.env.MAILROOM_SEND_MX_PORT;
  const port = portSetting ? Number(portSetting) : 25;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CliError(
      `MAILROOM_SEND_MX_PORT='${portSetting}' is not a port number (1-65535)`,
      ExitCode.usage,
    );
  }
  const byDomain = new Map<string, string[]>();
  for (const { address } of envelope.to) {
    const domain = (splitAddress(address)?.domain ?? "").toLowerCase();
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), address]);
  }
  for (const [domain, addresses] of byDomain) {
    const domainEnvelope = { ...envelope, to: addresses.map((address) => ({ address })) };
    const route = await routeDomain(domain, resolver);
    if (route.kind === "unroutable") {
      outcomes.fail(addresses, route.temporary, route.message);
      continue;
    }
    let lastError: SmtpClientError | null = null;
    attempts: for (const host of route.hosts) {
      for (const address of host.addresses) {
        const options = clientOptions(
          { host: address, port, tls, tlsOptions: { servername: host.name } },
          io,
          verbose,
        );
        let connection: SmtpConnection;
        try {
          connection = await connectSmtp(options);
        } catch (error) {
          if (!(error instanceof SmtpClientError)) throw error;
          // RFC 5321 §5.1: a host that cannot be reached or will not talk: try the next one.
          lastError = error;
          continue;
        }
        try {
          outcomes.record(await connection.send(domainEnvelope, message));
          await connection.quit();
        } catch (error) {
          connection.destroy();
          if (!(error instanceof SmtpClientError)) throw error;
          outcomes.fail(addresses, error.temporary, `${host.name}: ${error.message}`);
        }
        lastError = null;
        break attempts;
      }
    }
    if (lastError)
      outcomes.fail(
        addresses,
        lastError.temporary,
        `no mail server for ${domain} took the message; last: ${lastError.message}`,
      );
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof sendOptions; allowPositionals: false; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: sendOptions, allowPositionals: false, strict: true });
  } catch (err) {
    throw usageError(
      (err instanceof Error ? err.message.split("\n")[0] : undefined) ?? "invalid arguments",
      HELP_COMMAND,
    );
  }
  const values = parsed.values;
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (!values.from) throw usageError("missing --from ADDRESS", HELP_COMMAND);
  const sender = recipientArgument(values.from, HELP_COMMAND);
  if (sender.length !== 1) throw usageError("--from takes exactly one address", HELP_COMMAND);
  const to = (values.to ?? []).flatMap((value) => recipientArgument(value, HELP_COMMAND));
  const cc = (values.cc ?? []).flatMap((value) => recipientArgument(value, HELP_COMMAND));
  if (to.length + cc.length === 0) throw usageError("missing --to ADDRESS", HELP_COMMAND);
  const tlsChoice = values.tls;
  if (tlsChoice !== undefined && !["starttls", "implicit", "none"].includes(tlsChoice)) {
    throw usageError(`--tls must be starttls, implicit or none, not '${tlsChoice}'`, HELP_COMMAND);
  }
  if (values.user !== undefined && values.server === undefined) {
    throw usageError(
      "--user needs --server: direct delivery to MX hosts does not authenticate",
      HELP_COMMAND,
    );
  }
  if (values["password-stdin"] && values.user === undefined) {
    throw usageError("--password-stdin needs --user", HELP_COMMAND);
  }
  const target = values.server
    ? parseServer(values.server, tlsChoice === "implicit" ? 465 : 25, HELP_COMMAND)
    : null;
  for (const file of values.attach ?? []) {
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new CliError(`cannot read attachment ${file} (${code}); nothing was sent`, ExitCode.noInput);
    }
  }

  const tls: ClientTls =
    (tlsChoice as ClientTls | undefined) ?? (values.user !== undefined ? "starttls" : "opportunistic");
  const caFile = values["ca-file"];
  const ca = caFile === undefined ? undefined : await readCaFile(caFile);
  const tlsOptions = ca !== undefined ? { tlsOptions: { ca } } : {};
  // Asking for a password and a body, then failing on the server's certificate, wastes the typing and
  // invites --tls none; the server is checked first.
  if (target && values.user !== undefined)
    await checkServer({ ...target, tls, ...tlsOptions }, io, values.verbose === true);

  const input = new InputReader(io.stdin);
  let password: string | undefined;
  let text: string;
  try {
    if (values.user !== undefined) {
      if (values["password-stdin"]) {
        password = (await input.line()) ?? "";
      } else if (io.stdin.isTTY) {
        password = (await promptHidden(io, ["Password: "]))[0] ?? "";
      } else {
        throw usageError("--user needs --password-stdin when stdin is not a terminal", HELP_COMMAND);
      }
      if (password === "")
        throw new CliError("empty password; put it on the first line of stdin", ExitCode.usage);
    }
    if (io.stdin.isTTY) {
      io.stderr.write('Type the message; end it with a line holding only "." or with Ctrl-D.\n');
      text = (await input.untilDotLine()).toString("utf8");
    } else {
      text = (await input.rest()).toString("utf8");
    }
  } finally {
    await input.close();
  }

  const message = await composeMessage({
    from: values.from,
    to: values.to ?? [],
    cc: values.cc ?? [],
    ...(values.subject !== undefined ? { subject: values.subject } : {}),
    text,
    attachments: values.attach ?? [],
  });
  const recipients = [...new Set([...to, ...cc])];
  const envelope: ClientEnvelope = {
    from: addressOf(values.from),
    to: recipients.map((address) => ({ address })),
    eightBit: message.some((byte) => byte > 0x7f),
  };
  const outcomes = new Outcomes(io, true);
  const verbose = values.verbose === true;
  if (target) {
    await submitTo(
      {
        ...target,
        tls,
        ...tlsOptions,
        ...(values.user !== undefined ? { user: values.user, password: password ?? "" } : {}),
      },
      envelope,
      message,
      outcomes,
      io,
      verbose,
    );
  } else {
    await sendDirect(
      envelope,
      message,
      (tlsChoice as ClientTls | undefined) ?? "opportunistic",
      outcomes,
      io,
      verbose,
    );
  }
  return outcomes.exitCode();
}

/** Greeting, EHLO and TLS with the server (certificate verified), then QUIT: no password is sent. */
async function checkServer(
  target: SubmitTarget & { tlsOptions?: SmtpClientOptions["tlsOptions"] },
  io: CliIo,
  verbose: boolean,
): Promise<void> {
  let connection: SmtpConnection;
  try {
    connection = await connectSmtp(clientOptions(target, io, verbose));
  } catch (error) {
    if (error instanceof SmtpCertificateError) {
      throw new CliError(
        `${error.message}. Nothing was sent. If the server is a mailroom with its own self-signed certificate, trust it with --ca-file data/tls/cert.pem (that file from the server's data directory)`,
        ExitCode.failure,
      );
    }
    if (!(error instanceof SmtpClientError)) throw error;
    throw new CliError(
      `${error.message}; nothing was sent`,
      error.temporary ? ExitCode.tempFail : ExitCode.failure,
    );
  }
  await connection.quit();
}

async function readCaFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new CliError(
      `cannot read --ca-file ${file} (${code}); give the PEM file of the server's certificate`,
      ExitCode.noInput,
    );
  }
}

export const sendCommand: CliCommand = {
  name: "send",
  help: HELP,
  run,
};
