import { describe, expect, it } from "vitest";
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
