// What /queryChanges (RFC 8620 §5.6) answers, from the new query result and the ids whose records
// changed since the old state. A record that did not change keeps its place relative to the other
// unchanged ones (the sort reads only the record, and ties break by id), so naming every changed id
// as removed, and re-adding those still in the result at their new index, turns the old result into
// the new one; §5.6 allows removed to name ids that were not in the old result.

export interface QueryChanges {
  removed: string[];
  added: Array<{ id: string; index: number }>;
}

export function queryChangesOf(newIds: readonly string[], changed: ReadonlySet<string>): QueryChanges {
  const added: Array<{ id: string; index: number }> = [];
  newIds.forEach((id, index) => {
    if (changed.has(id)) added.push({ id, index });
  });
  return { removed: [...changed], added };
}

/** The client's side of §5.6: drop the removed ids, then splice in the added ones by ascending index. */
export function applyQueryChanges(oldIds: readonly string[], changes: QueryChanges): string[] {
  const removed = new Set(changes.removed);
  const result = oldIds.filter((id) => !removed.has(id));
  for (const { id, index } of [...changes.added].sort((a, b) => a.index - b.index)) {
    result.splice(index, 0, id);
  }
  return result;
}
