// `mailledger history USER [MAILBOX] [--since T] [--until T] [--json]`: the audit trail of an
// account from the events table (who, when, from which address, which command, what changed).
// `mailledger history USER MAILBOX --at T`: the mailbox as it was at T, folded from its stream
// with the aggregates' own evolve functions (the user stream says which mailbox bore the name).
import { parseArgs } from "node:util";
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { DomainError } from "../commands/errors.ts";
import {
  evolve as evolveMailbox,
  initialState as initialMailboxState,
  type MailboxState,
} from "../commands/mailbox/decider.ts";
import { canonicalMailboxName } from "../commands/names.ts";
import { evolveAll as evolveUser, initialState as initialUserState } from "../commands/user/decider.ts";
import { canonicalUsername } from "../commands/user/username.ts";
import type { HeaderSummary } from "../events/domain/common.ts";
import { parseDomainEvent } from "../events/domain/index.ts";
import type { MailboxEvent } from "../events/domain/mailboxEvents.ts";
import { type UserEvent, userEventDefinitions } from "../events/domain/userEvents.ts";
import { mailboxStreamId, type RecordedEvent, userStreamId } from "../events/envelope.ts";
import { eventColumns, eventRow, toRecordedEvent } from "../events/eventRow.ts";
import { readStream } from "../events/readStream.ts";
import { encodeSequenceNumbers } from "../imap-gateway/codec/index.ts";
import {
  type AdminCommandDeps,
  EXIT_OK,
  parseTime,
  positionalsOf,
  runAdmin,
  UsageError,
  write,
} from "./mailbox.ts";

export const HISTORY_USAGE = `usage:
  mailledger history USER [MAILBOX] [--since TIME] [--until TIME] [--json]
  mailledger history USER MAILBOX --at TIME [--json]      (the mailbox's messages as they were at TIME)
TIME: an ISO 8601 instant, e.g. 2026-01-31T12:00:00Z. A deleted account's history stays readable.`;

const PAGE_SIZE = 500;
const REDACTED = "[redacted]";

interface Account {
  id: string;
  username: string;
  deleted: boolean;
}

/** The live account of that name, else the most recently deleted one: history outlives accounts. */
async function findAccount(pool: DatabasePool, username: string): Promise<Account> {
  let canonical: string;
  try {
    canonical = canonicalUsername(username);
  } catch {
    throw new DomainError("NONEXISTENT", `no user named "${username}"`);
  }
  const account = await pool.maybeOne(sql.type(
    z.object({ id: z.string(), username: z.string(), deleted: z.boolean() }),
  )`
    SELECT id, username, deleted_at IS NOT NULL AS deleted FROM users WHERE username = ${canonical}
    ORDER BY deleted_at IS NULL DESC, deleted_at DESC LIMIT 1`);
  if (!account) throw new DomainError("NONEXISTENT", `no user named "${canonical}" (now or ever)`);
  return account;
}

const USER_EVENT_TYPES: ReadonlySet<string> = new Set(
  userEventDefinitions.map((definition) => definition.type),
);

/** A user stream's event, read through the domain's parser: its data checked against its schema. */
function asUserEvent(event: RecordedEvent): UserEvent & RecordedEvent {
  if (!USER_EVENT_TYPES.has(event.type)) throw new Error(`${event.type} is not an event of a user stream`);
  return { ...event, ...parseDomainEvent(event) } as UserEvent & RecordedEvent;
}

/** A mailbox stream's event, read through the domain's parser. */
function asMailboxEvent(event: RecordedEvent): MailboxEvent & RecordedEvent {
  if (USER_EVENT_TYPES.has(event.type)) throw new Error(`${event.type} is not an event of a mailbox stream`);
  return { ...event, ...parseDomainEvent(event) } as MailboxEvent & RecordedEvent;
}

/** The mailbox ids a user event concerns. */
function mailboxIdsOf(event: UserEvent): string[] {
  switch (event.type) {
    case "MailboxCreated":
    case "MailboxDeleted":
    case "MailboxSpecialUseSet":
    case "MailboxAppendLimitSet":
    case "MailboxAclSet":
    case "MailboxAclDeleted":
      return [event.data.mailboxId];
    case "MailboxAccessKeyReset":
    case "MetadataEntriesSet":
      return event.data.mailboxId === null ? [] : [event.data.mailboxId];
    case "MailboxRenamed":
      return event.data.renames.map((rename) => rename.mailboxId);
    case "UserCreated":
    case "UserPasswordChanged":
    case "UserDeleted":
    case "UserAppendLimitSet":
    case "UserQuotaSet":
    case "MailboxSubscribed":
    case "MailboxUnsubscribed":
      return [];
    default: {
      const unknown: never = event;
      throw new Error(`no mailbox ids known for ${(unknown as UserEvent).type}`);
    }
  }
}

