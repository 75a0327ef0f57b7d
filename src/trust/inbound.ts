// Authentication of mail received on the MX listener (issue 18): SPF for MAIL FROM and HELO (RFC 7208),
// every DKIM signature (RFC 6376), DMARC alignment and policy (RFC 7489), the ARC chain (RFC 8617), by
// mailauth's `authenticate`, over the shared cached resolver (queue/dns.ts) so the answers of one
// sender's burst are asked once. The outcome is one Authentication-Results field (RFC 8601) prepended
// to the stored copy, and the policy's verdict (policy.ts).
//
// Off the critical path where it can be: `begin` runs at MAIL FROM and starts both SPF checks at once,
// so by the end of DATA their answers are in the cache (or in flight, shared); `receive` runs when the
// body starts and feeds mailauth each chunk as it arrives, so DKIM's body hashing keeps pace with the
// client; when the header section is in, the DKIM keys and the DMARC record it names are asked for
// too, so the end of DATA waits only for what needs the whole message: the signature checks and the
// policy. The SMTP session calls these; it knows nothing of DNS.
//
// Written once where it can be: the Authentication-Results field goes before the message but is known
// only after its last octet, so a message that ends within HELD_MESSAGE_LIMIT is held in memory and
// written to its blob once, with the field, at the end; a longer one goes to a scratch blob as it
// arrives (not made durable) and is copied behind the field at the end, as every message once was.

import { isIP } from "node:net";
import { PassThrough, Readable } from "node:stream";
import type { authenticate, spf } from "mailauth";
import type { Logger } from "pino";
import { skipOctets } from "../mail/headers.js";
import type { CachedResolve } from "../queue/dns.js";
import type { BlobRef, BlobStore, BlobWriter } from "../store/types.js";
import { HEADER_BLOCK_LIMIT } from "../store/types.js";
import { authenticationResultsField, withoutOwnResults } from "./authentication-results.js";
import { expandIpv6 } from "./greylist.js";
import { type AuthenticationFacts, decide, type TrustPolicy, type TrustVerdict } from "./policy.js";

export interface InboundEnvelope {
  remoteAddress: string;
  /** The EHLO/HELO name as given. */
  helo: string;
  /** The reverse path; "" for <>. */
  sender: string;
}

/** A stored message as received, after the octets this server wrote before it (trace fields, our result). */
export interface ReceivedMessage {
  blob: BlobRef;
  traceLength: number;
}

/**
 * Octets of a message held in memory while it streams (see the top of the file). Per connection in
 * DATA or BDAT, so a thousand such connections hold at most 64 MiB; most mail is smaller than this.
 */
export const HELD_MESSAGE_LIMIT = 64 * 1024;

/** DNS names asked for ahead from one header section, however many signatures it carries. */
const PREFETCH_LIMIT = 8;

export type TrustOutcome =
  /** Refused at the end of DATA; the blob is not written, and is for the caller to abort. */
  | { kind: "reject"; code: number; enhanced: string; text: string }
  /**
   * The blob `receive` was given, finished (durable): our trace fields, the Authentication-Results
   * field, then the message with any Authentication-Results claiming our name removed. `prefixLength`
   * is the octets before the message, for a reader that wants it without our fields (rspamd).
   */
  | { kind: "accept"; blob: BlobRef; junk: boolean; prefixLength: number };

export interface TrustCheck {
  /** Why the connecting address is refused (a DNS blocklist's TXT reason), or null; asked at RCPT. */
  blocklisted: Promise<string | null>;
  /**
   * When the body starts (DATA, or the first BDAT chunk): the message goes to `writer` through the
   * returned feed, after `trace` (the trace fields naming `writer.id`), which the caller does not write.
   */
  receive(writer: BlobWriter, trace: Buffer): MessageFeed;
}

/**
 * One message, verified and stored while it arrives; ended by exactly one of `finish` and `abort`
 * (`abort` also after a failed `finish`). The caller still owns the writer it gave: it aborts it when
 * the message is refused or fails, as for any blob.
 */
export interface MessageFeed {
  /**
   * The message's next octets, as received. Resolves once they are held or stored and mailauth has
   * room for more, so memory stays bounded however large the message; rejects only when the store
   * fails. When the verification fails, the message is still stored and goes unverified.
   */
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<TrustOutcome>;
  /** There will be no message (RSET, a dropped connection, a refusal, the store failing); idempotent. */
  abort(): Promise<void>;
}

export interface InboundTrust {
  /** At MAIL FROM: starts the SPF checks. */
  begin(envelope: InboundEnvelope): TrustCheck;
}

