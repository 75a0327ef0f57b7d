// The SMTP client's public shapes (see client.ts for connectSmtp). Shared by `mailroom send`, `mailroom
// sendmail` and the relay.

import type { Readable } from "node:stream";
import type { ConnectionOptions } from "node:tls";

/** "opportunistic": STARTTLS when offered, without verifying the certificate (RFC 3207 §4.1, RFC 7435). */
export type ClientTls = "starttls" | "implicit" | "none" | "opportunistic";

export interface SmtpClientOptions {
  host: string;
  port: number;
  tls: ClientTls;
  /** Passed to tls.connect (servername defaults to host unless host is an IP; rejectUnauthorized default true except "opportunistic"). */
  tlsOptions?: ConnectionOptions;
  /** EHLO name. */
  heloName: string;
  auth?: { user: string; password: string; mechanism?: "PLAIN" | "LOGIN" | "SCRAM-SHA-256" };
  /** Milliseconds; RFC 5321 §4.5.3.2 suggests 5 min for most replies, 10 min after the final dot. */
  timeouts?: { connect?: number; command?: number; dataEnd?: number };
  /** Every line sent ("C") and received ("S"), for `mailroom send -v`; AUTH secrets masked. Message bodies are not reported. */
  onTranscript?: (direction: "C" | "S", line: string) => void;
}

export interface ClientRecipient {
  address: string;
  notify?: Array<"NEVER" | "SUCCESS" | "FAILURE" | "DELAY">;
  /** The original recipient, "rfc822;alice@example.org" or just the address (rfc822 is then assumed). */
  orcpt?: string;
}

export interface ClientEnvelope {
  /** "" for the null sender <>. */
  from: string;
  to: ClientRecipient[];
  ret?: "FULL" | "HDRS";
  envid?: string;
  /** Body uses 8-bit bytes (BODY=8BITMIME when offered). */
  eightBit?: boolean;
  /** Addresses are UTF-8 (SMTPUTF8 required). Implied when an address has non-ASCII characters. */
  smtputf8?: boolean;
}

export interface Reply {
  code: number;
  enhanced: string | null;
  /** The reply's text lines (enhanced code removed) joined with "\n". */
  text: string;
}

export interface RecipientOutcome {
  address: string;
  reply: Reply;
  accepted: boolean;
}

export interface SendResult {
  recipients: RecipientOutcome[];
  /**
   * The 2xx reply to the final dot / last BDAT; null when no recipient was accepted (no message sent).
   * A refusal of the message itself is thrown as an SmtpClientError with stage "data".
   */
  data: Reply | null;
}

export type ClientStage =
  | "connect"
  | "tls"
  | "greeting"
  | "ehlo"
  | "starttls"
  | "auth"
  | "mail"
  | "rcpt"
  | "data"
  | "quit";

export class SmtpClientError extends Error {
  override name = "SmtpClientError";
  constructor(
    message: string,
    /** The stage that failed. */
    readonly stage: ClientStage,
    /** The reply that caused it, if any. */
    readonly reply: Reply | null,
    /** 4xx, timeouts and connection failures are temporary; 5xx permanent. */
    readonly temporary: boolean,
  ) {
    super(message);
  }
}

/**
 * TLS failed because the server's certificate could not be verified (self-signed, unknown issuer,
 * expired, wrong name) rather than because the network failed; a person can fix it by trusting the
 * certificate, which retrying never does.
 */
export class SmtpCertificateError extends SmtpClientError {
  override name = "SmtpCertificateError";
  /** Node's code for what failed (ERR_TLS_CERT_ALTNAME_INVALID, CERT_HAS_EXPIRED …), for TLS-RPT. */
  certificateCode = "";
}

/** Node's codes for certificate verification failures (OpenSSL's X509 verify results, and the name check). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export function isCertificateFailure(error: unknown): boolean {
  return CERTIFICATE_CODES.has(String((error as NodeJS.ErrnoException | null)?.code));
}

export interface SmtpConnection {
  /** EHLO keywords upper-cased → their parameters ("" when none). Empty after a HELO fallback. */
  readonly extensions: ReadonlyMap<string, string>;
  readonly secure: boolean;
  readonly greeting: Reply;
  /** One transaction (MAIL, RCPTs, DATA/BDAT). Body: bytes with CRLF line ends; dot-stuffing is done here. */
  send(envelope: ClientEnvelope, body: Buffer | (() => Readable)): Promise<SendResult>;
  /** RSET, so the connection can be reused. */
  reset(): Promise<void>;
  quit(): Promise<void>;
  destroy(): void;
}

/** "550 5.1.1 No such user" — a reply as a person reads it, on one line. */
export function formatClientReply(reply: Reply): string {
  const prefix = reply.enhanced ? `${reply.code} ${reply.enhanced}` : `${reply.code}`;
  const text = reply.text.replace(/\n/g, " ").trim();
  return text ? `${prefix} ${text}` : prefix;
}
