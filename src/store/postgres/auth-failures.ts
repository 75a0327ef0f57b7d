// The authentication failures all nodes share (src/auth/cluster-throttle.ts), in the table auth_failures
// of schema 5; schema.ts says why it is UNLOGGED.

import { type AuthFailureStore, StoreError } from "../types.js";
import type { PostgresDatabase } from "./database.js";

/** Expired authentication failures removed, at most, by each one recorded. */
const AUTH_FAILURE_PRUNE_BATCH = 100;
/** Client keys are addresses or IPv6 /64 prefixes; anything far longer is not one. */
const MAX_AUTH_FAILURE_KEY = 256;

function checkAuthFailureKey(key: string, at: Date): void {
  if (typeof key !== "string" || key === "" || key.length > MAX_AUTH_FAILURE_KEY)
    throw new StoreError("invalid", `a client key must be 1 to ${MAX_AUTH_FAILURE_KEY} characters`);
  if (!(at instanceof Date) || Number.isNaN(at.getTime()))
    throw new StoreError("invalid", "the failure time must be a valid date");
}

export class PostgresAuthFailures implements AuthFailureStore {
  constructor(private readonly database: PostgresDatabase) {}

  async record(key: string, at: Date, windowMs: number): Promise<number> {
    checkAuthFailureKey(key, at);
    if (!Number.isFinite(windowMs) || windowMs <= 0)
      throw new StoreError("invalid", "the failure window must be a positive number of milliseconds");
    const cutoff = new Date(at.getTime() - windowMs);
    // One statement: prune, insert and count together. The count reads the snapshot taken before the
    // insert, hence the + 1. Pruning takes at most AUTH_FAILURE_PRUNE_BATCH rows per failure, skipping
    // rows another node is pruning right now, so a failure costs bounded work and nodes never wait on
    // each other; since each failure adds one row and removes up to a batch of expired ones, expired rows
    // cannot pile up.
    const rows = await this.database.read<{ failures: number }>(
      `WITH pruned AS (
         DELETE FROM auth_failures WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM auth_failures WHERE at <= $3 LIMIT ${AUTH_FAILURE_PRUNE_BATCH}
           FOR UPDATE SKIP LOCKED))
       ), recorded AS (
         INSERT INTO auth_failures (key, at) VALUES ($1, $2)
       )
       SELECT count(*)::int + 1 AS failures FROM auth_failures WHERE key = $1 AND at > $3`,
      [key, at, cutoff],
    );
    return rows[0]?.failures ?? 1;
  }

  async recent(key: string, since: Date): Promise<number> {
    checkAuthFailureKey(key, since);
    const rows = await this.database.read<{ failures: number }>(
      "SELECT count(*)::int AS failures FROM auth_failures WHERE key = $1 AND at > $2",
      [key, since],
    );
    return rows[0]?.failures ?? 0;
  }
}
