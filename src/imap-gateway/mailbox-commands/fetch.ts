// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8), with CONDSTORE's CHANGEDSINCE and MODSEQ
// (RFC 7162 3.1.4), QRESYNC's VANISHED modifier (RFC 7162 3.2.6) and the PARTIAL modifier
// (RFC 9394) that fetches one page of the messages the set names.

import { storeFlags, storeFlagsFrom } from "../../commands/messages/store.ts";
import { readRangesOf } from "../../events/blobs/blobStore.ts";
import {
  type FetchedMessage,
  type IndexBatch,
  type IndexColumn,
  type FetchItem as QueryItem,
  toUidSet,
} from "../../projections/queries/index.ts";
import type { FetchItem, ResponsePart } from "../codec/index.ts";
import { encodeSequenceNumbers } from "../codec/index.ts";
import { no } from "../errors.ts";
import {
  byteRangesOf,
  isIndexedOnly,
  isMetadataOnly,
  type MessageBytes,
  needsStructure,
  prefetchedBytes,
  renderFetchItems,
  renderIndexedItems,
  renderMetadataItems,
  setsSeen,
} from "../fetch/renderFetch.ts";
import { enableCondstore, lookFirstIfUnknown, resolveUids, selectedOf } from "../mail/commandSupport.ts";
import { resultWindow } from "../mail/esearch.ts";
import { messageBytes } from "../mail/messageBytes.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { type CommandContext, defineCommand, SELECTED } from "../module.ts";
import type { SelectedMailbox } from "../selected/mailbox.ts";

/** Messages read from the view per query: bounds memory on `FETCH 1:*` of a large mailbox. */
const FETCH_CHUNK = 500;
/** Per query when only small per-message columns are wanted (FLAGS, UID, dates, sizes). */
const METADATA_FETCH_CHUNK = 5_000;
/**
 * Per query when FETCH asks indexed items with ENVELOPE: a chunk's envelopes are parsed at once
 * (about 1 KiB each).
 */
const ENVELOPE_FETCH_CHUNK = 2_000;
/** Responses of in-memory messages are gathered up to this size and written at once. */
const RESPONSE_BATCH_BYTES = 64 * 1024;

function queryItemsFor(items: readonly FetchItem[]): QueryItem[] {
  const wanted = new Set<QueryItem>(["flags", "modseq"]);
  for (const item of items) {
    if (item.type === "INTERNALDATE") wanted.add("internalDate");
    if (item.type === "RFC822.SIZE") wanted.add("size");
    if (item.type === "EMAILID") wanted.add("blobDigest");
    if (item.type === "SAVEDATE") wanted.add("saveDate");
    if (item.type === "PREVIEW") wanted.add(item.lazy ? "previewLazy" : "preview");
  }
  if (needsStructure(items)) {
    wanted.add("structure");
    wanted.add("blobDigest");
    wanted.add("size");
  }
  return [...wanted];
}

/**
 * The UIDs whose MODSEQ is above CHANGEDSINCE, when one is given: what a PARTIAL page counts
 * (RFC 9394 with RFC 7162), read before the page is cut.
 */
async function changedUids(
  services: MailServices,
  userId: string,
  mailboxId: string,
  uids: readonly number[],
  changedSince: bigint | undefined,
): Promise<readonly number[]> {
  if (changedSince === undefined) return uids;
  const since = Number(changedSince);
  const changed: number[] = [];
  for (let i = 0; i < uids.length; i += METADATA_FETCH_CHUNK) {
    const rows = await services.queries.fetchMetadata(
      userId,
      mailboxId,
      toUidSet(uids.slice(i, i + METADATA_FETCH_CHUNK)),
    );
    for (const row of rows.messages) if ((row.modseq ?? 0) > since) changed.push(row.uid);
  }
  return changed;
}

/**
 * A message's ranges read in the chunk's batch when they span at most this much (larger ones are
 * streamed from the blob store as before, a round trip per range).
 */
