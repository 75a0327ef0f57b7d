// What rspamd's answer means for a message here (issue 18). Pure: the reply's JSON in, facts out; the
// facts and what our greylisting did in, a verdict out.
//
// "add header" and "rewrite subject" both put the message into the recipient's Junk rather than
// rewriting it: the score and symbols are stored with the message anyway (for the trace and Sieve's
// spamtest), a Junk folder is what every mail client shows and what users train from, and leaving the
// bytes as they came keeps the sender's DKIM signature and our one Authentication-Results intact.

import type { SpamScan } from "../store/spam-scans.js";

/** rspamd's /checkv2 reply, reduced to what is kept; null when it is not such a reply. */
export function parseCheckReply(body: unknown, scannedAt: Date): SpamScan | null {
  if (typeof body !== "object" || body === null) return null;
  const reply = body as Record<string, unknown>;
  const { score, required_score: required, action, symbols } = reply;
  if (typeof score !== "number" || !Number.isFinite(score) || typeof action !== "string") return null;
  return {
    score,
    requiredScore: typeof required === "number" && Number.isFinite(required) ? required : 15,
    action,
    symbols: typeof symbols === "object" && symbols !== null ? Object.keys(symbols) : [],
    scannedAt,
  };
}

export type SpamVerdict =
  | { kind: "accept"; junk: boolean }
  | { kind: "reject"; code: number; enhanced: string; text: string };

/**
 * `greylistPassed`: our own greylisting let this transaction through (or exempted the client), so a
 * retry has already been made and rspamd's greylist action is not applied a second time.
 */
export function spamVerdict(scan: SpamScan, greylistPassed: boolean): SpamVerdict {
  switch (scan.action) {
    case "reject":
      return {
        kind: "reject",
        code: 550,
        enhanced: "5.7.1",
        text: `Message refused as spam (score ${scan.score.toFixed(1)}); if it is not spam, ask the recipient to contact their postmaster`,
      };
    case "soft reject":
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.7.1",
        text: "Message deferred by the spam filter; try again later",
      };
    case "greylist":
      return greylistPassed
        ? { kind: "accept", junk: false }
        : {
            kind: "reject",
            code: 451,
            enhanced: "4.7.1",
            text: "Greylisted by the spam filter; try again later",
          };
    case "add header":
    case "rewrite subject":
      return { kind: "accept", junk: true };
    default:
      return { kind: "accept", junk: false };
  }
}

/**
 * The score on RFC 5235's scales: `value` 1 (surely not spam) to 10 (surely spam), `percent` 0–100,
 * both reaching the top at rspamd's reject score. (0, "not tested", is what Sieve sees without a scan.)
 */
export function spamtestScore(scan: SpamScan): { value: number; percent: number } {
  const ratio = scan.requiredScore > 0 ? scan.score / scan.requiredScore : scan.score > 0 ? 1 : 0;
  const percent = Math.round(Math.min(1, Math.max(0, ratio)) * 100);
  return { value: 1 + Math.round((percent * 9) / 100), percent };
}
