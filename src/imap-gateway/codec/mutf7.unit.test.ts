import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMailboxName, encodeMailboxName } from "./mutf7.ts";

describe("modified UTF-7", () => {
  it("encodes the RFC 3501 examples", () => {
    expect(encodeMailboxName("~peter/mail/日本語/台北")).toBe("~peter/mail/&ZeVnLIqe-/&U,BTFw-");
    expect(encodeMailboxName("Entwürfe")).toBe("Entw&APw-rfe");
    expect(encodeMailboxName("R&D")).toBe("R&-D");
    expect(encodeMailboxName("😀")).toBe("&2D3eAA-");
  });

  it("decodes them back", () => {
    expect(decodeMailboxName("~peter/mail/&ZeVnLIqe-/&U,BTFw-")).toEqual({
      ok: true,
      name: "~peter/mail/日本語/台北",
    });
    expect(decodeMailboxName("R&-D&-")).toEqual({ ok: true, name: "R&D&" });
    expect(decodeMailboxName("&2D3eAA-")).toEqual({ ok: true, name: "😀" });
  });

  it.each([
    ["&Jjo", '"&" without a closing "-"'],
    ["&U,BTFw-&ZeVnLIqe-", "two adjacent encoded sections (not the shortest form)"], // RFC 3501 5.1.3
    ["&AGE-", "encoded section contains printable ASCII"],
    ["&AGEAYg-", "encoded section contains printable ASCII"],
    ["&ZeVnLIqe&-", 'invalid character "&" in encoded section'],
    ["&ZeVnLIqe=-", 'invalid character "=" in encoded section'],
    ["&ZeVnLIqe/-", 'invalid character "/" in encoded section'],
    ["&ZeVnLIq-", "bad padding in encoded section"],
    ["&AOl-", "bad padding in encoded section"],
    ["&A-", "bad padding in encoded section"],
    ["&ZeU-&Zyw-", "two adjacent encoded sections (not the shortest form)"],
    ["&2D0-", "unpaired UTF-16 surrogate"],
    ["&3gA-", "unpaired UTF-16 surrogate"],
    ["tab\there", "character 0x9 must be encoded in a mailbox name"],
    ["caf\u00e9", "character 0xe9 must be encoded in a mailbox name"],
  ])("rejects %j", (encoded, error) => {
    expect(decodeMailboxName(encoded)).toEqual({ ok: false, error });
  });

  it("round-trips arbitrary Unicode text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (name) => {
        const encoded = encodeMailboxName(name);
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(decodeMailboxName(encoded)).toEqual({ ok: true, name });
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts only the canonical spelling of any name", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."&-+,AZaz09/"), maxLength: 20 }), (encoded) => {
        const decoded = decodeMailboxName(encoded);
        if (decoded.ok) expect(encodeMailboxName(decoded.name)).toBe(encoded);
      }),
      { numRuns: 3000 },
    );
  });
});
