// Training rspamd from what users do (issue 18): a message moved or copied into the Junk mailbox is
// learned as spam, one taken out of Junk (to anywhere but Trash) as ham. Every client path that moves
// mail — IMAP COPY and MOVE, JMAP Email/set mailboxIds, the webmail through JMAP — ends in the store's
// `messages.copyMessages` or `moveMessages`, so the store handed to the protocols wraps those two. The
// learning runs after the store call has answered, off the request path; its failures are only logged.

import type { Logger } from "pino";
import type { SpecialUse, Store } from "../store/types.js";

export type LearnKind = "spam" | "ham";

/** Pure: what a transfer between mailboxes of these special uses teaches, if anything. */
export function learnDirection(from: SpecialUse | null, to: SpecialUse | null): LearnKind | null {
  if (to === "\\Junk" && from !== "\\Junk") return "spam";
  // Junk emptied into Trash says nothing about whether it was spam.
  if (from === "\\Junk" && to !== "\\Junk" && to !== "\\Trash") return "ham";
  return null;
}

export interface Trainer {
  learn(kind: LearnKind, message: AsyncIterable<Buffer>): Promise<void>;
}

/**
 * The same store, whose copyMessages and moveMessages also train `trainer`. `trained` (for tests and
 * shutdown) resolves when the learning started so far has finished.
 */
export function withJunkTraining<S extends Store>(
  store: S,
  trainer: Trainer,
  logger: Logger,
): S & { trained(): Promise<void> } {
  const messages = store.messages;
  const pending = new Set<Promise<void>>();

  const train = async (fromId: number, toId: number, uids: number[]) => {
    const [from, to] = await Promise.all([
      store.mailboxes.getMailboxById(fromId),
      store.mailboxes.getMailboxById(toId),
    ]);
    if (from === null || to === null) return;
    const kind = learnDirection(from.specialUse ?? null, to.specialUse ?? null);
    if (kind === null) return;
    for (const uid of uids) {
      const entry = await messages.getMessage(toId, uid);
      // Moved on or expunged since: nothing left to learn from.
      if (entry === null) continue;
      try {
        await trainer.learn(kind, store.blobs.readBlob(entry.messageId));
        logger.info({ messageId: entry.messageId, kind }, `rspamd learned the message as ${kind}`);
      } catch (err) {
        logger.warn({ err, messageId: entry.messageId }, `rspamd learn_${kind} failed`);
      }
    }
  };

  const wrap =
    (name: "copyMessages" | "moveMessages") => async (fromId: number, uids: number[], toId: number) => {
      const result = await messages[name](fromId, uids, toId);
      const job = train(
        fromId,
        toId,
        result.mapping.map(([, uid]) => uid),
      ).catch((err: unknown) => logger.warn({ err }, "rspamd training failed"));
      pending.add(job);
      void job.finally(() => pending.delete(job));
      return result;
    };

  const trainedMessages = Object.create(messages, {
    copyMessages: { value: wrap("copyMessages") },
    moveMessages: { value: wrap("moveMessages") },
  }) as S["messages"];
  return Object.create(store, {
    messages: { value: trainedMessages },
    trained: { value: async () => void (await Promise.allSettled([...pending])) },
  }) as S & { trained(): Promise<void> };
}
