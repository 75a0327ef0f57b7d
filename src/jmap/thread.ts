// Thread/get and Thread/changes (RFC 8621 §3): a thread is the emails the store joined by Message-ID,
// In-Reply-To and References, oldest first.

import type { Store } from "../store/types.js";
import { MAIL } from "./capabilities.js";
import { changesMethod } from "./changes.js";
import { readIds } from "./get-ids.js";
import { emailIdOf, parseThreadId, stateOf, threadIdOf } from "./ids.js";
import type { Method } from "./types.js";

type ThreadJmapStore = Pick<Store, "emails">;

export function threadGet(store: ThreadJmapStore, maxObjects: number): Method {
  return {
    capability: MAIL,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      // RFC 8621 §3.1: there is no "all threads"; ids null returns none.
      const wanted = readIds(args, maxObjects, "Thread/get", context) ?? [];
      const userId = context.account.userId;
      const numbers = wanted.map(parseThreadId).filter((id): id is number => id !== null);
      const [threads, modseq] = await Promise.all([
        store.emails.getThreads(userId, numbers),
        store.emails.accountState(userId),
      ]);
      const found = new Map(threads.map((thread) => [threadIdOf(thread.threadId), thread]));
      return {
        accountId: context.account.accountId,
        state: stateOf(modseq),
        list: wanted.flatMap((id) => {
          const thread = found.get(id);
          return thread ? [{ id, emailIds: thread.emailIds.map(emailIdOf) }] : [];
        }),
        notFound: wanted.filter((id) => !found.has(id)),
      };
    },
  };
}

export function threadChanges(store: ThreadJmapStore): Method {
  return changesMethod({
    type: "Thread",
    idOf: threadIdOf,
    changes: (userId, since, max) => store.emails.threadChanges(userId, since, max),
  });
}
