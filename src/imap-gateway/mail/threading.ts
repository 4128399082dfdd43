// THREAD (RFC 5256 sections 3 and 4): ORDEREDSUBJECT and REFERENCES over the messages a SEARCH
// found, and the thread-list response. Pure: the caller hands in what each message's headers
// say and maps the numbers (sequence numbers or UIDs) it wants on the wire.
import { subjectOf } from "./sortKeys.ts";

/**
 * subjectOf with the base upper-cased (threads match subjects case-insensitively), once per
 * distinct subject: most messages of a mailbox share theirs with others.
 */
function subjectKeys(): (subject: string) => { base: string; replyOrForward: boolean } {
  const cache = new Map<string, { base: string; replyOrForward: boolean }>();
  return (subject) => {
    let info = cache.get(subject);
    if (info === undefined) {
      const { base, replyOrForward } = subjectOf(subject);
      info = { base: base.toUpperCase(), replyOrForward };
      cache.set(subject, info);
    }
    return info;
  };
}

export interface ThreadMessage {
  /** What the response names the message by (a sequence number or a UID); ascending = mailbox order. */
  readonly id: number;
  /** The sent date (the INTERNALDATE when the Date header is missing), ms since the epoch. */
  readonly date: number;
  /** The Subject as sent. */
  readonly subject: string;
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly references: string | null;
}

/** A thread node: a message, or a placeholder (id null) for a message that is referred to only. */
export interface ThreadNode {
  id: number | null;
  children: ThreadNode[];
}

const MESSAGE_ID = /<[^<>]*>/g;
const MAX_REFERENCES = 256;

/** The msg-ids of a header value, normalized (lower-cased: they are compared, not shown). */
function messageIds(value: string | null): string[] {
  return (value ?? "").match(MESSAGE_ID)?.map((id) => id.toLowerCase()) ?? [];
}

const byDateThenId = (dates: ReadonlyMap<number, number>) => (a: number, b: number) =>
  dates.get(a)! - dates.get(b)! || a - b;

/** ORDEREDSUBJECT: one thread per base subject, the earliest message the parent of the rest. */
export function orderedSubjectThreads(messages: readonly ThreadMessage[]): ThreadNode[] {
  const dates = new Map(messages.map((m) => [m.id, m.date] as const));
  const order = byDateThenId(dates);
  const groups = new Map<string, number[]>();
  const keys = subjectKeys();
  for (const message of messages) {
    const { base } = keys(message.subject);
    const group = groups.get(base);
    if (group) group.push(message.id);
    else groups.set(base, [message.id]);
  }
  const threads = [...groups.values()].map((ids) => ids.sort(order));
  threads.sort((a, b) => order(a[0]!, b[0]!));
  return threads.map(([first, ...rest]) => ({
    id: first!,
    children: rest.map((id) => ({ id, children: [] })),
  }));
}

interface Container {
  message: ThreadMessage | null;
  parent: Container | null;
  children: Container[];
}

function isAncestor(candidate: Container, of: Container): boolean {
  // A container with no children is nobody's ancestor: the common case, answered at once (a
  // walk up every time would make a long reply chain quadratic).
  if (candidate.children.length === 0) return false;
  for (let node: Container | null = of; node !== null; node = node.parent)
    if (node === candidate) return true;
  return false;
}

function link(parent: Container, child: Container): void {
  if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = parent;
  parent.children.push(child);
}

function unlink(child: Container): void {
  if (!child.parent) return;
  child.parent.children.splice(child.parent.children.indexOf(child), 1);
  child.parent = null;
}