const SECTION_PREFETCH_LIMIT = 64 * 1024;
/** Bytes of one batched range read: bounds the memory of a chunk's prefetch. */
const SECTION_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * The bytes the items read of each message of a chunk, read beforehand in as few round trips as
 * the batch bound allows (one for 500 headers), not one or two per message: by UID.
 */
async function sectionBytes(
  services: MailServices,
  rows: readonly FetchedMessage[],
  items: readonly FetchItem[],
): Promise<Map<number, MessageBytes>> {
  const wanted: { uid: number; digest: string; start: number; end: number }[] = [];
  for (const row of rows) {
    if (!row.structure || !row.blobDigest) continue;
    const ranges = byteRangesOf(row.structure, items);
    if (ranges.length === 0) continue;
    const start = Math.min(...ranges.map((range) => range.start));
    const end = Math.max(...ranges.map((range) => range.end));
    if (end - start > SECTION_PREFETCH_LIMIT) continue;
    wanted.push({ uid: row.uid, digest: row.blobDigest, start, end });
  }
  const bytes = new Map<number, MessageBytes>();
  for (let i = 0; i < wanted.length; ) {
    let batchBytes = 0;
    let j = i;
    while (
      j < wanted.length &&
      (j === i || batchBytes + wanted[j]!.end - wanted[j]!.start <= SECTION_BATCH_BYTES)
    ) {
      batchBytes += wanted[j]!.end - wanted[j]!.start;
      j++;
    }
    const batch = wanted.slice(i, j);
    const read = await readRangesOf(services.blobStore, batch);
    batch.forEach((range, n) => {
      const content = read[n];
      // An absent body is left to the per-message read, which reports it as before.
      if (content == null) return;
      bytes.set(
        range.uid,
        prefetchedBytes(range.start, content, messageBytes(services.blobStore, range.digest)),
      );
    });
    i = j;
  }
  return bytes;
}

/** The index columns indexed items (isIndexedOnly) are answered from. */
function indexColumnsFor(items: readonly FetchItem[]): IndexColumn[] {
  const columns = new Set<IndexColumn>();
  for (const item of items) {
    if (item.type === "FLAGS") columns.add("flags");
    if (item.type === "MODSEQ") columns.add("modseq");
    if (item.type === "INTERNALDATE") columns.add("internalDate");
    if (item.type === "RFC822.SIZE") columns.add("size");
    if (item.type === "EMAILID") columns.add("blobDigest");
    if (item.type === "ENVELOPE") columns.add("envelope");
  }
  return [...columns];
}

/** A FETCH of this many messages or more reads FLAGS and MODSEQ from the node's copy. */
const FLAGS_COPY_MIN_MESSAGES = 1_000;

/**
 * `FETCH 1:* (FLAGS)` of a large mailbox, a client's resync, is answered from the node's copy of
 * the mailbox's FLAGS and MODSEQ (exact: brought to HIGHESTMODSEQ first; flagsCache.ts) when it
 * asks nothing else of the index, and by the mailbox's owner: another user's \Seen may be his own.
 */
function usesFlagsCopy(
  context: CommandContext,
  controller: SelectedMailbox,
  uids: readonly number[],
  columns: readonly IndexColumn[],
): boolean {
  return (
    uids.length >= FLAGS_COPY_MIN_MESSAGES &&
    columns.every((column) => column === "flags" || column === "modseq") &&
    context.session.user?.userId === controller.userId
  );
}

/**
 * FETCH of indexed items (no MIME tree, no body bytes) streamed over any number of messages: a
 * chunk's columns are read, only those asked for, while the chunk before is written, and the
 * next read waits for the socket to take the chunk before that (back-pressure): at most a few
 * chunks are in memory whatever the mailbox's size. Returns how many of `uids` were not found.
 */