export interface InboundTrustOptions {
  /** Our authserv-id (RFC 8601 §2.5): the server's hostname. */
  hostname: string;
  /** The scratch blobs of messages longer than HELD_MESSAGE_LIMIT. */
  blobs: Pick<BlobStore, "readBlob" | "createBlobWriter">;
  resolve: CachedResolve;
  policy: TrustPolicy;
  logger: Logger;
  /** DNS blocklist zones (e.g. "zen.spamhaus.org") the connecting address, IPv4 or IPv6, is looked up in. */
  dnsbl?: readonly string[];
  /** For DMARC pct= sampling; Math.random by default. */
  random?: () => number;
}

type SpfResult = Awaited<ReturnType<typeof spf>>;
type AuthResult = Awaited<ReturnType<typeof authenticate>>;

/**
 * mailauth, loaded once the first MX listener is set up: with its DKIM, DMARC, ARC and BIMI code it is
 * about 40 MiB of the process (issue 19), which a node serving only IMAP, POP3 or JMAP never needs.
 */
let mailauth: Promise<typeof import("mailauth")> | undefined;

export function createInboundTrust(options: InboundTrustOptions): InboundTrust {
  const { hostname, blobs, logger } = options;
  mailauth ??= import("mailauth");
  const library = mailauth;
  // A failed load surfaces in each check, which settle it; this only keeps it from going unhandled.
  library.catch(() => undefined);
  // mailauth's resolver contract is node:dns's resolve(name, rrtype).
  const resolver = options.resolve as (name: string, rrtype: string) => Promise<string[]>;
  const random = options.random ?? Math.random;

  // One lookup per address and zone while the cache keeps it, however many transactions ask.
  const listing = async (ip: string): Promise<string | null> => {
    const name = blocklistName(ip);
    if (name === null) return null;
    for (const zone of options.dnsbl ?? []) {
      const query = `${name}.${zone}`;
      // RFC 5782 §2.1: listed is an A record in 127.0.0.0/8; NXDOMAIN (or our DNS failing) is not listed.
      const found = (await options.resolve(query, "A").catch(() => [])) as string[];
      if (!found.some((address) => address.startsWith("127."))) continue;
      // RFC 5782 §2.1: the TXT record, when there is one, is the reason to give the client.
      const text = (await options.resolve(query, "TXT").catch(() => [])) as string[][];
      const reason = text[0]?.join("") ?? "";
      return `${ip} is listed by ${zone}${reason === "" ? "" : `: ${reason}`}`;
    }
    return null;
  };

  return {
    begin(envelope) {
      const helo = heloIdentity(envelope.helo);
      const ip = envelope.remoteAddress;
      // Settled here so an unawaited failure never surfaces as an unhandled rejection.
      const quiet = (check: Promise<SpfResult>) =>
        check.catch((err: unknown) => {
          logger.warn({ err }, "SPF check failed");
          return null;
        });
      // The same query mailauth's authenticate makes later, started now: its answers wait in the cache.
      void quiet(
        library.then(({ spf }) => spf({ sender: envelope.sender, ip, helo, mta: hostname, resolver })),
      );
      // RFC 7208 §2.3: the HELO identity is checked on its own too, unless it is an address literal;
      // with <> the MAIL FROM check already is the HELO check (§2.4).
      const heloCheck =
        envelope.sender !== "" && !helo.startsWith("[")
          ? quiet(
              library.then(({ spf }) =>
                spf({ sender: `postmaster@${helo}`, ip, helo, mta: hostname, resolver }),
              ),
            )
          : Promise.resolve(null);
      const verification = (): Verification => {
        const input = new PassThrough();
        // Destroyed by abort: mailauth, once it reads the stream, sees the error; until then no one does.
        input.on("error", () => undefined);
        let aborted = false;
        let ending = false;
        let stopped = false;
        // The one write waiting for room (the session awaits each), woken by a drain or by the end.
        let waiting: (() => void) | null = null;
        const wake = () => {
          const resolve = waiting;
          waiting = null;
          resolve?.();
        };
        input.on("drain", wake);
        const verified: Promise<AuthResult | null> = library
          .then(({ authenticate }) =>
            aborted
              ? null
              : authenticate(input, {
                  sender: envelope.sender,
                  ip,
                  helo,
                  mta: hostname,
                  resolver,
                  disableBimi: true,
                }),
          )
          .catch((err: unknown) => {
            // Our own failure is never the sender's: the mail is taken unverified, and the log says so.
            if (!aborted) logger.warn({ err }, "authenticating a received message failed; taken unverified");
            return null;
          })
          .finally(() => {
            // Settled before the end only by a failure: what is still written has no reader.
            stopped = true;
            if (!ending) input.destroy();
            wake();
          });
        return {
          async write(chunk) {
            if (stopped || aborted || ending) return;
            if (input.write(chunk)) return;
            await new Promise<void>((resolve) => {
              waiting = resolve;
            });
          },
          end() {
            ending = true;
            if (!stopped) input.end();
            return verified;
          },
          abort() {
            if (aborted || ending) return;
            aborted = true;
            input.destroy(new Error("the transaction ended without a message"));
            wake();
          },
        };
      };
      const receive = (writer: BlobWriter, trace: Buffer): MessageFeed => {
        const verifying = verification();
        // The message while it fits in HELD_MESSAGE_LIMIT; null once it went to `scratch`.
        let held: Buffer[] | null = [];
        let heldLength = 0;
        let scratch: BlobWriter | null = null;
        // The header section until it ends (or passes HEADER_BLOCK_LIMIT without ending), then null.
        let head: Buffer | null = Buffer.alloc(0);
        const watch = (chunk: Uint8Array) => {
          if (head === null) return;
          const from = Math.max(0, head.length - 3);
          head = Buffer.concat([head, chunk]);
          const end = headerEnd(head, from);
          if (end < 0 && head.length <= HEADER_BLOCK_LIMIT) return;
          // The same queries mailauth makes after the final dot: their answers wait in the cache.
          const names = end < 0 ? [] : lookupNames(head.subarray(0, end).toString("latin1"));
          for (const name of names) void options.resolve(name, "TXT").catch(() => undefined);
          head = null;
        };
        const store = async (chunk: Uint8Array): Promise<void> => {
          if (held !== null && heldLength + chunk.byteLength <= HELD_MESSAGE_LIMIT) {
            held.push(Buffer.from(chunk));
            heldLength += chunk.byteLength;
            return;
          }
          if (held !== null) {
            scratch = await blobs.createBlobWriter();
            await scratch.write(Buffer.concat(held));
            held = null;
          }
          await scratch!.write(chunk);
        };
        const dropScratch = async () => {
          const blob = scratch;
          scratch = null;
          await blob?.abort().catch(() => undefined);
        };
        return {
          async write(chunk) {
            watch(chunk);
            await Promise.all([store(chunk), verifying.write(chunk)]);
          },
          async abort() {
            verifying.abort();
            held = null;
            head = null;
            await dropScratch();
          },
          async finish() {
            // Only read back, then removed: a crash may lose it, nothing references it (see BlobWriter).
            const original = scratch === null ? null : await scratch.finish({ durable: false });
            const result = await verifying.end();
            const heloResult = await heloCheck;
            const rows = result === null ? [] : resultRows(result, heloResult, helo);
            const verdict: TrustVerdict =
              result === null
                ? { kind: "accept", junk: false, reason: null }
                : decide(facts(result), options.policy, random);
            if (verdict.kind === "reject") {
              await dropScratch();
              return verdict;
            }
            if (verdict.reason !== null) logger.info({ reason: verdict.reason }, "trust policy");
            const prefix = Buffer.concat([
              trace,
              Buffer.from(authenticationResultsField(hostname, rows), "latin1"),
            ]);
            const message = original === null ? [Buffer.concat(held ?? [])] : blobs.readBlob(original.id);
            held = null;
            await writeWithResults(writer, prefix, message, hostname);
            const blob = await writer.finish();
            await dropScratch();
            return { kind: "accept", blob, junk: verdict.junk, prefixLength: prefix.length };
          },
        };
      };
      return { blocklisted: listing(ip), receive };
    },
  };
}

