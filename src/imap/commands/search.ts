/** SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH results (RFC 4731) and SAVE (RFC 5182). */

import type { Command } from "../protocol/command.js";
import { formatSequence } from "../protocol/sequence.js";
import { untagged } from "../responses.js";
import { keyNeedsBody, matches } from "../search/evaluate.js";
import type { SearchKey } from "../search/types.js";
import { type ImapContext, requireSelected } from "./context.js";

function usesModseq(key: SearchKey): boolean {
  if (key.type === "modseq") return true;
  if (key.type === "not") return usesModseq(key.key);
  if (key.type === "or") return usesModseq(key.left) || usesModseq(key.right);
  if (key.type === "and") return key.keys.some(usesModseq);
  return false;
}

export async function search(
  context: ImapContext,
  tag: string,
  command: Extract<Command, { name: "SEARCH" }>,
): Promise<Buffer[]> {
  const view = requireSelected(context);
  const modseqSearch = usesModseq(command.key);
  if (modseqSearch) context.condstore = true;
  const withBody = keyNeedsBody(command.key);
  const messages = new Map((await context.store.listMessages(view.mailbox.id)).map((m) => [m.uid, m]));
  const searchContext = { maxSeq: view.exists, maxUid: view.maxUid, savedUids: context.savedUids };
  const found: Array<{ seq: number; uid: number; modseq: number }> = [];
  for (let i = 0; i < view.messages.length; i++) {
    const known = view.messages[i];
    if (known === undefined) continue;
    const message = messages.get(known.uid);
    if (message === undefined) continue;
    const bytes = withBody ? await context.store.readBlobBytes(message.messageId) : null;
    const hit = matches(
      command.key,
      {
        seq: i + 1,
        uid: message.uid,
        flags: message.flags,
        internalDate: message.internalDate,
        size: message.size,
        modseq: BigInt(message.modseq),
        body: () => bytes ?? Buffer.alloc(0),
      },
      searchContext,
    );
    if (hit) found.push({ seq: i + 1, uid: message.uid, modseq: message.modseq });
  }
  const numbers = found.map((f) => (command.uid ? f.uid : f.seq));
  const highest = found.reduce((max, f) => Math.max(max, f.modseq), 0);
  const returns = command.returns ?? (context.rev2 ? ["ALL"] : null);
  if (returns === null) {
    const suffix = modseqSearch && found.length > 0 ? ` (MODSEQ ${highest})` : "";
    return [untagged(`SEARCH${numbers.map((n) => ` ${n}`).join("")}${suffix}`)];
  }
  const options = returns.length === 0 ? ["ALL"] : returns;
  if (options.includes("SAVE")) {
    context.savedUids = new Set(found.map((f) => f.uid));
    // RFC 5182 §2.4: SAVE alone produces no ESEARCH response.
    if (options.length === 1) return [];
  }
  let text = `ESEARCH (TAG "${tag.replace(/[\\"]/g, "\\$&")}")${command.uid ? " UID" : ""}`;
  if (options.includes("MIN") && numbers.length > 0) text += ` MIN ${Math.min(...numbers)}`;
  if (options.includes("MAX") && numbers.length > 0) text += ` MAX ${Math.max(...numbers)}`;
  if (options.includes("COUNT")) text += ` COUNT ${numbers.length}`;
  if (options.includes("ALL") && numbers.length > 0) text += ` ALL ${formatSequence(numbers)}`;
  if (modseqSearch && found.length > 0) text += ` MODSEQ ${highest}`;
  return [untagged(text)];
}