const otherMailboxRow = z.object({ name: z.string(), username: z.string() });

/**
 * A COPY or MOVE between two users' mailboxes (a mailbox shared with one of them) names the other
 * user's mailbox, which this account's events do not: it is named "<name> (of <owner>)", as it
 * is called now.
 */
async function nameOtherUsersMailbox(pool: DatabasePool, names: NameTracker, event: MailboxEvent) {
  const id =
    event.type === "MessagesCopiedIn" || event.type === "MessagesMovedIn"
      ? event.data.sourceMailboxId
      : event.type === "MessagesMovedOut"
        ? event.data.targetMailboxId
        : undefined;
  if (id === undefined || names.names.has(id)) return;
  const row = await pool.maybeOne(sql.type(otherMailboxRow)`
    SELECT mb.name, u.username FROM mailboxes AS mb JOIN users AS u ON u.id = mb.user_id WHERE mb.id = ${id}`);
  if (row !== null) names.names.set(id, `${row.name} (of ${row.username})`);
}

/** Mailbox names over time, followed in log order alongside the events being shown. */
class NameTracker {
  readonly #events: (UserEvent & RecordedEvent)[];
  #next = 0;
  readonly names = new Map<string, string>();
  constructor(userEvents: readonly RecordedEvent[]) {
    this.#events = userEvents.map(asUserEvent);
  }
  /** Names as of just before `position` (a user event's own names are those it leaves behind). */
  advanceTo(position: number, inclusive: boolean): void {
    for (; this.#next < this.#events.length; this.#next++) {
      const event = this.#events[this.#next]!;
      if (event.globalPosition > position || (!inclusive && event.globalPosition === position)) return;
      if (event.type === "MailboxCreated") this.names.set(event.data.mailboxId, event.data.name);
      if (event.type === "MailboxRenamed") {
        for (const rename of event.data.renames) this.names.set(rename.mailboxId, rename.to);
      }
    }
  }
  nameOf(mailboxId: string): string {
    return this.names.get(mailboxId) ?? mailboxId;
  }
}

const flagList = (flags: readonly string[]) => `(${flags.join(" ")})`;
const quoted = (summary: HeaderSummary) => JSON.stringify(summary.subject ?? "");