async function streamIndexed(
  context: CommandContext,
  controller: SelectedMailbox,
  uids: readonly number[],
  items: readonly FetchItem[],
  changedSince: number | undefined,
): Promise<number> {
  const userId = controller.userId;
  const columns = indexColumnsFor(items);
  const chunkSize = columns.includes("envelope") ? ENVELOPE_FETCH_CHUNK : METADATA_FETCH_CHUNK;
  const encoding = columns.includes("envelope") ? "utf8" : "latin1";
  const state = controller.state;
  const copy = usesFlagsCopy(context, controller, uids, columns)
    ? await controller.queries.cachedFlags(userId, controller.mailboxId, state.uids)
    : null;
  const read = (from: number): Promise<IndexBatch> => {
    if (copy !== null) {
      const slice = copy.slice(uids[from]!, uids[Math.min(uids.length, from + chunkSize) - 1]!);
      return Promise.resolve({
        uids: slice.uids,
        flags: slice.flags as string[],
        modseqs: slice.modseqs,
        highestModSeq: slice.modseq,
      });
    }
    const pending = controller.queries.fetchIndex(
      userId,
      controller.mailboxId,
      toUidSet(uids.slice(from, from + chunkSize)),
      columns,
    );
    // Read ahead: a failure surfaces when the chunk is awaited, never as an unhandled rejection.
    pending.catch(() => {});
    return pending;
  };
  let missing = 0;
  let writing: Promise<void> | undefined;
  let next = uids.length > 0 ? read(0) : undefined;
  for (let from = 0; next !== undefined; from += chunkSize) {
    const batch = await next;
    next = from + chunkSize < uids.length ? read(from + chunkSize) : undefined;
    // Contract 9: the mailbox moved since the session looked → it looks before the tagged OK.
    controller.noteIndexAt(batch.highestModSeq);
    const lines: string[] = [];
    const found = batch.uids;
    const to = Math.min(uids.length, from + chunkSize);
    let row = 0;
    for (let i = from; i < to; i++) {
      const uid = uids[i]!;
      // Both ascending: the chunk's UIDs and the rows found for them.
      while (row < found.length && found[row]! < uid) row++;
      const seq = state.sequenceNumberOf(uid);
      if (row >= found.length || found[row] !== uid || seq === undefined) {
        missing += 1;
        continue;
      }
      const modSeq = batch.modseqs?.[row] ?? 0;
      if (changedSince !== undefined && modSeq <= changedSince) continue;
      const flagsText = batch.flags?.[row] ?? "";
      // A keyword the client meets for the first time is announced first (RFC 3501 7.2.6).
      if (flagsText !== "" && (flagsText.charCodeAt(0) !== 92 || flagsText.includes(" "))) {
        const flagsLine = state.announceKeywords([flagsText.split(" ")]);
        if (flagsLine !== undefined) lines.push(flagsLine);
      }
      const message = {
        uid,
        flagsText,
        modSeq,
        internalDate: batch.internalDates?.[row] ?? 0,
        size: batch.sizes?.[row] ?? 0,
        envelope: batch.envelopes?.[row] ?? "",
        blobDigest: batch.blobDigests?.[row] ?? "",
      };
      lines.push(`${seq} FETCH (${renderIndexedItems(message, items, state.isRecent(uid))})`);
    }
    // One write per chunk (a few hundred KiB), resolved once the socket has taken it. The next
    // chunk is rendered while this one goes out; the one before must be taken first, so at most
    // two chunks wait in memory.
    const before = writing;
    if (lines.length > 0) {
      writing = context.untagged(Buffer.from(lines.join("\r\n* "), encoding));
      // A failed write is awaited below; until then it is not an unhandled rejection.
      writing.catch(() => {});
    }
    await before;
  }
  await writing;
  return missing;
}

/** What one FETCH works on once its arguments are resolved. */
interface FetchRun {
  readonly services: MailServices;
  readonly context: CommandContext;
  readonly controller: SelectedMailbox;
  readonly userId: string;
  readonly uids: readonly number[];
  /** The items to answer, with those the command implies (UID, MODSEQ, FLAGS after an implicit \Seen). */
  readonly items: FetchItem[];
  readonly changedSince: number | undefined;
}

