// Spam filtering of MX mail (issue 18): greylisting at RCPT and rspamd after the body, for the SMTP
// session, which knows nothing of HTTP or of the store. Each part is off unless configured.

import { BlockList } from "node:net";
import type { Logger } from "pino";
import type { BlobStore, GreylistStore, SpamScan } from "../store/types.js";
import {
  clientNetwork,
  decideGreylist,
  type GreylistSettings,
  parseNetwork,
  tripletKey,
} from "./greylist.js";
import { messageStream, type ReceivedMessage } from "./inbound.js";
import type { RspamdClient, ScanEnvelope } from "./rspamd.js";
import { spamVerdict } from "./spam-verdict.js";

export type GreylistAnswer =
  /** Greylisting is off: nothing was decided. */
  | { kind: "off" }
  /** Passed (a retry after the delay, or a client that is never greylisted). */
  | { kind: "pass" }
  | { kind: "defer"; code: number; enhanced: string; text: string };

export type ScanOutcome =
  | { kind: "reject"; code: number; enhanced: string; text: string }
  /** `scan` is null when the message was not scanned (no rspamd configured, or rspamd failing). */
  | { kind: "accept"; junk: boolean; scan: SpamScan | null };

export interface InboundFilter {
  /** At RCPT, once the recipient is accepted, for a client that is not authenticated. */
  greylist(triplet: { remoteAddress: string; sender: string; recipient: string }): Promise<GreylistAnswer>;
  /** After the body; `greylistPassed` says our own greylisting let the transaction through. */
  scan(message: ReceivedMessage, envelope: ScanEnvelope, greylistPassed: boolean): Promise<ScanOutcome>;
}

export interface InboundFilterOptions {
  logger: Logger;
  blobs: Pick<BlobStore, "readBlob">;
  rspamd?: RspamdClient;
  greylist?: GreylistSettings & { store: GreylistStore; whitelist: readonly string[]; now?: () => Date };
}

const PRUNE_INTERVAL = 60 * 60 * 1000;

export function createInboundFilter(options: InboundFilterOptions): InboundFilter {
  const { logger, rspamd, greylist } = options;
  const whitelist = new BlockList();
  for (const text of greylist?.whitelist ?? []) {
    const network = parseNetwork(text);
    if (network !== null) whitelist.addSubnet(network.address, network.prefix, network.family);
  }
  const exempt = (address: string) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const ip = mapped ? mapped[1]! : address;
    return whitelist.check(ip, ip.includes(":") ? "ipv6" : "ipv4");
  };
  // Forgotten triplets are deleted now and then, from the request path but not awaited by it.
  let prunedAt = 0;
  const prune = (now: Date) => {
    if (greylist === undefined || now.getTime() - prunedAt < PRUNE_INTERVAL) return;
    prunedAt = now.getTime();
    greylist.store
      .pruneTriplets(new Date(now.getTime() - greylist.expiry))
      .catch((err: unknown) => logger.warn({ err }, "pruning greylisting triplets failed"));
  };
  return {
    async greylist({ remoteAddress, sender, recipient }) {
      if (greylist === undefined) return { kind: "off" };
      const network = clientNetwork(remoteAddress);
      if (network === null || exempt(remoteAddress)) return { kind: "pass" };
      const key = tripletKey(network, sender, recipient);
      const now = greylist.now?.() ?? new Date();
      prune(now);
      try {
        const decision = decideGreylist(await greylist.store.getTriplet(key), now, greylist);
        await greylist.store.putTriplet(key, decision.record);
        if (decision.verdict === "pass") return { kind: "pass" };
        logger.info({ triplet: key }, "greylisted");
        return {
          kind: "defer",
          code: 451,
          enhanced: "4.7.1",
          text: `Greylisted: this sender and recipient are new from your network; try again in ${decision.waitSeconds} s`,
        };
      } catch (err) {
        // The store failing is ours: the mail is not delayed for it.
        logger.warn({ err, triplet: key }, "greylisting failed; recipient accepted without it");
        return { kind: "pass" };
      }
    },
    async scan(message, envelope, greylistPassed) {
      if (rspamd === undefined) return { kind: "accept", junk: false, scan: null };
      const scan = await rspamd.scan(messageStream(options.blobs, message), envelope);
      if (scan === null) return { kind: "accept", junk: false, scan: null };
      const verdict = spamVerdict(scan, greylistPassed);
      logger.info(
        { queueId: envelope.queueId, score: scan.score, action: scan.action, symbols: scan.symbols },
        "rspamd scan",
      );
      return verdict.kind === "reject" ? verdict : { kind: "accept", junk: verdict.junk, scan };
    },
  };
}