function describe(event: RecordedEvent, names: NameTracker): string {
  if (event.streamId.startsWith("user-")) {
    const user = asUserEvent(event);
    switch (user.type) {
      case "UserCreated":
        return `created user ${user.data.username}${user.data.appendLimit === null ? "" : ` (append limit ${user.data.appendLimit})`}`;
      case "UserPasswordChanged":
        return "changed the password";
      case "UserDeleted":
        return `deleted user ${user.data.username}`;
      case "UserAppendLimitSet":
        return `set the account's append limit to ${user.data.appendLimit ?? "none"}`;
      case "UserQuotaSet":
        return `set the account's storage quota to ${user.data.storageLimit ?? "none"}`;
      case "MailboxCreated":
        return `created mailbox ${user.data.name}${user.data.cause === "create" ? "" : ` (${user.data.cause})`}${user.data.specialUse ? ` ${user.data.specialUse}` : ""}`;
      case "MailboxRenamed":
        return `renamed ${user.data.renames.map((rename) => `${rename.from} to ${rename.to}`).join(", ")}`;
      case "MailboxDeleted":
        return `deleted mailbox ${user.data.name}${user.data.keptAsNoselect ? " (kept as \\Noselect)" : ""}`;
      case "MailboxSubscribed":
        return `subscribed ${user.data.name}`;
      case "MailboxUnsubscribed":
        return `unsubscribed ${user.data.name}`;
      case "MailboxSpecialUseSet":
        return `set special use of ${names.nameOf(user.data.mailboxId)} to ${user.data.specialUse ?? "none"}`;
      case "MailboxAppendLimitSet":
        return `set append limit of ${names.nameOf(user.data.mailboxId)} to ${user.data.appendLimit ?? "none"}`;
      case "MailboxAccessKeyReset":
        return user.data.mailboxId === null
          ? "reset the URLAUTH access keys of every mailbox"
          : `reset the URLAUTH access key of ${names.nameOf(user.data.mailboxId)}`;
      case "MailboxAclSet":
        return `granted ${user.data.identifier} the rights "${user.data.rights}" on ${names.nameOf(user.data.mailboxId)}`;
      case "MailboxAclDeleted":
        return `removed every right of ${user.data.identifier} on ${names.nameOf(user.data.mailboxId)}`;
      case "MetadataEntriesSet": {
        const where = user.data.mailboxId === null ? "the server" : names.nameOf(user.data.mailboxId);
        const entries = user.data.entries.map((entry) =>
          entry.value === null ? `removed ${entry.name}` : `${entry.name} = ${JSON.stringify(entry.value)}`,
        );
        return `set metadata of ${where}: ${entries.join(", ")}`;
      }
      default: {
        const unknown: never = user;
        return (unknown as UserEvent).type;
      }
    }
  }
  const mailbox = asMailboxEvent(event);
  switch (mailbox.type) {
    case "MailboxInitialized":
      return `mailbox stream started (UIDVALIDITY ${mailbox.data.uidValidity}, UIDNEXT ${mailbox.data.uidNext})`;
    case "MessageAppended":
      return `appended UID ${mailbox.data.uid} ${quoted(mailbox.data.headerSummary)} (${mailbox.data.size} octets)${mailbox.data.flags.length === 0 ? "" : ` ${flagList(mailbox.data.flags)}`}`;
    case "MessageFlagsChanged": {
      const operation = { add: "+FLAGS", remove: "-FLAGS", replace: "FLAGS" }[mailbox.data.operation];
      return `${operation} ${flagList(mailbox.data.requestedFlags)} on UID ${encodeSequenceNumbers(mailbox.data.messages.map((m) => m.uid))}`;
    }
    case "MessagesExpunged":
      return `expunged UID ${encodeSequenceNumbers(mailbox.data.uids)} (${mailbox.data.cause})`;
    case "MessagesCopiedIn":
    case "MessagesMovedIn":
      return `${mailbox.type === "MessagesCopiedIn" ? "copied" : "moved"} in from ${names.nameOf(mailbox.data.sourceMailboxId)}: ${mailbox.data.messages
        .map((m) => `UID ${m.sourceUid} -> ${m.uid} ${quoted(m.headerSummary)}`)
        .join(", ")}`;
    case "PrivateSeenChanged":
      // The actor's own \Seen on a mailbox shared with him (the actor column says who).
      return `${mailbox.data.seen ? "+FLAGS" : "-FLAGS"} (\\Seen) for the actor alone on UID ${encodeSequenceNumbers(mailbox.data.uids)}`;
    case "MessagesMovedOut":
      return `moved UID ${encodeSequenceNumbers(mailbox.data.uids)} out to ${names.nameOf(mailbox.data.targetMailboxId)}`;
    default: {
      const unknown: never = mailbox;
      return (unknown as MailboxEvent).type;
    }
  }
}

function redacted(event: RecordedEvent): unknown {
  if (event.type !== "UserCreated" && event.type !== "UserPasswordChanged") return event.data;
  return { ...(event.data as Record<string, unknown>), passwordHash: REDACTED };
}

export interface HistoryEntry {
  globalPosition: number;
  recordedAt: string;
  streamId: string;
  streamVersion: number;
  type: string;
  /** The mailbox the event concerns, by its name at the time; null for account events. */
  mailbox: string | null;
  actor: string | null;
  remoteAddress: string | null;
  sessionId: string | null;
  command: string | null;
  description: string;
  data: unknown;
  metadata: RecordedEvent["metadata"];
}

