// METADATA (RFC 5464): what a SETMETADATA decides, given the entries the index holds for the
// annotated mailbox (or the server) and the limits in force. Pure: no I/O.
import { metadataEntriesSet, type UserEvent } from "../../events/domain/userEvents.ts";

/** The server's limits on entries (RFC 5464 4.1: at least 1024 octets and 10 entries). */
export interface MetadataLimits {
  /**
   * Largest value in octets; above it SETMETADATA answers NO [METADATA MAXSIZE n]. Below the
   * gateway's literal limit (64 KiB by default), which refuses a larger literal before reading it
   * with NO [TOOBIG].
   */
  readonly maxValueSize: number;
  /**
   * Most entries one account may have on one mailbox (or on the server), private and shared
   * together; a SETMETADATA that would go above answers NO [METADATA TOOMANY].
   */
  readonly maxEntriesPerMailbox: number;
  /** Longest entry name in octets; a longer one is refused as a bad argument. */
  readonly maxEntryNameLength: number;
}

export const DEFAULT_METADATA_LIMITS: MetadataLimits = {
  maxValueSize: 16 * 1024,
  maxEntriesPerMailbox: 100,
  maxEntryNameLength: 256,
};

/** An entry and its new value; null removes it (RFC 5464 4.3: NIL). */
export interface MetadataChange {
  readonly name: string;
  readonly value: string | null;
}

/** Why a SETMETADATA is refused as a whole (RFC 5464 4.3: no entry is changed then). */
export class MetadataLimitError extends Error {
  readonly limit: "maxsize" | "toomany";
  /** For "maxsize": the largest value the server accepts, in octets. */
  readonly maxSize: number | undefined;
  constructor(limit: "maxsize" | "toomany", message: string, maxSize?: number) {
    super(message);
    this.name = "MetadataLimitError";
    this.limit = limit;
    this.maxSize = maxSize;
  }
}

/** An entry name SETMETADATA or GETMETADATA was given that no entry can have. */
export class MetadataEntryNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetadataEntryNameError";
  }
}

const ENTRY_NAME_RE = /^\/(private|shared)(\/[^/]+)+$/;

/**
 * The entry name as stored: lower-cased (RFC 5464 3.2: names compare case-insensitively). It must
 * start with /private/ or /shared/, have no empty component, no trailing "/", no "*" or "%", and
 * no control character.
 */
export function canonicalEntryName(
  name: string,
  limits: MetadataLimits = DEFAULT_METADATA_LIMITS,
  options: { readonly root?: boolean } = {},
): string {
  const lower = name.toLowerCase();
  // GETMETADATA may name a whole scope (with DEPTH, every private or shared entry); SET may not.
  if (options.root && (lower === "/private" || lower === "/shared")) return lower;
  if (Buffer.byteLength(lower, "utf8") > limits.maxEntryNameLength) {
    throw new MetadataEntryNameError(`entry name longer than ${limits.maxEntryNameLength} octets`);
  }
  if (/[*%\u0000-\u001f\u007f]/.test(lower)) {
    throw new MetadataEntryNameError(
      `entry name ${JSON.stringify(name)} has "*", "%" or a control character`,
    );
  }
  if (!ENTRY_NAME_RE.test(lower)) {
    throw new MetadataEntryNameError(
      `entry name ${JSON.stringify(name)} is not /private/... or /shared/... (no empty part, no trailing "/")`,
    );
  }
  return lower;
}

/**
 * The event of one SETMETADATA on the entries `current` (name → value) of one mailbox (mailboxId)
 * or of the server (null). Entries set to the value they have, and removals of entries that do
 * not exist, are left out; nothing left: no event. The last of several changes of one name wins.
 */
export function decideSetMetadata(
  command: { readonly mailboxId: string | null; readonly changes: readonly MetadataChange[] },
  current: ReadonlyMap<string, string>,
  limits: MetadataLimits = DEFAULT_METADATA_LIMITS,
): UserEvent[] {
  const wanted = new Map<string, string | null>();
  for (const change of command.changes) {
    const name = canonicalEntryName(change.name, limits);
    if (change.value !== null && Buffer.byteLength(change.value, "utf8") > limits.maxValueSize) {
      throw new MetadataLimitError(
        "maxsize",
        `the value of ${name} is larger than ${limits.maxValueSize} octets`,
        limits.maxValueSize,
      );
    }
    wanted.delete(name);
    wanted.set(name, change.value);
  }
  const entries = [...wanted]
    .filter(([name, value]) => (value === null ? current.has(name) : current.get(name) !== value))
    .map(([name, value]) => ({ name, value }));
  if (entries.length === 0) return [];
  let count = current.size;
  for (const entry of entries) count += entry.value === null ? -1 : current.has(entry.name) ? 0 : 1;
  if (count > limits.maxEntriesPerMailbox && count > current.size) {
    throw new MetadataLimitError(
      "toomany",
      `at most ${limits.maxEntriesPerMailbox} metadata entries per mailbox and account`,
    );
  }
  return [
    {
      type: metadataEntriesSet.type,
      schemaVersion: metadataEntriesSet.schemaVersion,
      data: { mailboxId: command.mailboxId, entries },
    },
  ];
}
