import { describe, expect, it } from "vitest";
import { parseImapUrl } from "./imapUrl.ts";

describe("parseImapUrl (RFC 5092)", () => {
  it("reads a relative URL of a message, its section and a partial range, keywords in any case", () => {
    expect(parseImapUrl("/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME/;PARTIAL=0.1024")).toEqual({
      ok: true,
      url: {
        user: undefined,
        mailbox: "Drafts",
        uidValidity: 385759045,
        uid: 20,
        section: "1.2.MIME",
        partial: { offset: 0, count: 1024 },
      },
    });
    expect(parseImapUrl("/imaptest/;uid=3/;section=header")).toMatchObject({
      ok: true,
      url: { mailbox: "imaptest", uid: 3, section: "header", uidValidity: undefined },
    });
    expect(parseImapUrl("/INBOX/;uid=3/;partial=100000")).toMatchObject({
      url: { partial: { offset: 100000, count: undefined } },
    });
  });

  it("decodes %-escaped UTF-8 names and sections, hierarchy included", () => {
    expect(parseImapUrl("/Entw%C3%BCrfe/2026/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)")).toMatchObject({
      ok: true,
      url: { mailbox: "Entwürfe/2026", section: "HEADER.FIELDS (From To)" },
    });
  });

  it("reads the user of an absolute URL, with or without ;AUTH=", () => {
    expect(parseImapUrl("imap://alice@mail.example.org/INBOX/;UID=7")).toMatchObject({
      ok: true,
      url: { user: "alice", mailbox: "INBOX", uid: 7 },
    });
    expect(parseImapUrl("imap://bob;AUTH=*@host:143/INBOX/;UID=7")).toMatchObject({ url: { user: "bob" } });
  });

  it("refuses what names no message, URLAUTH, and malformed parts", () => {
    for (const url of [
      "INBOX/;UID=1",
      "/INBOX",
      "/INBOX/;UID=0",
      "/INBOX;UIDVALIDITY=x/;UID=1",
      "/INBOX/;UID=1/;SECTION=",
      "/INBOX/;UID=1/;PARTIAL=1.0",
      "/INBOX/;UID=1/;EXPIRE=2030-01-01T00:00:00Z",
      "/INBOX/;UID=1;URLAUTH=anonymous:internal:0123",
      "/%FF/;UID=1",
    ])
      expect(parseImapUrl(url).ok, url).toBe(false);
  });
});
