import { describe, expect, it } from "vitest";
import { mailboxLookupName } from "../events/domain/common.ts";
import { canonicalMailboxName, isInferiorOf, parentName, renamedName, superiorNames } from "./names.ts";

describe("mailbox names", () => {
  it("canonicalizes INBOX and its inferiors, drops a trailing separator", () => {
    expect(canonicalMailboxName("inbox")).toBe("INBOX");
    expect(canonicalMailboxName("InBoX/Lists")).toBe("INBOX/Lists");
    expect(canonicalMailboxName("Inboxes")).toBe("Inboxes");
    expect(canonicalMailboxName("a/b/")).toBe("a/b");
    expect(canonicalMailboxName("Ünïcödé")).toBe("Ünïcödé".normalize("NFC"));
  });

  it("knows superiors, parents and inferiors", () => {
    expect(superiorNames("a/b/c")).toEqual(["a", "a/b"]);
    expect(parentName("a/b/c")).toBe("a/b");
    expect(parentName("a")).toBeNull();
    expect(isInferiorOf("a/b", "a")).toBe(true);
    expect(isInferiorOf("ab", "a")).toBe(false);
    expect(renamedName("a/b/c", "a/b", "z")).toBe("z/c");
  });
});

describe("a lookup finds what a write stored", () => {
  it("gives the form canonicalMailboxName stores, without refusing", () => {
    for (const raw of ["inbox", "Inbox/Sub", "INBOX/", "Cafe\u0301", "a/b/", "Archive"]) {
      expect(mailboxLookupName(raw), raw).toBe(canonicalMailboxName(raw));
    }
    // A name no mailbox can have is looked up as it is, and simply not found.
    expect(mailboxLookupName("a//b")).toBe("a//b");
    expect(() => canonicalMailboxName("a//b")).toThrow(/empty level/);
  });
});
