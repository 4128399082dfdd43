import { describe, expect, it } from "vitest";
import { type Found, judge, type MessageRecord } from "./model.ts";

const at = (inbox: number[], archive: number[] = [], flagged = false): Found => ({ inbox, archive, flagged });

describe("the fault suite's verdict", () => {
  it("passes what every answer allows", () => {
    const records: MessageRecord[] = [
      { key: "a", owner: "u", append: "ok", uid: 1 },
      { key: "b", owner: "u", append: "ok", uid: 2, followUp: { kind: "move", outcome: "ok", copyUid: 1 } },
      { key: "c", owner: "u", append: "unknown" },
      { key: "d", owner: "u", append: "ok", uid: 3, followUp: { kind: "expunge", outcome: "unknown" } },
      { key: "e", owner: "u", append: "ok", uid: 4, followUp: { kind: "flag", outcome: "ok" } },
    ];
    const found = new Map([
      ["a", at([1])],
      ["b", at([], [1])],
      ["e", at([4], [], true)],
    ]);
    expect(judge(records, found)).toEqual({ lost: [], duplicated: [], noButDone: [], reused: [] });
  });

  it("finds a lost APPEND, a lost flag, a duplicate, a NO that was done and a reused UID", () => {
    const records: MessageRecord[] = [
      { key: "lost", owner: "u", append: "ok", uid: 1 },
      { key: "unflagged", owner: "u", append: "ok", uid: 2, followUp: { kind: "flag", outcome: "ok" } },
      { key: "twice", owner: "u", append: "unknown" },
      { key: "refused", owner: "u", append: "no" },
      { key: "moved-uid", owner: "u", append: "ok", uid: 5 },
    ];
    const found = new Map([
      ["unflagged", at([2])],
      ["twice", at([3, 4])],
      ["refused", at([6])],
      ["moved-uid", at([2])],
    ]);
    const verdict = judge(records, found);
    expect(verdict.lost).toEqual([expect.stringMatching(/^lost /), expect.stringMatching(/^unflagged /)]);
    expect(verdict.duplicated).toEqual([expect.stringMatching(/^twice /)]);
    expect(verdict.noButDone).toEqual([expect.stringMatching(/^refused /)]);
    expect(verdict.reused).toEqual([
      "INBOX UID 2: unflagged and moved-uid",
      "moved-uid: APPENDUID 5, found as 2",
    ]);
  });
});
