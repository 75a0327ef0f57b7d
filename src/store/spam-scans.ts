// What rspamd said of a received message (issue 18), kept with the message so the delivery trace and
// later readers see it; delivery hands the same facts to Sieve's spamtest without reading them back.
// A row goes when its message does (the body row's foreign key).

export interface SpamScan {
  /** rspamd's score; higher is spammier. */
  score: number;
  /** The score at which rspamd's reject action starts (its required_score). */
  requiredScore: number;
  /** rspamd's action: "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject". */
  action: string;
  /** The symbols that matched, by name, in rspamd's order. */
  symbols: string[];
  scannedAt: Date;
}

export interface SpamScanStore {
  /** Records (or replaces) the scan of a stored message. Rejects (StoreError not-found) for an unknown message. */
  recordScan(messageId: string, scan: SpamScan): Promise<void>;
  getScan(messageId: string): Promise<SpamScan | undefined>;
}
