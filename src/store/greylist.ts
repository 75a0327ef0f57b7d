// Greylisting triplets (issue 18): kept in the store, not in memory, so every node of a cluster gives
// the same answer to a retry that lands on another node. The decision is trust/greylist.ts's; this part
// only keeps records by key.

import type { GreylistRecord } from "../trust/greylist.js";

export type { GreylistRecord };

export interface GreylistStore {
  getTriplet(key: string): Promise<GreylistRecord | undefined>;
  /** Creates or replaces the record. */
  putTriplet(key: string, record: GreylistRecord): Promise<void>;
  /** Forgets triplets last seen before `before`; returns how many. */
  pruneTriplets(before: Date): Promise<number>;
}
