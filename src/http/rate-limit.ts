// Requests per client IP: a token bucket per address that refills continuously, so a client may burst up
// to its per-minute allowance and then goes at the refill rate.

export interface RateLimiter {
  /** 0 when the request may go ahead, else the milliseconds until it may. */
  take(ip: string): number;
}

export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  let lastSweep = now();
  return {
    take(ip) {
      const time = now();
      // Full buckets hold no information: dropping them keeps the map to the clients active this minute.
      if (time - lastSweep > 60_000) {
        for (const [key, bucket] of buckets) {
          if (bucket.tokens + (time - bucket.at) * perMs >= perMinute) buckets.delete(key);
        }
        lastSweep = time;
      }
      const bucket = buckets.get(ip) ?? { tokens: perMinute, at: time };
      bucket.tokens = Math.min(perMinute, bucket.tokens + (time - bucket.at) * perMs);
      bucket.at = time;
      buckets.set(ip, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / perMs);
    },
  };
}
