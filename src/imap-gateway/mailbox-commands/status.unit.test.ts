import { describe, expect, it } from "vitest";
import type { MailboxStatus } from "../../projections/queries/index.ts";
import { formatStatusItems } from "./status.ts";

const status: MailboxStatus = {
  mailboxId: "m1",
  name: "INBOX",
  selectable: true,
  uidValidity: 1234,
  uidNext: 17,
  highestModSeq: 99,
  messages: 12,
  unseen: 3,
  size: 45678,
  specialUse: null,
  appendLimit: null,
};

describe("formatStatusItems", () => {
  it("answers the items in the order asked", () => {
    expect(
      formatStatusItems(["UIDNEXT", "MESSAGES", "UNSEEN", "UIDVALIDITY", "RECENT"], {
        status,
        recent: 2,
        deleted: undefined,
        appendLimit: undefined,
      }),
    ).toBe("(UIDNEXT 17 MESSAGES 12 UNSEEN 3 UIDVALIDITY 1234 RECENT 2)");
  });

  it("gives SIZE, HIGHESTMODSEQ, DELETED and APPENDLIMIT (NIL without a limit)", () => {
    const facts = { status, recent: 0, deleted: 4, appendLimit: null };
    expect(formatStatusItems(["SIZE", "HIGHESTMODSEQ", "DELETED", "APPENDLIMIT"], facts)).toBe(
      "(SIZE 45678 HIGHESTMODSEQ 99 DELETED 4 APPENDLIMIT NIL)",
    );
    expect(formatStatusItems(["APPENDLIMIT"], { ...facts, appendLimit: 1024 })).toBe("(APPENDLIMIT 1024)");
  });
});