/** The flags an implicit \Seen left, and the rows read to decide it (reused for the responses). */
interface SeenOutcome {
  readonly flagsNow: ReadonlyMap<number, { flags: string[]; modseq: number }>;
  readonly prefetched: FetchedMessage[] | undefined;
}

export function fetchCommand(services: MailServices) {
  return defineCommand({
    names: ["FETCH"],
    selectedView: "compares-itself",
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => ["BINARY", "OBJECTID", "PARTIAL", "SAVEDATE", "PREVIEW"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      // The mailbox's owner (another user for a shared mailbox): the index is read in its name.
      const userId = controller.userId;
      const args = command.args;
      if (args.vanished && !session.enabled.has("QRESYNC"))
        throw no("VANISHED needs ENABLE QRESYNC (RFC 7162 3.2.6)");
      // Non-UID FETCH must not see EXPUNGEs: it keeps the numbering the client has (RFC 3501 7.4.1).
      await lookFirstIfUnknown(context, controller, args.sequenceSet, command.uid);
      let uids = resolveUids(controller, args.sequenceSet, command.uid);
      if (args.partial !== undefined) {
        uids = resultWindow(
          await changedUids(services, userId, controller.mailboxId, uids, args.changedSince),
          args.partial,
        );
      }
      const changedSince = args.changedSince === undefined ? undefined : Number(args.changedSince);
      const items = await impliedItems(context, args.items, command.uid, changedSince);
      const run: FetchRun = { services, context, controller, userId, uids, items, changedSince };
      if (args.vanished && changedSince !== undefined) await reportVanished(run, changedSince);

      const seen = await setSeenImplicitly(run);
      let missing: number;
      if (isIndexedOnly(items) && seen.flagsNow.size === 0) {
        missing = await streamIndexed(context, controller, uids, items, changedSince);
      } else {
        missing = await streamResponses(run, seen);
      }
      if (missing > 0 && !command.uid) {
        // Worded as Dovecot words it: clients (imaptest among them) recognise an expunge race by "no longer exist".
        throw no("some of the requested messages no longer exist", "EXPUNGEISSUED");
      }
      return undefined;
    },
  });
}

/**
 * The items asked plus those the command implies: UID for UID FETCH (RFC 3501 6.4.8), MODSEQ
 * for CHANGEDSINCE and, once CONDSTORE is on, beside FLAGS (RFC 7162 3.1.4). Naming MODSEQ or
 * CHANGEDSINCE turns CONDSTORE on.
 */
async function impliedItems(
  context: CommandContext,
  asked: readonly FetchItem[],
  byUid: boolean,
  changedSince: number | undefined,
): Promise<FetchItem[]> {
  const items: FetchItem[] = [...asked];
  const has = (type: FetchItem["type"]) => items.some((item) => item.type === type);
  if (changedSince !== undefined || has("MODSEQ")) await enableCondstore(context);
  if (byUid && !has("UID")) items.unshift({ type: "UID" });
  if (changedSince !== undefined && !has("MODSEQ")) items.push({ type: "MODSEQ" });
  const enabled = context.session.enabled;
  const condstore = enabled.has("CONDSTORE") || enabled.has("QRESYNC");
  if (condstore && has("FLAGS") && !has("MODSEQ")) items.push({ type: "MODSEQ" });
  return items;
}

/** QRESYNC's VANISHED (EARLIER): the UIDs in the set's range expunged since `changedSince`. */
async function reportVanished(run: FetchRun, changedSince: number): Promise<void> {
  const { userId, controller, uids } = run;
  const changes = await controller.queries.changesSince(userId, controller.mailboxId, changedSince);
  const requested = new Set(uids);
  const low = uids[0] ?? 0;
  const high = uids.at(-1) ?? 0;
  const vanished = changes.vanished.filter((uid) => requested.has(uid) || (uid >= low && uid <= high));
  if (vanished.length > 0)
    await run.context.untagged(`VANISHED (EARLIER) ${encodeSequenceNumbers(vanished)}`);
}

