import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../events/envelope.ts";
import { doorbellNotices } from "./doorbell.ts";

let position = 0;
const event = (streamId: string, streamVersion: number, type: string, data: unknown = {}): RecordedEvent => ({
  eventId: `e${++position}`,
  type,
  schemaVersion: 1,
  streamId,
  streamVersion,
  globalPosition: position,
  recordedAt: new Date(0),
  data,
  metadata: { userId: streamId.startsWith("user-") ? streamId.slice(5) : "ann" },
});

describe("the doorbell", () => {
  it("rings once per changed mailbox with the MODSEQ its events reached, and once per changed namespace", () => {
    position = 0;
    const notices = doorbellNotices([
      event("mailbox-inbox", 7, "MessageAppended"),
      event("mailbox-work", 3, "MessageFlagsChanged"),
      event("mailbox-inbox", 8, "MessagesExpunged"),
      event("user-ann", 12, "MailboxRenamed", {
        renames: [{ mailboxId: "work" }, { mailboxId: "work-sub" }],
      }),
      event("user-ann", 13, "MailboxSubscribed", { name: "Work" }),
    ]);
    expect(notices).toEqual([
      { userId: "ann", mailboxId: "inbox", globalPosition: 3, highestModSeq: 8 },
      { userId: "ann", mailboxId: "work", globalPosition: 4, highestModSeq: 3 },
      { userId: "ann", mailboxId: "work-sub", globalPosition: 4, highestModSeq: null },
      { userId: "ann", mailboxId: null, globalPosition: 5, highestModSeq: null },
    ]);
  });

  it("rings nothing for nothing", () => {
    expect(doorbellNotices([])).toEqual([]);
  });
});
