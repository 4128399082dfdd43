// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8), with CONDSTORE's CHANGEDSINCE and MODSEQ
// (RFC 7162 3.1.4), QRESYNC's VANISHED modifier (RFC 7162 3.2.6) and the PARTIAL modifier
// (RFC 9394) that fetches one page of the messages the set names.

import { storeFlags, storeFlagsFrom } from "../../../commands/messages/store.ts";
import { readRangesOf } from "../../../events/blobs/blobStore.ts";
import type {
  FetchedMessage,
  IndexBatch,
  IndexColumn,
  FetchItem as QueryItem,
  UidSet,
} from "../../../projections/queries/index.ts";
import type { FetchItem, ResponsePart } from "../../codec/index.ts";
import { encodeSequenceNumbers } from "../../codec/index.ts";
import { no } from "../../errors.ts";
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
} from "../../fetch/renderFetch.ts";
import { type CommandContext, defineCommand, SELECTED } from "../../module.ts";
import { resultWindow } from "../esearch.ts";
import type { MailboxController } from "../mailboxController.ts";
import { messageBytes } from "../messageBytes.ts";
import { domainContext, type MailServices } from "../services.ts";
import { domainCall, enableCondstore, lookFirstIfUnknown, resolveUids, selectedOf } from "../session.ts";

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

export function toUidSet(uids: readonly number[]): UidSet {
  const ranges: { start: number; end: number }[] = [];
  for (const uid of uids) {
    const last = ranges.at(-1);
    if (last && uid === last.end + 1) last.end = uid;
    else ranges.push({ start: uid, end: uid });
  }
  return ranges;
}