/**
 * \Seen is set implicitly by BODY[...] and RFC822(.TEXT) (RFC 3501 6.4.5), not on EXAMINE. A
 * set small enough for one chunk is read once, for both the \Seen decision and the responses;
 * the store is decided from those rows (a round trip less) and FLAGS joins the items.
 */
async function setSeenImplicitly(run: FetchRun): Promise<SeenOutcome> {
  const { services, context, controller, userId, uids, items } = run;
  const flagsNow = new Map<number, { flags: string[]; modseq: number }>();
  if (!setsSeen(items) || controller.readOnly || uids.length === 0)
    return { flagsNow, prefetched: undefined };
  // On another user's mailbox, only with the right to keep \Seen (RFC 4314 4: "s").
  if (controller.shared && !(await controller.rights()).includes("s"))
    return { flagsNow, prefetched: undefined };
  const queryItems = queryItemsFor(items);
  let prefetched: FetchedMessage[] | undefined;
  let prefetchedAt: number | null = null;
  if (uids.length <= chunkSizeFor(queryItems)) {
    const read = await controller.queries.fetchMessages(
      userId,
      controller.mailboxId,
      toUidSet(uids),
      queryItems,
    );
    controller.noteIndexAt(read.highestModSeq);
    prefetched = read.messages;
    prefetchedAt = read.highestModSeq;
  }
  const unseen: number[] = [];
  for (const message of prefetched ?? []) {
    if (!message.flags?.includes("\\Seen")) unseen.push(message.uid);
  }
  for (let i = 0; prefetched === undefined && i < uids.length; i += FETCH_CHUNK) {
    const chunk = uids.slice(i, i + FETCH_CHUNK);
    const read = await controller.queries.fetchMessages(userId, controller.mailboxId, toUidSet(chunk), [
      "flags",
    ]);
    for (const message of read.messages) {
      if (!message.flags?.includes("\\Seen")) unseen.push(message.uid);
    }
  }
  if (unseen.length === 0) return { flagsNow, prefetched };
  const input = {
    userId,
    mailboxId: controller.mailboxId,
    uids: unseen,
    operation: "add" as const,
    flags: ["\\Seen"],
    ...(controller.shared ? { actorId: controller.actorId } : {}),
  };
  const ctx = domainContext(services, context);
  const rows = prefetched;
  const stored = await (rows !== undefined && prefetchedAt !== null
    ? storeFlagsFrom(ctx, input, {
        highestModSeq: prefetchedAt,
        uidValidity: controller.uidValidity,
        messages: new Map(rows.map((row) => [row.uid, { flags: row.flags ?? [], modseq: row.modseq ?? 0 }])),
      })
    : storeFlags(ctx, input));
  // Recorded here, so the change's own doorbell finds nothing new to read.
  controller.recordOwnStore(stored);
  for (const message of stored.messages) {
    flagsNow.set(message.uid, { flags: message.flags, modseq: message.modseq });
    controller.state.noteReported(message.uid, message.modseq);
  }
  if (!items.some((item) => item.type === "FLAGS")) items.push({ type: "FLAGS" });
  return { flagsNow, prefetched };
}

function chunkSizeFor(queryItems: readonly QueryItem[]): number {
  return queryItems.includes("structure") ? FETCH_CHUNK : METADATA_FETCH_CHUNK;
}

/** Consecutive responses written together, up to RESPONSE_BATCH_BYTES. */
class ResponseBatch {
  readonly #context: CommandContext;
  #parts: ResponsePart[] = [];
  #bytes = 0;
  constructor(context: CommandContext) {
    this.#context = context;
  }

