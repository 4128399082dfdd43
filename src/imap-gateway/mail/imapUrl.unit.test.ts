import { describe, expect, it } from "vitest";
import { parseImapUrl, parseUrlauthUrl } from "./imapUrl.ts";

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

describe("parseUrlauthUrl (RFC 4467 7)", () => {
  it("reads a rump: the message URL, an expiry and who may fetch it", () => {
    const rump =
      "imap://joe@example.com/INBOX/;uid=20/;section=1.2;expire=2030-01-01T12:00:00Z;urlauth=user+fred";
    expect(parseUrlauthUrl(rump)).toEqual({
      ok: true,
      url: {
        rump,
        message: {
          user: "joe",
          mailbox: "INBOX",
          uidValidity: undefined,
          uid: 20,
          section: "1.2",
          partial: undefined,
        },
        expire: new Date("2030-01-01T12:00:00Z"),
        access: { kind: "user", user: "fred" },
        mechanism: undefined,
        token: undefined,
      },
    });
  });

  it("reads a full URL: the rump it signs, the mechanism and the token, any case", () => {
    const parsed = parseUrlauthUrl(
      "imap://joe@example.com/Sent;UIDVALIDITY=7/;UID=3;URLAUTH=authuser:INTERNAL:91354A473744909DE610943775F92038",
    );
    expect(parsed).toMatchObject({
      ok: true,
      url: {
        rump: "imap://joe@example.com/Sent;UIDVALIDITY=7/;UID=3;URLAUTH=authuser",
        message: { user: "joe", mailbox: "Sent", uidValidity: 7, uid: 3 },
        access: { kind: "authuser" },
        mechanism: "internal",
        token: "91354a473744909de610943775f92038",
      },
    });
    expect(parseUrlauthUrl("imap://joe@h/INBOX/;uid=1;urlauth=anonymous")).toMatchObject({
      ok: true,
      url: { access: { kind: "anonymous" } },
    });
    expect(parseUrlauthUrl("imap://joe@h/INBOX/;uid=1;urlauth=submit+joe%40example.com")).toMatchObject({
      ok: true,
      url: { access: { kind: "submit", user: "joe@example.com" } },
    });
  });

  it("refuses URLs that name no user, no access, a bad expiry or a token that is not hex", () => {
    for (const url of [
      "imap://joe@h/INBOX/;uid=1",
      "/INBOX/;uid=1;urlauth=anonymous",
      "imap://h/INBOX/;uid=1;urlauth=anonymous",
      "imap://joe@h/INBOX/;uid=1;urlauth=everyone",
      "imap://joe@h/INBOX/;uid=1;urlauth=user+",
      "imap://joe@h/INBOX/;uid=1;expire=tomorrow;urlauth=anonymous",
      "imap://joe@h/INBOX/;uid=1;urlauth=anonymous:internal",
      "imap://joe@h/INBOX/;uid=1;urlauth=anonymous:internal:xyz",
    ]) {
      expect(parseUrlauthUrl(url).ok, url).toBe(false);
    }
  });
});
