// SMTP AUTH from the client side (RFC 4954): PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 (RFC 5802, RFC 7677).
// Secrets never reach the transcript: every line the client sends during AUTH is shown masked.

import { plainInitialResponse, ScramClientError, scramClient } from "../../auth/sasl/scram-client.js";
import type { RawReply } from "./reply-parser.js";
import { toReply } from "./reply-parser.js";
import { formatClientReply, SmtpClientError, type SmtpClientOptions } from "./types.js";

export type AuthMechanism = "PLAIN" | "LOGIN" | "SCRAM-SHA-256";

/** Strongest first: SCRAM never sends the password, even to a server that is not who it claims. */
const PREFERENCE: AuthMechanism[] = ["SCRAM-SHA-256", "PLAIN", "LOGIN"];

export interface AuthChannel {
  /** Sends one line (shown as `shown` in the transcript) and resolves to the server's reply. */
  exchange(line: string, shown: string): Promise<RawReply>;
}

const MASK = "***";
const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString("base64");

export function chooseMechanism(
  offered: string | undefined,
  wanted: AuthMechanism | undefined,
): AuthMechanism {
  if (offered === undefined) {
    throw new SmtpClientError(
      "the server does not offer AUTH on this connection; it may require TLS first (--tls starttls) or this is not a submission port",
      "auth",
      null,
      false,
    );
  }
  const mechanisms = offered.toUpperCase().split(/\s+/);
  if (wanted) {
    if (mechanisms.includes(wanted)) return wanted;
    throw new SmtpClientError(
      `the server does not offer AUTH ${wanted}; it offers: ${offered || "nothing"}`,
      "auth",
      null,
      false,
    );
  }
  const choice = PREFERENCE.find((mechanism) => mechanisms.includes(mechanism));
  if (!choice) {
    throw new SmtpClientError(
      `the server offers no AUTH mechanism this client knows (it offers: ${offered}; known: ${PREFERENCE.join(", ")})`,
      "auth",
      null,
      false,
    );
  }
  return choice;
}

function refused(user: string, raw: RawReply): SmtpClientError {
  const reply = toReply(raw);
  const hint = raw.code === 535 ? "; check the user name and password" : "";
  return new SmtpClientError(
    `authentication as ${user} failed: ${formatClientReply(reply)}${hint}`,
    "auth",
    reply,
    raw.code < 500,
  );
}

/** A 334's payload; SASL challenges are base64 (RFC 4954 §4). */
function challenge(raw: RawReply): Buffer {
  return Buffer.from((raw.lines[0] ?? "").trim(), "base64");
}

async function cancel(channel: AuthChannel): Promise<void> {
  // RFC 4954 §4: "*" cancels the exchange; the server answers 501.
  await channel.exchange("*", "*");
}

export async function authenticate(
  channel: AuthChannel,
  auth: NonNullable<SmtpClientOptions["auth"]>,
  mechanism: AuthMechanism,
): Promise<void> {
  let reply: RawReply;
  if (mechanism === "PLAIN") {
    reply = await channel.exchange(
      `AUTH PLAIN ${b64(plainInitialResponse(auth.user, auth.password))}`,
      `AUTH PLAIN ${MASK}`,
    );
  } else if (mechanism === "LOGIN") {
    reply = await channel.exchange("AUTH LOGIN", "AUTH LOGIN");
    if (reply.code === 334) reply = await channel.exchange(b64(auth.user), MASK);
    if (reply.code === 334) reply = await channel.exchange(b64(auth.password), MASK);
  } else {
    reply = await scram(channel, auth);
  }
  if (reply.code !== 235) throw refused(auth.user, reply);
}

async function scram(channel: AuthChannel, auth: NonNullable<SmtpClientOptions["auth"]>): Promise<RawReply> {
  const client = scramClient(auth.user, auth.password);
  const first = await channel.exchange(
    `AUTH SCRAM-SHA-256 ${b64(client.first())}`,
    `AUTH SCRAM-SHA-256 ${MASK}`,
  );
  if (first.code !== 334) return first;
  let final: Buffer;
  try {
    final = await client.final(challenge(first));
  } catch (error) {
    if (!(error instanceof ScramClientError)) throw error;
    await cancel(channel);
    throw new SmtpClientError(`SCRAM-SHA-256 with the server failed: ${error.message}`, "auth", null, false);
  }
  const outcome = await channel.exchange(b64(final), MASK);
  // The server-final message comes as a 334 the client answers with an empty line (RFC 4954 §4); it
  // proves the server knew the verifier, so an unproven server gets no mail.
  if (outcome.code === 334) {
    if (!client.verify(challenge(outcome))) {
      await cancel(channel);
      throw new SmtpClientError(
        "the server's SCRAM-SHA-256 signature is wrong: it does not know this account's verifier; mail was not sent",
        "auth",
        null,
        false,
      );
    }
    return channel.exchange("", "");
  }
  if (outcome.code === 235) {
    throw new SmtpClientError(
      "the server accepted SCRAM-SHA-256 without proving it knows the account's verifier (no server-final message); mail was not sent",
      "auth",
      null,
      false,
    );
  }
  return outcome;
}
