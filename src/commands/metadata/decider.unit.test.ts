import { describe, expect, it } from "vitest";
import {
  canonicalEntryName,
  DEFAULT_METADATA_LIMITS,
  decideSetMetadata,
  MetadataEntryNameError,
  MetadataLimitError,
} from "./decider.ts";

const limits = { maxValueSize: 10, maxEntriesPerMailbox: 3, maxEntryNameLength: 40 };
const current = new Map([
  ["/private/a", "1"],
  ["/shared/b", "2"],
]);

describe("metadata decider (RFC 5464 SETMETADATA)", () => {
  it("lower-cases entry names and refuses those no entry can have", () => {
    expect(canonicalEntryName("/Private/Vendor/X")).toBe("/private/vendor/x");
    expect(canonicalEntryName("/Shared", DEFAULT_METADATA_LIMITS, { root: true })).toBe("/shared");
    expect(() => canonicalEntryName("/shared")).toThrow(MetadataEntryNameError);
    for (const name of [
      "/comment",
      "/private",
      "/private/",
      "/shared//x",
      "/shared/x/",
      "x",
      "/shared/a*",
      "/shared/%",
      "/shared/a\u0001",
    ]) {
      expect(() => canonicalEntryName(name), name).toThrow(MetadataEntryNameError);
    }
    expect(() =>
      canonicalEntryName(`/shared/${"x".repeat(DEFAULT_METADATA_LIMITS.maxEntryNameLength)}`),
    ).toThrow(/longer than/);
  });

  it("records only what changes, the last change of a name winning", () => {
    const events = decideSetMetadata(
      {
        mailboxId: "m1",
        changes: [
          { name: "/private/A", value: "1" },
          { name: "/shared/b", value: null },
          { name: "/shared/c", value: "x" },
          { name: "/shared/C", value: "y" },
          { name: "/shared/gone", value: null },
        ],
      },
      current,
      limits,
    );
    expect(events).toEqual([
      {
        type: "MetadataEntriesSet",
        schemaVersion: 1,
        data: {
          mailboxId: "m1",
          entries: [
            { name: "/shared/b", value: null },
            { name: "/shared/c", value: "y" },
          ],
        },
      },
    ]);
    expect(
      decideSetMetadata({ mailboxId: null, changes: [{ name: "/private/a", value: "1" }] }, current, limits),
    ).toEqual([]);
  });

  it("refuses a value above MAXSIZE and more entries than allowed, as a whole", () => {
    const tooBig = () =>
      decideSetMetadata(
        { mailboxId: "m1", changes: [{ name: "/shared/x", value: "x".repeat(11) }] },
        current,
        limits,
      );
    expect(tooBig).toThrow(MetadataLimitError);
    expect(tooBig).toThrow(expect.objectContaining({ limit: "maxsize", maxSize: 10 }));
    const tooMany = () =>
      decideSetMetadata(
        {
          mailboxId: "m1",
          changes: [
            { name: "/shared/x", value: "1" },
            { name: "/shared/y", value: "2" },
          ],
        },
        current,
        limits,
      );
    expect(tooMany).toThrow(expect.objectContaining({ limit: "toomany" }));
    // Removing one makes room for another in the same command.
    expect(
      decideSetMetadata(
        {
          mailboxId: "m1",
          changes: [
            { name: "/shared/b", value: null },
            { name: "/shared/x", value: "1" },
            { name: "/shared/y", value: "2" },
          ],
        },
        current,
        limits,
      ),
    ).toHaveLength(1);
  });
});
