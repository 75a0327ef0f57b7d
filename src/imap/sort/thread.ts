/**
 * THREAD's two algorithms of RFC 5256 §3 — ORDEREDSUBJECT and REFERENCES — and the thread-list answer
 * of §4. Trees are walked with explicit stacks, never recursion: a hostile mailbox can chain thousands
 * of replies.
 */

import type { ThreadAlgorithm } from "../protocol/command.js";
import type { SortFacts } from "./facts.js";

interface Node {
  /** null for a dummy: a message that is referred to but not among those threaded. */
  message: SortFacts | null;
  parent: Node | null;
  children: Node[];
}

function node(message: SortFacts | null): Node {
  return { message, parent: null, children: [] };
}

function unlink(child: Node): void {
  const parent = child.parent;
  if (parent === null) return;
  parent.children.splice(parent.children.indexOf(child), 1);
  child.parent = null;
}

function link(parent: Node, child: Node): void {
  child.parent = parent;
  parent.children.push(child);
}

/** Whether `a` is `b` or lies under it: linking `a` as the parent of `b` would then make a loop. */
function within(a: Node, b: Node): boolean {
  for (let n: Node | null = a; n !== null; n = n.parent) if (n === b) return true;
  return false;
}

/** Every node under `root` (root included), each before its descendants. */
function preorder(root: Node): Node[] {
  const out: Node[] = [];
  const stack = [root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as Node);
  }
  return out;
}

/** The message a node is sorted by: its own, or a dummy's first child's (its children sorted already). */
function sortMessage(n: Node): SortFacts {
  let m: Node = n;
  while (m.message === null) m = m.children[0] as Node;
  return m.message;
}

/** RFC 5256 §2.2: by sent date, ties (and unreadable dates, already the internal date) by mailbox order. */
function bySentDate(a: Node, b: Node): number {
  const x = sortMessage(a);
  const y = sortMessage(b);
  return x.sentDate - y.sentDate || x.seq - y.seq;
}

/** Sorts every set of siblings, the deepest first so a dummy's first child is known when it is compared. */
function sortSiblings(root: Node): void {
  const nodes = preorder(root);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const children = (nodes[i] as Node).children;
    if (children.length > 1) children.sort(bySentDate);
  }
}

/** `messages` by sequence number; as they are when already so (SEARCH gives its matches in that order). */
function inMailboxOrder(messages: readonly SortFacts[]): readonly SortFacts[] {
  for (let i = 1; i < messages.length; i++) {
    if ((messages[i - 1] as SortFacts).seq > (messages[i] as SortFacts).seq) {
      return [...messages].sort((a, b) => a.seq - b.seq);
    }
  }
  return messages;
}

function references(messages: readonly SortFacts[]): Node {
  const byId = new Map<string, Node>();
  const containers: Node[] = [];
  const container = (id: string): Node => {
    let found = byId.get(id);
    if (found === undefined) {
      found = node(null);
      byId.set(id, found);
      containers.push(found);
    }
    return found;
  };
  for (const message of inMailboxOrder(messages)) {
    // Step 1: a missing or repeated Message-ID (the lowest sequence number keeps it) gets a unique one.
    const existing = message.inputs.messageId === null ? undefined : byId.get(message.inputs.messageId);
    let own: Node;
    if (message.inputs.messageId !== null && (existing === undefined || existing.message === null)) {
      own = container(message.inputs.messageId);
      own.message = message;
    } else {
      own = node(message);
      containers.push(own);
    }
    // Step 1A: each reference the parent of the next, unless one is set already or it would loop.
    let last: Node | undefined;
    for (const id of message.inputs.references) {
      const child = container(id);
      if (last !== undefined && child.parent === null && !within(last, child)) link(last, child);
      last = child;
    }
    // Step 1B: the last reference is this message's parent, replacing what a truncated References set.
    unlink(own);
    if (last !== undefined && !within(last, own)) link(last, own);
  }
  // Step 2: the messages without a parent are the roots.
  const root = node(null);
  for (const c of containers) if (c.parent === null) link(root, c);
  // Step 4: dummies go; their children take their place, except several children at the top level.
  const nodes = preorder(root);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const parent = nodes[i] as Node;
    if (!parent.children.some((child) => child.message === null)) continue;
    const kept: Node[] = [];
    for (const child of parent.children) {
      if (child.message !== null) kept.push(child);
      else if (child.children.length === 0) child.parent = null;
      else if (parent !== root || child.children.length === 1) {
        for (const grandchild of child.children) {
          grandchild.parent = parent;
          kept.push(grandchild);
        }
      } else kept.push(child);
    }
    parent.children = kept;
  }
  // Step 5: the top level by sent date, a dummy by its earliest child.
  for (const top of root.children) if (top.message === null) top.children.sort(bySentDate);
  root.children.sort(bySentDate);
  mergeBySubject(root);
  // Step 7.
  sortSiblings(root);
  return root;
}

