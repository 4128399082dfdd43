// NOTIFY's MessageNew with fetch attributes (RFC 5465 5.2): right after the EXISTS that announces
// new messages of the selected mailbox, a FETCH of each with the attributes the client named.
// Read from the index like any FETCH; it never sets \Seen (the client did not ask to read them).

import { toUidSet } from "../../projections/queries/index.ts";
import type { FetchItem } from "../codec/index.ts";
import { renderFetchItems } from "../fetch/renderFetch.ts";
import { messageBytes } from "../mail/messageBytes.ts";
import type { MailServices } from "../mail/services.ts";
import type { SelectedMailbox } from "./mailbox.ts";

function peeking(items: readonly FetchItem[], condstore: boolean): FetchItem[] {
  const result: FetchItem[] = items.map((item) =>
    item.type === "BODY[]" || item.type === "BINARY[]" ? { ...item, peek: true } : item,
  );
  // The UID says which message it is; MODSEQ goes with FLAGS once CONDSTORE is on (RFC 7162 3.1.4).
  if (!result.some((item) => item.type === "UID")) result.unshift({ type: "UID" });
  if (condstore && result.some((item) => item.type === "FLAGS") && !result.some((i) => i.type === "MODSEQ"))
    result.push({ type: "MODSEQ" });
  return result;
}

/** Whatever the parts are (strings, buffers, a streamed literal), one latin1 line. */
async function asLine(parts: readonly unknown[]): Promise<string> {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if (typeof part === "string") chunks.push(Buffer.from(part, "latin1"));
    else if (Buffer.isBuffer(part)) chunks.push(part);
    else {
      const literal = part as { size: number; source: AsyncIterable<Uint8Array> };
      chunks.push(Buffer.from(`{${literal.size}}\r\n`, "latin1"));
      for await (const chunk of literal.source) chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks).toString("latin1");
}

export async function newMessageFetches(
  services: MailServices,
  controller: SelectedMailbox,
  uids: readonly number[],
  asked: readonly FetchItem[],
  condstore: boolean,
): Promise<string[]> {
  const items = peeking(asked, condstore);
  const read = await controller.queries.fetchMessages(
    controller.userId,
    controller.mailboxId,
    toUidSet(uids),
    [
      "flags",
      "modseq",
      "internalDate",
      "size",
      "blobDigest",
      "structure",
      "saveDate",
      ...(asked.some((item) => item.type === "PREVIEW") ? (["preview"] as const) : []),
    ],
  );
  const lines: string[] = [];
  for (const row of read.messages) {
    const seq = controller.state.sequenceNumberOf(row.uid);
    if (seq === undefined) continue;
    const parts = await renderFetchItems(
      {
        uid: row.uid,
        flags: row.flags ?? [],
        modSeq: row.modseq ?? 0,
        internalDate: row.internalDate ?? new Date(0),
        size: row.size ?? 0,
        structure: row.structure ?? undefined,
        blobDigest: row.blobDigest ?? undefined,
        saveDate: row.saveDate,
        preview: row.preview,
      },
      items,
      messageBytes(services.blobStore, row.blobDigest ?? ""),
      { recent: controller.state.isRecent(row.uid) },
    );
    lines.push(`${seq} FETCH (${await asLine(parts)})`);
  }
  return lines;
}
