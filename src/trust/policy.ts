// What becomes of an MX message once it is authenticated: taken, taken into Junk, or refused at the end
// of DATA. Pure: the facts of the results and the [trust] settings in, a verdict out.
//
// Only DMARC refuses or quarantines, because only DMARC is the domain owner's own word on what to do
// with mail that fails (RFC 7489 §6.3). A bare SPF fail is recorded in Authentication-Results and
// nothing more: forwarding breaks SPF all the time (RFC 7208 §8.4 leaves the decision to the receiver).

export interface TrustPolicy {
  /** Whether DMARC policies are applied at all; false records the results only. */
  enforceDmarc: boolean;
  /** Domains (lower-case) whose valid ARC seal vouches for mail that fails DMARC after their forwarding. */
  trustedArcSealers: readonly string[];
}

/** What the checks found, reduced to what the policy looks at. */
export interface AuthenticationFacts {
  dmarc: {
    result: string;
    /** The policy that applies to the From: domain (sp= for a subdomain, else p=). */
    policy: string | null;
    /** pct= (RFC 7489 §6.3), 100 when absent. */
    pct: number;
  } | null;
  arc: {
    result: string;
    /** d= of the newest ARC-Seal: the last forwarder, who vouches for what it saw. */
    sealer: string | null;
  } | null;
}

export type TrustVerdict =
  | { kind: "accept"; junk: boolean; reason: string | null }
  | { kind: "reject"; code: number; enhanced: string; text: string };

/**
 * `random` draws in [0, 1) for pct= sampling; RFC 7489 §6.6.4: a message outside the sample gets the
 * next lower policy (reject → quarantine, quarantine → none).
 */
export function decide(facts: AuthenticationFacts, policy: TrustPolicy, random: () => number): TrustVerdict {
  const dmarc = facts.dmarc;
  if (!policy.enforceDmarc || dmarc === null || dmarc.result !== "fail") {
    return { kind: "accept", junk: false, reason: null };
  }
  const sealer = facts.arc?.result === "pass" ? facts.arc.sealer?.toLowerCase() : undefined;
  if (sealer !== undefined && policy.trustedArcSealers.includes(sealer)) {
    return {
      kind: "accept",
      junk: false,
      reason: `DMARC fail overridden by the trusted ARC sealer ${sealer}`,
    };
  }
  let applied = dmarc.policy?.toLowerCase() ?? "none";
  if (dmarc.pct < 100 && random() * 100 >= dmarc.pct) {
    applied = applied === "reject" ? "quarantine" : "none";
  }
  if (applied === "reject") {
    return {
      kind: "reject",
      code: 550,
      enhanced: "5.7.1",
      text: "Message refused: it fails the DMARC policy of its From: domain (p=reject)",
    };
  }
  if (applied === "quarantine") {
    return { kind: "accept", junk: true, reason: "DMARC fail with p=quarantine" };
  }
  return { kind: "accept", junk: false, reason: null };
}