/**
 * The query name of an address under a blocklist zone: IPv4 octets reversed (RFC 5782 §2.1), IPv6
 * nibbles reversed, all 32 of them (§2.4). An IPv4-mapped IPv6 client is its IPv4 address.
 */
export function blocklistName(address: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip);
  if (family === 4) return ip.split(".").reverse().join(".");
  if (family === 6) return [...expandIpv6(ip).join("")].reverse().join(".");
  return null;
}

/** mailauth wants an address literal in brackets for the HELO identity. */
function heloIdentity(helo: string): string {
  return /^[0-9.]+$|:/.test(helo) && !helo.startsWith("[") ? `[${helo}]` : helo;
}

/** One resinfo per result, in RFC 8601 §2.7's method order as mailauth gives them. */
function resultRows(result: AuthResult, heloResult: SpfResult | null, helo: string): string[] {
  const rows: string[] = [];
  for (const signature of result.dkim.results ?? []) rows.push(signature.info);
  if (result.spf) rows.push(result.spf.info);
  if (heloResult) rows.push(`spf=${heloResult.status.result} smtp.helo=${helo}`);
  if (result.arc && result.arc.info) rows.push(result.arc.info);
  if (result.dmarc && result.dmarc.info) rows.push(result.dmarc.info);
  return rows;
}

