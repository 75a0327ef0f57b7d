// The JMAP benchmark's mailbox: bench/pop3/corpus.ts's messages (same seed, same bytes), made into
// conversations so collapseThreads and IMAP THREAD have threads to fold. Message i answers the first
// message of its run of THREAD_LENGTH: In-Reply-To and References name that message's Message-ID, the
// way a reply in a mail client does (RFC 5322 §3.6.4). Subjects stay as generated, so neither server
// can join by subject; both must follow the references.
import { generateMessage } from "../pop3/corpus.js";

export const THREAD_LENGTH = 4;

function messageId(seed: number, index: number): string {
  return `<bench.${seed}.${index + 1}@example.org>`;
}

/** Message `index` of the threaded corpus, CRLF line ends. */
export function threadedMessage(seed: number, index: number): Buffer {
  const message = generateMessage(seed, index);
  const root = index - (index % THREAD_LENGTH);
  if (root === index) return message;
  const own = Buffer.from(`Message-ID: ${messageId(seed, index)}\r\n`, "latin1");
  const at = message.indexOf(own);
  if (at < 0) throw new Error(`generated message ${index} has no Message-ID line`);
  const parent = messageId(seed, root);
  const reply = Buffer.from(`In-Reply-To: ${parent}\r\nReferences: ${parent}\r\n`, "latin1");
  const end = at + own.length;
  return Buffer.concat([message.subarray(0, end), reply, message.subarray(end)]);
}

export function* threadedCorpus(count: number, seed: number): Generator<Buffer> {
  for (let index = 0; index < count; index++) yield threadedMessage(seed, index);
}

/** The received date both servers give message `index` (the generator's Date: header too). */
export function receivedAt(index: number): Date {
  return new Date(Date.UTC(2026, 0, 1) + index * 60_000);
}