/** Step 6: threads whose subjects agree are gathered, the original before the replies. */
function mergeBySubject(root: Node): void {
  const subjectOf = (n: Node) => sortMessage(n).inputs.subject.text;
  const isReply = (n: Node) => n.message?.inputs.subject.isReplyOrForward === true;
  const table = new Map<string, Node>();
  for (const top of root.children) {
    const subject = subjectOf(top);
    if (subject === "") continue;
    const held = table.get(subject);
    if (held === undefined) table.set(subject, top);
    else if (held.message !== null && (top.message === null || (isReply(held) && !isReply(top)))) {
      table.set(subject, top);
    }
  }
  // Threads leave the top level by their parent changing; the list is rebuilt once at the end, as
  // taking each out of it in turn would cost a pass over it per merge.
  const added: Node[] = [];
  for (const top of root.children) {
    // A thread already moved under another (a table entry that came later in the list) is done.
    if (top.parent !== root) continue;
    const subject = subjectOf(top);
    if (subject === "") continue;
    const held = table.get(subject);
    if (held === undefined || held === top) continue;
    if (held.message === null && top.message === null) {
      for (const child of top.children) {
        child.parent = held;
        held.children.push(child);
      }
      top.children = [];
      top.parent = null;
    } else if (held.message === null || (isReply(top) && !isReply(held))) {
      top.parent = held;
      held.children.push(top);
    } else {
      const dummy = node(null);
      dummy.parent = root;
      held.parent = dummy;
      top.parent = dummy;
      dummy.children.push(held, top);
      added.push(dummy);
      table.set(subject, dummy);
    }
  }
  root.children = [...root.children.filter((top) => top.parent === root), ...added];
}

/** Sorted by base subject and sent date, cut where the subject changes; each first message the parent. */
function orderedSubject(messages: readonly SortFacts[]): Node {
  const sorted = [...messages].sort((a, b) => {
    const x = a.inputs.subject.text;
    const y = b.inputs.subject.text;
    return x < y ? -1 : x > y ? 1 : a.sentDate - b.sentDate || a.seq - b.seq;
  });
  const root = node(null);
  let first: Node | null = null;
  for (const message of sorted) {
    const n = node(message);
    if (first !== null && sortMessage(first).inputs.subject.text === message.inputs.subject.text)
      link(first, n);
    else {
      link(root, n);
      first = n;
    }
  }
  root.children.sort(bySentDate);
  return root;
}

/**
 * The THREAD response's thread-lists (RFC 5256 §4): a parent then its only child in one list
 * ("(1 2 3)"), several children each in their own ("(1 (2)(3 4))"), a dummy as a list of lists.
 */
function format(root: Node, numberOf: (m: SortFacts) => number): string {
  // One string grown in place: V8 joins the pieces lazily, cheaper than an array of thousands of them.
  let out = "";
  const work: Array<Node | null> = [];
  for (let i = root.children.length - 1; i >= 0; i--) work.push(root.children[i] as Node);
  // null closes the list opened for the node pushed before it.
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    if (item === null) {
      out += ")";
      continue;
    }
    out += "(";
    let n = item;
    if (n.message !== null) {
      out += numberOf(n.message);
      while (n.children.length === 1) {
        n = n.children[0] as Node;
        out += ` ${numberOf(n.message as SortFacts)}`;
      }
      if (n.children.length > 0) out += " ";
    }
    work.push(null);
    for (let i = n.children.length - 1; i >= 0; i--) work.push(n.children[i] as Node);
  }
  return out;
}

export function threadMessages(
  messages: readonly SortFacts[],
  algorithm: ThreadAlgorithm,
  numberOf: (m: SortFacts) => number,
): string {
  const root = algorithm === "REFERENCES" ? references(messages) : orderedSubject(messages);
  return format(root, numberOf);
}
