import { describe, expect, it } from "vitest";
import type { SequenceSet } from "../codec/index.ts";
import { sequenceSetFromString } from "../codec/index.ts";
import { SelectedMailboxState } from "./state.ts";

const set = (text: string) => sequenceSetFromString(text) as SequenceSet;
const plain = { holdExpunge: false, qresync: false, condstore: false };

describe("SelectedMailboxState sequence numbers", () => {
  const state = () => new SelectedMailboxState([3, 5, 9, 10, 20], 40);

  it("maps sequence numbers and UIDs both ways", () => {
    const s = state();
    expect(s.exists).toBe(5);
    expect(s.uidAt(3)).toBe(9);
    expect(s.sequenceNumberOf(10)).toBe(4);
    expect(s.sequenceNumberOf(4)).toBeUndefined();
  });

  it("resolves sequence sets, ranges in any order and *", () => {
    expect(state().resolve(set("2:4"), false)).toEqual({ ok: true, uids: [5, 9, 10] });
    expect(state().resolve(set("4:2"), false)).toEqual({ ok: true, uids: [5, 9, 10] });
    expect(state().resolve(set("*"), false)).toEqual({ ok: true, uids: [20] });
    expect(state().resolve(set("1,5,1:2"), false)).toEqual({ ok: true, uids: [3, 5, 20] });
  });

  it("refuses sequence numbers that do not exist", () => {
    expect(state().resolve(set("6"), false)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/6 does not exist/),
    });
    expect(new SelectedMailboxState([], 1).resolve(set("1:*"), false)).toMatchObject({ ok: false });
  });

  it("for SEARCH, lets sequence numbers beyond the mailbox's match nothing", () => {
    expect(state().matching(set("1000"), false)).toEqual([]);
    expect(state().matching(set("4:1000"), false)).toEqual([10, 20]);
    expect(state().matching(set("1000:*"), false)).toEqual([20]);
    expect(new SelectedMailboxState([], 1).matching(set("1:*"), false)).toEqual([]);
    expect(state().matching(set("21:*"), true)).toEqual([20]);
  });

  it("resolves UID sets to the UIDs that exist, with n:* including the largest UID", () => {
    expect(state().resolve(set("4:10"), true)).toEqual({ ok: true, uids: [5, 9, 10] });
    expect(state().resolve(set("100:*"), true)).toEqual({ ok: true, uids: [20] });
    expect(state().resolve(set("21"), true)).toEqual({ ok: true, uids: [] });
    expect(new SelectedMailboxState([], 1).resolve(set("1:*"), true)).toEqual({ ok: true, uids: [] });
  });
});