/** The audit trail of an account (or of the mailboxes that bore one name), page by page. */
export async function* history(
  pool: DatabasePool,
  username: string,
  options: { mailbox?: string; since?: Date; until?: Date } = {},
): AsyncGenerator<HistoryEntry> {
  const account = await findAccount(pool, username);
  const userEvents = await readStream(pool, userStreamId(account.id));
  let mailboxIds: Set<string> | undefined;
  let mailboxName: string | undefined;
  if (options.mailbox !== undefined) {
    mailboxName = canonicalMailboxName(options.mailbox);
    mailboxIds = new Set();
    for (const event of userEvents.map(asUserEvent)) {
      if (event.type === "MailboxCreated" && event.data.name === mailboxName)
        mailboxIds.add(event.data.mailboxId);
      if (event.type === "MailboxRenamed") {
        for (const rename of event.data.renames) {
          if (rename.from === mailboxName || rename.to === mailboxName) mailboxIds.add(rename.mailboxId);
        }
      }
    }
    if (mailboxIds.size === 0) {
      throw new DomainError("NONEXISTENT", `${account.username} never had a mailbox named "${mailboxName}"`);
    }
  }
  const streams = mailboxIds && [userStreamId(account.id), ...[...mailboxIds].map(mailboxStreamId)];
  const names = new NameTracker(userEvents);
  for (let after = 0; ; ) {
    const rows = await pool.any(sql.type(eventRow)`
      SELECT ${eventColumns} FROM events
      WHERE metadata ->> 'userId' = ${account.id} AND global_position > ${after}
        ${streams ? sql.fragment`AND stream_id = ANY(${sql.array(streams, "text")})` : sql.fragment``}
        ${options.since ? sql.fragment`AND recorded_at >= ${sql.timestamp(options.since)}` : sql.fragment``}
        ${options.until ? sql.fragment`AND recorded_at <= ${sql.timestamp(options.until)}` : sql.fragment``}
      ORDER BY global_position LIMIT ${PAGE_SIZE}`);
    for (const row of rows) {
      const event = toRecordedEvent(row);
      const isUserEvent = event.streamId === userStreamId(account.id);
      // A user event is shown with the names it found; a mailbox event with the names of its time.
      names.advanceTo(event.globalPosition, !isUserEvent);
      let mailbox: string | null = null;
      if (isUserEvent) {
        const user = asUserEvent(event);
        const ids = mailboxIdsOf(user);
        if (mailboxIds) {
          const concerns =
            ids.some((id) => mailboxIds.has(id)) ||
            ((user.type === "MailboxSubscribed" || user.type === "MailboxUnsubscribed") &&
              user.data.name === mailboxName);
          if (!concerns) continue;
        }
        mailbox =
          user.type === "MailboxCreated" || user.type === "MailboxDeleted"
            ? user.data.name
            : user.type === "MailboxSubscribed" || user.type === "MailboxUnsubscribed"
              ? user.data.name
              : ids[0] === undefined
                ? null
                : names.nameOf(ids[0]);
      } else {
        mailbox = names.nameOf(event.streamId.slice("mailbox-".length));
        await nameOtherUsersMailbox(pool, names, asMailboxEvent(event));
      }
      const { metadata } = event;
      yield {
        globalPosition: event.globalPosition,
        recordedAt: event.recordedAt.toISOString(),
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        type: event.type,
        mailbox,
        actor: metadata.actor ?? null,
        remoteAddress: metadata.remoteAddress ?? null,
        sessionId: metadata.sessionId ?? null,
        command: metadata.command?.name ?? null,
        description: metadata.delivery
          ? `${describe(event, names)}, delivered from <${metadata.delivery.mailFrom}> to <${metadata.delivery.rcptTo}>`
          : describe(event, names),
        data: redacted(event),
        metadata,
      };
    }
    if (rows.length < PAGE_SIZE) return;
    after = rows.at(-1)!.global_position;
  }
}

export interface MessageAt {
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: string;
  size: number;
  subject: string | null;
  from: string[];
  blobDigest: string;
}

export interface MailboxAt {
  at: string;
  name: string;
  mailboxId: string;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  messages: MessageAt[];
}

