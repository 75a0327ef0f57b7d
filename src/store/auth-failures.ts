// Authentication failures shared by the nodes of a cluster (src/auth/cluster-throttle.ts). The part is
// optional: a store serving one node leaves it out and the authenticator counts in its own memory only.

export interface AuthFailureStore {
  /**
   * Records a failed authentication of `key` (a client key, see src/auth/throttle.ts clientKey) at `at`
   * and returns how many failures of that key lie inside the window (at − windowMs, at], this one
   * included. Also forgets a bounded batch of failures older than the window, so the record stays small.
   */
  record(key: string, at: Date, windowMs: number): Promise<number>;
  /** How many failures of `key` were recorded after `since`. */
  recent(key: string, since: Date): Promise<number>;
}