function facts(result: AuthResult): AuthenticationFacts {
  const dmarc = result.dmarc;
  const arc = result.arc;
  const chain = arc ? (arc as { chain?: ArcLink[] }).chain : undefined;
  return {
    dmarc: dmarc
      ? {
          result: dmarc.status.result,
          policy: dmarc.policy ?? null,
          pct: typeof dmarc.pct === "number" ? dmarc.pct : 100,
        }
      : null,
    arc: arc
      ? {
          result: arc.status.result,
          sealer: (Array.isArray(chain) ? chain.at(-1) : undefined)?.["arc-seal"]?.parsed?.d?.value ?? null,
        }
      : null,
  };
}

interface ArcLink {
  "arc-seal"?: { parsed?: { d?: { value?: string } } };
}

/** The message as it arrived: the blob without what this server wrote before it. */
export function messageStream(blobs: Pick<BlobStore, "readBlob">, message: ReceivedMessage): Readable {
  return Readable.from(skipOctets(blobs.readBlob(message.blob.id), message.traceLength));
}

/** The message's verification, fed as it arrives. */
interface Verification {
  /** Resolves once mailauth has room for more; never rejects (a failed verification drops chunks). */
  write(chunk: Uint8Array): Promise<void>;
  /** The whole message was written: mailauth's result, or null when it failed. */
  end(): Promise<AuthResult | null>;
  abort(): void;
}

/**
 * `prefix` (our trace fields and the Authentication-Results field), then the message with any
 * Authentication-Results claiming our name removed. The header section is held in memory (it is
 * bounded by HEADER_BLOCK_LIMIT); the body is streamed through.
 */
async function writeWithResults(
  writer: BlobWriter,
  prefix: Buffer,
  message: AsyncIterable<Buffer> | Iterable<Buffer>,
  hostname: string,
): Promise<void> {
  await writer.write(prefix);
  let head: Buffer | null = Buffer.alloc(0);
  for await (const chunk of message) {
    if (head === null) {
      await writer.write(chunk);
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (end < 0 && head.length <= HEADER_BLOCK_LIMIT) continue;
    // Past the limit without an empty line the whole of it is taken as the header, as the store does.
    const cut = end < 0 ? head.length : end;
    const header = withoutOwnResults(head.subarray(0, cut).toString("latin1"), hostname);
    await writer.write(Buffer.concat([Buffer.from(header, "latin1"), head.subarray(cut)]));
    head = null;
  }
  if (head !== null && head.length > 0) {
    await writer.write(Buffer.from(withoutOwnResults(head.toString("latin1"), hostname), "latin1"));
  }
}

/**
 * The offset just past the empty line that ends the header section, or -1 if it is not there yet;
 * `from`: where to start looking, when what comes before was searched already.
 */
function headerEnd(bytes: Buffer, from = 0): number {
  if (bytes.subarray(0, 2).toString("latin1") === "\r\n") return 2;
  const at = bytes.indexOf("\r\n\r\n", from);
  return at < 0 ? -1 : at + 4;
}

/**
 * The TXT names mailauth asks for once the whole message is in: each DKIM signature's key record
 * (RFC 6376 §3.6.2.1, from its case-sensitive s= and d= tags, §3.2) and the DMARC record of each
 * From: domain (RFC 7489 §6.6.3; the organizational domain it may fall back to is left to mailauth).
 */
export function lookupNames(header: string): string[] {
  const names = new Set<string>();
  for (const field of header.replace(/\r\n(?=[ \t])/g, "").split("\r\n")) {
    const colon = field.indexOf(":");
    if (colon < 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field.slice(colon + 1);
    if (name === "dkim-signature") {
      const tags = new Map(
        value.split(";").map((tag) => {
          const eq = tag.indexOf("=");
          return [tag.slice(0, Math.max(eq, 0)).trim(), tag.slice(eq + 1).replace(/\s+/g, "")] as const;
        }),
      );
      const domain = tags.get("d");
      const selector = tags.get("s");
      if (domain && selector) names.add(`${selector}._domainkey.${domain}`);
    } else if (name === "from") {
      for (const match of value.matchAll(/@([A-Za-z0-9.-]+)/g))
        names.add(`_dmarc.${match[1]!.toLowerCase()}`);
    }
  }
  return [...names].slice(0, PREFETCH_LIMIT);
}