/** The mailbox that bore `name` at `at`, folded from its stream up to then. */
export async function mailboxStateAt(
  pool: DatabasePool,
  username: string,
  name: string,
  at: Date,
): Promise<MailboxAt> {
  const account = await findAccount(pool, username);
  const canonical = canonicalMailboxName(name);
  const userEvents = (await readStream(pool, userStreamId(account.id), { until: at })).map(asUserEvent);
  const user = evolveUser(initialUserState(), userEvents);
  const entry = user.mailboxes.get(canonical);
  if (!entry) {
    throw new DomainError(
      "NONEXISTENT",
      `${account.username} had no mailbox named "${canonical}" at ${at.toISOString()}`,
    );
  }
  if (entry.status !== "selectable") {
    throw new DomainError(
      "NONEXISTENT",
      `"${canonical}" was a \\Noselect name at ${at.toISOString()}: no messages`,
    );
  }
  const events = (await readStream(pool, mailboxStreamId(entry.mailboxId), { until: at })).map(
    asMailboxEvent,
  );
  let state: MailboxState = initialMailboxState(entry.mailboxId);
  const details = new Map<number, Omit<MessageAt, "uid" | "modseq" | "flags">>();
  for (const event of events) {
    state = evolveMailbox(state, event);
    if (event.type === "MessageAppended") {
      details.set(event.data.uid, detailsOf(event.data));
    } else if (event.type === "MessagesCopiedIn" || event.type === "MessagesMovedIn") {
      for (const message of event.data.messages) details.set(message.uid, detailsOf(message));
    }
  }
  return {
    at: at.toISOString(),
    name: canonical,
    mailboxId: entry.mailboxId,
    uidValidity: state.uidValidity,
    uidNext: state.uidNext,
    highestModSeq: state.highestModSeq,
    messages: [...state.messages]
      .sort(([a], [b]) => a - b)
      .map(([uid, message]) => ({
        uid,
        modseq: message.modseq,
        flags: [...message.flags],
        ...details.get(uid)!,
      })),
  };
}

function detailsOf(message: {
  internalDate: string;
  size: number;
  blobDigest: string;
  headerSummary: HeaderSummary;
}): Omit<MessageAt, "uid" | "modseq" | "flags"> {
  return {
    internalDate: message.internalDate,
    size: message.size,
    subject: message.headerSummary.subject,
    from: message.headerSummary.from,
    blobDigest: message.blobDigest,
  };
}

export async function runHistoryCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  return runAdmin("history", HISTORY_USAGE, deps, async () => {
    if (argv.length === 0) throw new UsageError("a USER is needed");
    if (argv[0] === "help" || argv[0] === "--help") {
      write(deps.stdout, HISTORY_USAGE);
      return EXIT_OK;
    }
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        since: { type: "string" },
        until: { type: "string" },
        at: { type: "string" },
        json: { type: "boolean" },
      },
    });
    const [username, mailbox] = positionalsOf(positionals, ["USER", "MAILBOX"], 1);
    if (values.at !== undefined) {
      if (mailbox === undefined) throw new UsageError("--at needs a MAILBOX");
      if (values.since !== undefined || values.until !== undefined) {
        throw new UsageError("--at goes without --since and --until");
      }
      const state = await mailboxStateAt(deps.pool, username!, mailbox, parseTime(values.at, "--at"));
      if (values.json) {
        write(deps.stdout, JSON.stringify(state));
        return EXIT_OK;
      }
      write(
        deps.stdout,
        `${state.name} at ${state.at}: ${state.messages.length} message(s), UIDVALIDITY ${state.uidValidity}, UIDNEXT ${state.uidNext}, HIGHESTMODSEQ ${state.highestModSeq}`,
      );
      for (const message of state.messages) {
        write(deps.stdout, `${message.uid}\t${flagList(message.flags)}\t${message.subject ?? ""}`);
      }
      return EXIT_OK;
    }
    const since = values.since === undefined ? undefined : parseTime(values.since, "--since");
    const until = values.until === undefined ? undefined : parseTime(values.until, "--until");
    const entries = history(deps.pool, username!, {
      ...(mailbox === undefined ? {} : { mailbox }),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    if (values.json) {
      // One JSON array, written as it is read: a long history never sits in memory whole.
      let first = true;
      for await (const entry of entries) {
        deps.stdout.write(`${first ? "[" : ","}${JSON.stringify(entry)}\n`);
        first = false;
      }
      write(deps.stdout, first ? "[]" : "]");
      return EXIT_OK;
    }
    for await (const entry of entries) {
      const where = entry.remoteAddress ?? "-";
      const command = entry.command ?? "-";
      write(
        deps.stdout,
        `${entry.recordedAt}\t${entry.actor ?? "-"}\t${where}\t${command}\t${entry.mailbox ?? "-"}\t${entry.description}`,
      );
    }
    return EXIT_OK;
  });
}