function queryItemsFor(items: readonly FetchItem[]): QueryItem[] {
  const wanted = new Set<QueryItem>(["flags", "modseq"]);
  for (const item of items) {
    if (item.type === "INTERNALDATE") wanted.add("internalDate");
    if (item.type === "RFC822.SIZE") wanted.add("size");
    if (item.type === "EMAILID") wanted.add("blobDigest");
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

/**
 * FETCH of indexed items (no MIME tree, no body bytes) streamed over any number of messages: a
 * chunk's columns are read, only those asked for, while the chunk before is written, and the
 * next read waits for the socket to take what was written (back-pressure): at most two chunks
 * are in memory whatever the mailbox's size. Returns how many of `uids` were not found.
 */
async function streamIndexed(
  services: MailServices,
  context: CommandContext,
  controller: MailboxController,
  uids: readonly number[],
  items: readonly FetchItem[],
  changedSince: number | undefined,
): Promise<number> {
  const userId = controller.userId;
  const columns = indexColumnsFor(items);
  const chunkSize = columns.includes("envelope") ? ENVELOPE_FETCH_CHUNK : METADATA_FETCH_CHUNK;
  const encoding = columns.includes("envelope") ? "utf8" : "latin1";
  const state = controller.state;
  const read = (from: number): Promise<IndexBatch> => {
    const pending = services.queries.fetchIndex(
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
    // One write per chunk (a few hundred KiB): it resolves once the socket has taken it.
    if (lines.length > 0) await context.untagged(Buffer.from(lines.join("\r\n* "), encoding));
  }
  return missing;
}

export function fetchCommand(services: MailServices) {
  return defineCommand({
    names: ["FETCH"],
    selectedView: "compares-itself",
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => ["BINARY", "OBJECTID", "PARTIAL"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      // The mailbox's owner (another user for a shared mailbox): the index is read in its name.
      const userId = controller.userId;
      const args = command.args;
      // Non-UID FETCH must not see EXPUNGEs: it keeps the numbering the client has (RFC 3501 7.4.1).
      await lookFirstIfUnknown(context, controller, args.sequenceSet, command.uid);
      let uids = resolveUids(controller, args.sequenceSet, command.uid);
      if (args.partial !== undefined) {
        uids = resultWindow(
          await changedUids(services, userId, controller.mailboxId, uids, args.changedSince),
          args.partial,
        );
      }
      const items: FetchItem[] = [...args.items];
      if (args.changedSince !== undefined || items.some((item) => item.type === "MODSEQ")) {
        await enableCondstore(context);
      }
      if (command.uid && !items.some((item) => item.type === "UID")) items.unshift({ type: "UID" });
      if (args.changedSince !== undefined && !items.some((item) => item.type === "MODSEQ")) {
        items.push({ type: "MODSEQ" });
      }
      if (args.vanished && !session.enabled.has("QRESYNC"))
        throw no("VANISHED needs ENABLE QRESYNC (RFC 7162 3.2.6)");
      const condstore = session.enabled.has("CONDSTORE") || session.enabled.has("QRESYNC");
      // Once CONDSTORE is on, FETCH responses that carry FLAGS carry MODSEQ too (RFC 7162 3.1.4).
      if (
        condstore &&
        items.some((item) => item.type === "FLAGS") &&
        !items.some((item) => item.type === "MODSEQ")
      ) {
        items.push({ type: "MODSEQ" });
      }

      if (args.vanished && args.changedSince !== undefined) {
        const changes = await services.queries.changesSince(
          userId,
          controller.mailboxId,
          Number(args.changedSince),
        );
        const requested = new Set(uids);
        const low = uids[0] ?? 0;
        const high = uids.at(-1) ?? 0;
        const vanished = changes.vanished.filter((uid) => requested.has(uid) || (uid >= low && uid <= high));
        if (vanished.length > 0)
          await context.untagged(`VANISHED (EARLIER) ${encodeSequenceNumbers(vanished)}`);
      }

      const queryItems = queryItemsFor(items);
      const chunkSize = queryItems.includes("structure") ? FETCH_CHUNK : METADATA_FETCH_CHUNK;
      // \Seen is set implicitly by BODY[...] and RFC822(.TEXT) (RFC 3501 6.4.5), not on EXAMINE.
      const flagsNow = new Map<number, { flags: string[]; modseq: number }>();
      /** The rows of a FETCH of one chunk, read once for both the \Seen check and the responses. */
      let prefetched: FetchedMessage[] | undefined;
      /** The mailbox's HIGHESTMODSEQ when those rows were read: the implicit \Seen is decided from them. */
      let prefetchedAt: number | null = null;
      // On another user's mailbox, only with the right to keep \Seen (RFC 4314 4: "s").
      const marksSeen =
        setsSeen(items) &&
        !controller.readOnly &&
        (!controller.shared || (await controller.rights()).includes("s"));
      if (marksSeen && uids.length > 0 && uids.length <= chunkSize) {
        const read = await services.queries.fetchMessages(
          userId,
          controller.mailboxId,
          toUidSet(uids),
          queryItems,
        );
        controller.noteIndexAt(read.highestModSeq);
        prefetched = read.messages;
        prefetchedAt = read.highestModSeq;
      }
      if (marksSeen && uids.length > 0) {
        const unseen: number[] = [];
        for (const message of prefetched ?? []) {
          if (!message.flags?.includes("\\Seen")) unseen.push(message.uid);
        }
        for (let i = 0; prefetched === undefined && i < uids.length; i += FETCH_CHUNK) {
          const chunk = uids.slice(i, i + FETCH_CHUNK);
          for (const message of (
            await services.queries.fetchMessages(userId, controller.mailboxId, toUidSet(chunk), ["flags"])
          ).messages) {
            if (!message.flags?.includes("\\Seen")) unseen.push(message.uid);
          }
        }
        if (unseen.length > 0) {
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
          // Decided from the rows just read when there are some (a round trip less), else afresh.
          const stored = await domainCall(() =>
            rows !== undefined && prefetchedAt !== null
              ? storeFlagsFrom(ctx, input, {
                  highestModSeq: prefetchedAt,
                  uidValidity: controller.uidValidity,
                  messages: new Map(
                    rows.map((row) => [row.uid, { flags: row.flags ?? [], modseq: row.modseq ?? 0 }]),
                  ),
                })
              : storeFlags(ctx, input),
          );
          // Recorded here, so the change's own doorbell finds nothing new to read.
          controller.recordOwnStore(stored);
          for (const message of stored.messages) {
            flagsNow.set(message.uid, { flags: message.flags, modseq: message.modseq });
            controller.state.noteReported(message.uid, message.modseq);
          }
          if (!items.some((item) => item.type === "FLAGS")) items.push({ type: "FLAGS" });
        }
      }

      if (isIndexedOnly(items) && flagsNow.size === 0) {
        const changedSince = args.changedSince === undefined ? undefined : Number(args.changedSince);
        const missing = await streamIndexed(services, context, controller, uids, items, changedSince);
        if (missing > 0 && !command.uid) {
          throw no("some of the requested messages no longer exist", "EXPUNGEISSUED");
        }
        return undefined;
      }
      const metadataOnly = isMetadataOnly(items);
      const showsFlags = items.some((item) => item.type === "FLAGS");
      // Consecutive responses go out together ("* " is already written by untagged() for the first).
      let batch: ResponsePart[] = [];
      let batchBytes = 0;
      const flushBatch = async () => {
        if (batch.length === 0) return;
        const parts = batch;
        batch = [];
        batchBytes = 0;
        await context.untagged(...parts);
      };
      let missing = 0;
      /** A chunk's rows and the section bytes its items read, loaded while the chunk before is written. */
      const load = async (from: number) => {
        let rows = prefetched;
        if (rows === undefined) {
          const chunk = toUidSet(uids.slice(from, from + chunkSize));
          const read = metadataOnly
            ? await services.queries.fetchMetadata(userId, controller.mailboxId, chunk)
            : await services.queries.fetchMessages(userId, controller.mailboxId, chunk, queryItems);
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
          if (args.changedSince !== undefined && (row.modseq ?? 0) <= Number(args.changedSince)) continue;
          const latest = flagsNow.get(uid);
          // A keyword the client meets for the first time is announced first (RFC 3501 7.2.6).
          const flagsLine = showsFlags
            ? controller.state.announceKeywords([latest?.flags ?? row.flags ?? []])
            : undefined;
          if (flagsLine !== undefined) {
            if (batch.length > 0) batch.push("\r\n* ");
            batch.push(flagsLine);
          }
          if (metadataOnly) {
            const line = `${seq} FETCH (${renderMetadataItems(
              {
                uid,
                flags: latest?.flags ?? row.flags ?? [],
                modSeq: latest?.modseq ?? row.modseq ?? 0,
                internalDate: row.internalDate ?? new Date(0),
                size: row.size ?? 0,
                structure: undefined,
              },
              items,
              controller.state.isRecent(uid),
            )})`;
            if (batch.length > 0) batch.push("\r\n* ");
            batch.push(line);
            batchBytes += line.length;
            if (batchBytes >= RESPONSE_BATCH_BYTES) await flushBatch();
            continue;
          }
          const parts = await renderFetchItems(
            {
              uid,
              flags: latest?.flags ?? row.flags ?? [],
              modSeq: latest?.modseq ?? row.modseq ?? 0,
              internalDate: row.internalDate ?? new Date(0),
              size: row.size ?? 0,
              structure: row.structure ?? undefined,
              blobDigest: row.blobDigest ?? undefined,
            },
            items,
            readAhead?.get(uid) ?? messageBytes(services.blobStore, row.blobDigest ?? ""),
            { recent: controller.state.isRecent(uid) },
          );
          if (parts.some((part) => typeof part !== "string" && !Buffer.isBuffer(part))) {
            // A streamed literal: send what is gathered, then this response on its own.
            await flushBatch();
            await context.untagged(`${seq} FETCH (`, ...parts, ")");
            continue;
          }
          if (batch.length > 0) batch.push("\r\n* ");
          batch.push(`${seq} FETCH (`, ...parts, ")");
          for (const part of parts) batchBytes += (part as string | Buffer).length;
          if (batchBytes >= RESPONSE_BATCH_BYTES) await flushBatch();
        }
      }
      await flushBatch();
      if (missing > 0 && !command.uid) {
        // Worded as Dovecot words it: clients (imaptest among them) recognise an expunge race by "no longer exist".
        throw no("some of the requested messages no longer exist", "EXPUNGEISSUED");
      }
      return undefined;
    },
  });
}