  /** Adds one untagged response ("* " is written by untagged() for the first, here for the others). */
  async add(...parts: ResponsePart[]): Promise<void> {
    if (this.#parts.length > 0) this.#parts.push("\r\n* ");
    this.#parts.push(...parts);
    for (const part of parts) this.#bytes += (part as string | Buffer).length;
    if (this.#bytes >= RESPONSE_BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const parts = this.#parts;
    this.#parts = [];
    this.#bytes = 0;
    await this.#context.untagged(...parts);
  }
}

/**
 * The general path: chunks of rows (and the section bytes their items read) loaded while the
 * chunk before is written, each message rendered in the order of the set. Returns how many
 * messages of the set no longer exist.
 */
async function streamResponses(run: FetchRun, seen: SeenOutcome): Promise<number> {
  const { services, context, controller, userId, uids, items, changedSince } = run;
  const queryItems = queryItemsFor(items);
  const chunkSize = chunkSizeFor(queryItems);
  const metadataOnly = isMetadataOnly(items);
  const showsFlags = items.some((item) => item.type === "FLAGS");
  const batch = new ResponseBatch(context);
  let missing = 0;
  const load = async (from: number) => {
    let rows = seen.prefetched;
    if (rows === undefined) {
      const chunk = toUidSet(uids.slice(from, from + chunkSize));
      const read = metadataOnly
        ? await controller.queries.fetchMetadata(userId, controller.mailboxId, chunk)
        : await controller.queries.fetchMessages(userId, controller.mailboxId, chunk, queryItems);
      // Contract 9: the mailbox moved since the session looked → it looks before the tagged OK.
      controller.noteIndexAt(read.highestModSeq);
      rows = read.messages;
    }
    const readAhead = metadataOnly ? undefined : await sectionBytes(services, rows, items);
    return { rows, readAhead };
  };
  const loadAhead = (from: number) => {
    const loading = load(from);
    // Read ahead: a failure surfaces when the chunk is awaited, never as an unhandled rejection.
    loading.catch(() => {});
    return loading;
  };
  let next = uids.length > 0 ? loadAhead(0) : undefined;
  for (let i = 0; i < uids.length; i += chunkSize) {
    const chunk = uids.slice(i, i + chunkSize);
    const { rows, readAhead } = await next!;
    next = i + chunkSize < uids.length ? loadAhead(i + chunkSize) : undefined;
    const byUid = new Map<number, FetchedMessage>(rows.map((row) => [row.uid, row]));
    for (const uid of chunk) {
      const row = byUid.get(uid);
      const seq = controller.state.sequenceNumberOf(uid);
      if (row === undefined || seq === undefined) {
        missing += 1;
        continue;
      }
      if (changedSince !== undefined && (row.modseq ?? 0) <= changedSince) continue;
      const latest = seen.flagsNow.get(uid);
      const message = {
        uid,
        flags: latest?.flags ?? row.flags ?? [],
        modSeq: latest?.modseq ?? row.modseq ?? 0,
        internalDate: row.internalDate ?? new Date(0),
        size: row.size ?? 0,
        structure: metadataOnly ? undefined : (row.structure ?? undefined),
        blobDigest: row.blobDigest ?? undefined,
        saveDate: row.saveDate,
        preview: row.preview,
      };
      // A keyword the client meets for the first time is announced first (RFC 3501 7.2.6).
      const flagsLine = showsFlags ? controller.state.announceKeywords([message.flags]) : undefined;
      if (flagsLine !== undefined) await batch.add(flagsLine);
      const recent = controller.state.isRecent(uid);
      if (metadataOnly) {
        await batch.add(`${seq} FETCH (${renderMetadataItems(message, items, recent)})`);
        continue;
      }
      const bytes = readAhead?.get(uid) ?? messageBytes(services.blobStore, row.blobDigest ?? "");
      const parts = await renderFetchItems(message, items, bytes, { recent });
      if (parts.some((part) => typeof part !== "string" && !Buffer.isBuffer(part))) {
        // A streamed literal: send what is gathered, then this response on its own.
        await batch.flush();
        await context.untagged(`${seq} FETCH (`, ...parts, ")");
        continue;
      }
      await batch.add(`${seq} FETCH (`, ...parts, ")");
    }
  }
  await batch.flush();
  return missing;
}
