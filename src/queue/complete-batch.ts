// Recording delivered entries in batches: each completed entry is a transaction, and on SQLite each
// transaction is an fsync on the event loop's thread, which capped the relay at one message per fsync.
// The 250s that arrive while one batch commits join the next, so a busy relay commits many at once and
// a quiet one still commits each right away (the next turn of the event loop).
//
// Nothing changes about when an entry leaves the queue: each is recorded after the remote's 250 for it,
// and its caller hears only after the commit. A crash before the commit sends it again (see scheduler.ts).

import { StoreError } from "../store/types.js";

/** Entries recorded in one transaction at most; the rest go in the next. */
const MAX_BATCH = 256;

export interface CompleteBatch {
  /** Resolves once the entry's removal is committed; rejects "not-found" when it was gone already. */
  complete(id: string): Promise<void>;
}

export function createCompleteBatch(completeMany: (ids: string[]) => Promise<string[]>): CompleteBatch {
  let waiting: Array<{ id: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  let running: Promise<void> | null = null;

  const commitAll = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(MAX_BATCH);
      try {
        const removed = new Set(await completeMany(batch.map((each) => each.id)));
        for (const each of batch) {
          if (removed.has(each.id)) each.resolve();
          else each.reject(new StoreError("not-found", `queue entry ${each.id} does not exist`));
        }
      } catch (err) {
        for (const each of batch) each.reject(err);
      }
    }
  };

  const schedule = (): void => {
    if (running !== null) return;
    // setImmediate: the replies already read in this turn join the batch before it commits.
    running = new Promise<void>((turn) => setImmediate(turn)).then(commitAll).finally(() => {
      running = null;
      // Added after the loop saw the list empty, before this ran.
      if (waiting.length > 0) schedule();
    });
  };

  return {
    complete(id: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ id, resolve, reject });
        schedule();
      });
    },
  };
}