describe("SelectedMailboxState unilateral updates", () => {
  it("announces new messages as EXISTS and RECENT", () => {
    const s = new SelectedMailboxState([1, 2], 5);
    s.record({
      highestModSeq: 7,
      appended: [
        { uid: 3, flags: [], modSeq: 6, recent: true },
        { uid: 4, flags: ["\\Seen"], modSeq: 7 },
      ],
      expunged: [],
      flagsChanged: [],
    });
    expect(s.exists).toBe(2);
    expect(s.flush(plain)).toEqual(["4 EXISTS", "1 RECENT"]);
    expect(s.exists).toBe(4);
    expect(s.flush(plain)).toEqual([]);
  });

  it("announces expunges with the numbers valid at the moment each is sent", () => {
    const s = new SelectedMailboxState([10, 20, 30, 40], 5);
    s.record({ highestModSeq: 6, appended: [], expunged: [20, 40, 30], flagsChanged: [] });
    expect(s.flush(plain)).toEqual(["2 EXPUNGE", "2 EXPUNGE", "2 EXPUNGE"]);
    expect(s.uids).toEqual([10]);
  });

  it("holds expunges back during FETCH, STORE and SEARCH, keeping the numbering", () => {
    const s = new SelectedMailboxState([10, 20, 30], 5);
    s.record({
      highestModSeq: 6,
      appended: [{ uid: 31, flags: [], modSeq: 6 }],
      expunged: [20],
      flagsChanged: [],
    });
    expect(s.flush({ ...plain, holdExpunge: true })).toEqual(["4 EXISTS"]);
    expect(s.sequenceNumberOf(30)).toBe(3);
    expect(s.isExpungePending(20)).toBe(true);
    expect(s.flush(plain)).toEqual(["2 EXPUNGE"]);
    expect(s.sequenceNumberOf(30)).toBe(2);
  });

  it("uses VANISHED with QRESYNC", () => {
    const s = new SelectedMailboxState([1, 2, 3, 4, 7], 5);
    s.record({ highestModSeq: 6, appended: [], expunged: [2, 3, 7], flagsChanged: [] });
    expect(s.flush({ ...plain, qresync: true })).toEqual(["VANISHED 2:3,7"]);
    expect(s.exists).toBe(2);
  });

  it("reports flag changes by others with MODSEQ under CONDSTORE, but not the session's own", () => {
    const s = new SelectedMailboxState([1, 2, 3], 5);
    s.noteReported(2, 9);
    s.record({
      highestModSeq: 9,
      appended: [],
      expunged: [],
      flagsChanged: [
        { uid: 1, flags: ["\\Seen"], modSeq: 8 },
        { uid: 2, flags: ["\\Flagged"], modSeq: 9 },
      ],
    });
    expect(s.flush({ ...plain, condstore: true })).toEqual(["1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (8))"]);
    expect(s.highestModSeq).toBe(9);
  });

  it("sends FLAGS before the first flag update that carries a keyword new to the client (RFC 3501 7.2.6)", () => {
    const s = new SelectedMailboxState([1, 2], 5);
    expect(s.flagsResponse()).toBe("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
    s.record({
      highestModSeq: 7,
      appended: [],
      expunged: [],
      flagsChanged: [
        { uid: 1, flags: ["$Work", "\\Seen"], modSeq: 6 },
        { uid: 2, flags: ["$Later"], modSeq: 7 },
      ],
    });
    expect(s.flush(plain)).toEqual([
      "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $Later)",
      "1 FETCH (UID 1 FLAGS ($Work \\Seen))",
      "2 FETCH (UID 2 FLAGS ($Later))",
    ]);
    // Known keywords, in any case, are not announced again.
    expect(s.announceKeywords([["$work"], ["$Later", "\\Flagged"]])).toBeUndefined();
    expect(s.announceKeywords([["$Work", "NIL"]])).toBe(
      "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $Later NIL)",
    );
  });

  it("never announces a message appended and expunged between two looks, even while EXPUNGE is held", () => {
    const s = new SelectedMailboxState([1], 5);
    s.record({
      highestModSeq: 7,
      appended: [
        { uid: 2, flags: [], modSeq: 6 },
        { uid: 3, flags: [], modSeq: 7 },
      ],
      expunged: [2],
      flagsChanged: [],
    });
    expect(s.flush({ ...plain, holdExpunge: true })).toEqual(["2 EXISTS"]);
    expect(s.uids).toEqual([1, 3]);
    expect(s.flush(plain)).toEqual([]);
  });

  it("expunges before it announces new messages: a message MOVEd within the mailbox leaves, then comes", () => {
    const s = new SelectedMailboxState([4], 5);
    s.record({
      highestModSeq: 7,
      appended: [{ uid: 5, flags: [], modSeq: 7 }],
      expunged: [4],
      flagsChanged: [],
    });
    expect(s.flush(plain)).toEqual(["1 EXPUNGE", "1 EXISTS"]);
    expect(s.uids).toEqual([5]);
  });

  it("ignores duplicates of what it already knows (a doorbell may ring twice)", () => {
    const s = new SelectedMailboxState([1, 2], 5);
    const changes = {
      highestModSeq: 6,
      appended: [{ uid: 3, flags: [], modSeq: 6 }],
      expunged: [],
      flagsChanged: [],
    };
    s.record(changes);
    s.record(changes);
    expect(s.flush(plain)).toEqual(["3 EXISTS"]);
    s.record(changes);
    expect(s.flush(plain)).toEqual([]);
  });
});

describe("SelectedMailboxState live searches (RFC 5267 CONTEXT=SEARCH)", () => {
  const live = () => {
    const s = new SelectedMailboxState([1, 2, 3, 4], 5);
    s.addSearchContext({ tag: "A1", uid: false, criteria: {}, results: [2, 3] });
    s.addSearchContext({ tag: "A2", uid: true, criteria: {}, results: [3, 4] });
    return s;
  };

  it("sends REMOVEFROM for expunged results before the EXPUNGEs, in the numbers they had", () => {
    const s = live();
    s.record({ highestModSeq: 6, appended: [], expunged: [1, 3], flagsChanged: [] });
    expect(s.flush(plain)).toEqual([
      'ESEARCH (TAG "A1") REMOVEFROM (0 3)',
      'ESEARCH (TAG "A2") UID REMOVEFROM (0 3)',
      "1 EXPUNGE",
      "2 EXPUNGE",
    ]);
    expect([...s.searchContexts.get("A1")!.results]).toEqual([2]);
  });

  it("holds REMOVEFROM back with the EXPUNGEs", () => {
    const s = live();
    s.record({ highestModSeq: 6, appended: [], expunged: [2], flagsChanged: [] });
    expect(s.flush({ ...plain, holdExpunge: true })).toEqual([]);
    expect(s.flush(plain)).toEqual(['ESEARCH (TAG "A1") REMOVEFROM (0 2)', "2 EXPUNGE"]);
  });

  it("gives the messages to look at again once announced, then ADDTO and REMOVEFROM from what matched", () => {
    const s = live();
    s.record({
      highestModSeq: 7,
      appended: [{ uid: 5, flags: [], modSeq: 7 }],
      expunged: [],
      flagsChanged: [{ uid: 2, flags: ["\\Seen"], modSeq: 6 }],
    });
    // Not announced yet: 5 waits.
    expect(s.takeContextDirty()).toEqual([2]);
    s.flush(plain);
    expect(s.takeContextDirty()).toEqual([5]);
    expect(s.updateSearchContext("A1", [2, 5], new Set([5]))).toBe(
      'ESEARCH (TAG "A1") REMOVEFROM (0 2) ADDTO (0 5)',
    );
    expect(s.updateSearchContext("A2", [2, 5], new Set([5]))).toBe('ESEARCH (TAG "A2") UID ADDTO (0 5)');
    expect(s.updateSearchContext("A2", [5], new Set([5]))).toBeUndefined();
  });

  it("tracks nothing without a live search, and forgets a cancelled one", () => {
    const s = new SelectedMailboxState([1], 5);
    s.record({
      highestModSeq: 6,
      appended: [],
      expunged: [],
      flagsChanged: [{ uid: 1, flags: [], modSeq: 6 }],
    });
    expect(s.takeContextDirty()).toEqual([]);
    const l = live();
    expect(l.cancelSearchContext("A1")).toBe(true);
    expect(l.cancelSearchContext("A1")).toBe(false);
    expect([...l.searchContexts.keys()]).toEqual(["A2"]);
  });
});

describe("SelectedMailboxState live sorts (RFC 5267 CONTEXT=SORT)", () => {
  /** A live UID SORT by size (the one key), with these sizes by UID. */
  function sortedBySize(sizes: Record<number, number>, reverse = false) {
    const keys = new Map(Object.entries(sizes).map(([uid, size]) => [Number(uid), [size]]));
    const compare = (a: readonly (number | Buffer)[], b: readonly (number | Buffer)[]) =>
      ((a[0] as number) - (b[0] as number)) * (reverse ? -1 : 1);
    const uids = [...keys.keys()].sort((x, y) => compare(keys.get(x)!, keys.get(y)!) || x - y);
    return { uids, keys, compare };
  }

  it("puts new messages where they sort: runs, each at its position once the runs before it are in", () => {
    const s = new SelectedMailboxState([3, 5, 7, 8, 9, 10, 11], 10);
    const order = sortedBySize({ 3: 10, 5: 20, 7: 30 });
    s.addSearchContext({ tag: "S1", uid: true, criteria: {}, results: order.uids, order });
    const keys = new Map([
      [8, [15]],
      [9, [40]],
    ]);
    expect(s.updateSearchContext("S1", [8, 9], new Set([8, 9]), keys)).toBe(
      'ESEARCH (TAG "S1") UID ADDTO (2 8 5 9)',
    );
    expect(order.uids).toEqual([3, 8, 5, 7, 9]);
    // Two that sort together form one run, listed in sort order.
    const more = new Map([
      [11, [16]],
      [10, [17]],
    ]);
    expect(s.updateSearchContext("S1", [10, 11], new Set([10, 11]), more)).toBe(
      'ESEARCH (TAG "S1") UID ADDTO (3 11,10)',
    );
    expect(order.uids).toEqual([3, 8, 11, 10, 5, 7, 9]);
  });

  it("takes leaving messages out at the positions they had, the earlier runs already gone, before new ones join", () => {
    const s = new SelectedMailboxState([3, 5, 7, 8, 9], 10);
    const order = sortedBySize({ 3: 10, 8: 15, 5: 20, 7: 30 });
    s.addSearchContext({ tag: "S2", uid: false, criteria: {}, results: order.uids, order });
    // 8 (2nd) and 5 (3rd) stand together: one run at 2. Then 9 joins at the end.
    expect(s.updateSearchContext("S2", [5, 8, 9], new Set([9]), new Map([[9, [99]]]))).toBe(
      'ESEARCH (TAG "S2") REMOVEFROM (2 4,2) ADDTO (3 5)',
    );
    expect(order.uids).toEqual([3, 7, 9]);
  });

  it("ties sort in mailbox order whatever REVERSE says, and an expunge leaves with its position", () => {
    const s = new SelectedMailboxState([1, 2, 3, 4], 10);
    const order = sortedBySize({ 1: 5, 2: 5, 3: 9 }, true);
    expect(order.uids).toEqual([3, 1, 2]);
    s.addSearchContext({ tag: "S3", uid: false, criteria: {}, results: order.uids, order });
    expect(s.updateSearchContext("S3", [4], new Set([4]), new Map([[4, [5]]]))).toBe(
      'ESEARCH (TAG "S3") ADDTO (4 4)',
    );
    s.record({ highestModSeq: 11, appended: [], expunged: [1], flagsChanged: [] });
    expect(s.flush(plain)).toEqual(['ESEARCH (TAG "S3") REMOVEFROM (2 1)', "1 EXPUNGE"]);
    expect(order.uids).toEqual([3, 2, 4]);
  });
});