/** REFERENCES (RFC 5256 section 4, after Jamie Zawinski's algorithm). */
export function referencesThreads(messages: readonly ThreadMessage[]): ThreadNode[] {
  const byId = new Map<string, Container>();
  const all: Container[] = [];
  const container = (id: string): Container => {
    let found = byId.get(id);
    if (!found) {
      found = { message: null, parent: null, children: [] };
      byId.set(id, found);
      all.push(found);
    }
    return found;
  };
  // (1) Containers for every message and every message it refers to, linked along the chains.
  for (const message of [...messages].sort((a, b) => a.id - b.id)) {
    const [ownId] = messageIds(message.messageId);
    let own: Container;
    if (ownId !== undefined && byId.get(ownId)?.message == null) {
      own = container(ownId);
      own.message = message;
    } else {
      // No Message-ID, or one already taken: a container of its own.
      own = { message, parent: null, children: [] };
      all.push(own);
    }
    // The last MAX_REFERENCES: the parent is the last one, and a header of thousands of ids
    // (anyone can send one) must not cost a walk each.
    let references = messageIds(message.references).slice(-MAX_REFERENCES);
    if (references.length === 0) references = messageIds(message.inReplyTo).slice(0, 1);
    let previous: Container | null = null;
    for (const id of references) {
      const current = container(id);
      if (previous && !current.parent && current !== previous && !isAncestor(current, previous)) {
        link(previous, current);
      }
      previous = current;
    }
    // (1B) The message's own references are the best word on its parent: the parent another
    // message's References gave it goes, even when the new link would close a loop and is not
    // made (RFC 5256 4, step 1B: break the current link before creating the new one).
    unlink(own);
    if (previous && previous !== own && !isAncestor(own, previous)) link(previous, own);
  }
  // (2)-(4) The root set, without placeholders that hold nothing or stand for one message.
  // Below the root a placeholder always gives way to its children; at the root only to one.
  // Children before parents, without recursion: a reply chain may be thousands deep.
  const rootSet0 = all.filter((node) => node.parent === null);
  for (const node of descendantsFirst(rootSet0)) {
    const kept: Container[] = [];
    for (const child of node.children) {
      if (child.message !== null) kept.push(child);
      else for (const grandchild of child.children) kept.push(grandchild);
    }
    for (const child of kept) child.parent = node;
    node.children = kept;
  }
  let roots: Container[] = [];
  for (const root of rootSet0) {
    if (root.message !== null || root.children.length > 1) roots.push(root);
    else if (root.children.length === 1) roots.push(root.children[0]!);
  }
  for (const root of roots) root.parent = null;

  const dateOf = (node: Container): number => node.message?.date ?? dateOf(node.children[0]!);
  const idOf = (node: Container): number => node.message?.id ?? idOf(node.children[0]!);
  const bySentDate = (a: Container, b: Container) => dateOf(a) - dateOf(b) || idOf(a) - idOf(b);
  const sortTree = (nodes: Container[]) => {
    // Children first: a placeholder is dated by its first child.
    for (const node of descendantsFirst(nodes)) node.children.sort(bySentDate);
    nodes.sort(bySentDate);
  };
  sortTree(roots);

  // (5) Threads whose roots share a base subject are merged.
  const keys = subjectKeys();
  const firstMessage = (node: Container): ThreadMessage => node.message ?? firstMessage(node.children[0]!);
  const threadSubject = (node: Container) => keys(firstMessage(node).subject);
  const table = new Map<string, Container>();
  for (const root of roots) {
    const { base, replyOrForward } = threadSubject(root);
    if (base === "") continue;
    const existing = table.get(base);
    if (
      existing === undefined ||
      (existing.message !== null &&
        (root.message === null || (threadSubject(existing).replyOrForward && !replyOrForward)))
    ) {
      table.set(base, root);
    }
  }
  const rootSet = new Set(roots);
  for (const root of roots) {
    if (!rootSet.has(root)) continue;
    const { base, replyOrForward } = threadSubject(root);
    if (base === "") continue;
    const target = table.get(base)!;
    if (target === root) continue;
    rootSet.delete(root);
    if (target.message === null && root.message === null) {
      for (const child of [...root.children]) link(target, child);
    } else if (target.message === null) {
      link(target, root);
    } else if (replyOrForward && !threadSubject(target).replyOrForward) {
      link(target, root);
    } else {
      const holder: Container = { message: null, parent: null, children: [] };
      rootSet.delete(target);
      link(holder, target);
      link(holder, root);
      rootSet.add(holder);
      table.set(base, holder);
    }
  }
  // (6) Every set of siblings by sent date.
  roots = [...rootSet];
  sortTree(roots);

  const nodes = new Map<Container, ThreadNode>();
  for (const container of descendantsFirst(roots)) {
    nodes.set(container, {
      id: container.message?.id ?? null,
      children: container.children.map((child) => nodes.get(child)!),
    });
  }
  return roots.map((root) => nodes.get(root)!);
}

/** Every container under `roots` and the roots themselves, each after all of its descendants. */
function descendantsFirst(roots: readonly Container[]): Container[] {
  const preorder: Container[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    preorder.push(node);
    for (const child of node.children) stack.push(child);
  }
  return preorder.reverse();
}

/**
 * The thread-list of a THREAD response: "(1 2 (3)(4 5))" for each thread. A chain of single
 * replies is a run of numbers; where a message has two or more replies each is a nested list.
 * Without recursion: a thread may be thousands deep.
 */
export function encodeThreads(threads: readonly ThreadNode[]): string {
  const out: string[] = [];
  const stack: (ThreadNode | ")")[] = [...threads].reverse();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item === ")") {
      out.push(")");
      continue;
    }
    out.push("(");
    const ids: number[] = [];
    let current = item;
    for (;;) {
      if (current.id !== null) ids.push(current.id);
      if (current.children.length !== 1) break;
      current = current.children[0]!;
    }
    out.push(ids.join(" "));
    if (current.children.length === 0) {
      out.push(")");
      continue;
    }
    if (ids.length > 0) out.push(" ");
    stack.push(")");
    for (let i = current.children.length - 1; i >= 0; i -= 1) stack.push(current.children[i]!);
  }
  return out.join("");
}
