// The session's UID map against a naive model: a plain list where every expunge is found and
// spliced one at a time, and every set is resolved number by number into a sorted Set. Whatever
// the appends, expunges and sets, both give the same numbers and the same responses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SequenceSet } from "../codec/index.ts";
import { SelectedMailboxState } from "./state.ts";

/** The obvious implementation: what the RFC says, step by step. */
class NaiveUidMap {
  uids: number[];
  pendingExpunges = new Set<number>();
  pendingAppends: number[] = [];
  announced: number;

  constructor(uids: readonly number[]) {
    this.uids = [...uids];
    this.announced = uids.length;
  }

  get lastKnown(): number {
    return this.pendingAppends.at(-1) ?? this.uids.at(-1) ?? 0;
  }

  record(appended: readonly number[], expunged: readonly number[]): void {
    for (const uid of appended) if (uid > this.lastKnown) this.pendingAppends.push(uid);
    for (const uid of expunged) {
      if (this.pendingAppends.includes(uid) || this.uids.includes(uid)) this.pendingExpunges.add(uid);
    }
  }

  flush(holdExpunge: boolean, qresync: boolean): string[] {
    const lines: string[] = [];
    for (const uid of [...this.pendingAppends]) {
      if (this.pendingExpunges.has(uid)) {
        this.pendingExpunges.delete(uid);
        this.pendingAppends.splice(this.pendingAppends.indexOf(uid), 1);
      }
    }
    if (!holdExpunge && this.pendingExpunges.size > 0) {
      const expunged = [...this.pendingExpunges]
        .filter((uid) => this.uids.includes(uid))
        .sort((a, b) => a - b);
      if (qresync) {
        if (expunged.length > 0) lines.push(`VANISHED ${expunged.join(",")}`);
        this.uids = this.uids.filter((uid) => !expunged.includes(uid));
      } else {
        for (const uid of expunged) {
          const index = this.uids.indexOf(uid);
          lines.push(`${index + 1} EXPUNGE`);
          this.uids.splice(index, 1);
        }
      }
      this.pendingExpunges.clear();
      this.announced = this.uids.length;
    }
    this.uids.push(...this.pendingAppends);
    this.pendingAppends = [];
    if (this.uids.length !== this.announced) {
      lines.push(`${this.uids.length} EXISTS`);
      this.announced = this.uids.length;
    }
    return lines;
  }

  resolve(ranges: readonly { start: number | "*"; stop: number | "*" }[], byUid: boolean): number[] | null {
    const found = new Set<number>();
    const count = this.uids.length;
    const largest = this.uids.at(-1) ?? 0;
    for (const range of ranges) {
      const star = byUid ? largest : count;
      const a = range.start === "*" ? star : range.start;
      const b = range.stop === "*" ? star : range.stop;
      const [low, high] = [Math.min(a, b), Math.max(a, b)];
      if (byUid) {
        for (const uid of this.uids) if (uid >= low && uid <= high) found.add(uid);
      } else {
        if (low < 1 || high > count) return null;
        for (let seq = low; seq <= high; seq++) found.add(this.uids[seq - 1]!);
      }
    }
    return [...found].sort((a, b) => a - b);
  }
}

/** VANISHED lists are compressed (1:3) by the real one: expanded back to compare. */
function expand(line: string): string {
  if (!line.startsWith("VANISHED ")) return line;
  const uids = line
    .slice(9)
    .split(",")
    .flatMap((part) => {
      const [a, b] = part.split(":").map(Number);
      if (b === undefined) return [a!];
      return Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
    });
  return `VANISHED ${uids.join(",")}`;
}

const bound = fc.oneof(fc.integer({ min: 1, max: 120 }), fc.constant("*" as const));
const rangesArb = fc.array(fc.record({ start: bound, stop: bound }), { minLength: 1, maxLength: 4 });

const step = fc.oneof(
  fc.record({
    kind: fc.constant("change" as const),
    appended: fc.integer({ min: 0, max: 5 }),
    /** Picks among the UIDs known (announced or queued), by position modulo their count. */
    expunged: fc.array(fc.nat(), { maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("flush" as const), holdExpunge: fc.boolean(), qresync: fc.boolean() }),
  fc.record({ kind: fc.constant("resolve" as const), ranges: rangesArb, byUid: fc.boolean() }),
);

describe("SelectedMailboxState UID map against a naive model", () => {
  it("gives the same numbers, EXPUNGE, VANISHED and EXISTS for any appends, expunges and sets", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 60 }),
        fc.array(step, { maxLength: 25 }),
        (initial, steps) => {
          const sorted = [...initial].sort((a, b) => a - b);
          const real = new SelectedMailboxState(sorted, 1);
          const model = new NaiveUidMap(sorted);
          let modseq = 1;
          for (const s of steps) {
            if (s.kind === "change") {
              const first = model.lastKnown + 1 + (modseq % 3);
              const appended = Array.from({ length: s.appended }, (_, i) => first + i);
              const known = [...model.uids, ...model.pendingAppends, ...appended];
              const expunged =
                known.length === 0 ? [] : [...new Set(s.expunged.map((n) => known[n % known.length]!))];
              modseq += 1;
              real.record({
                highestModSeq: modseq,
                appended: appended.map((uid) => ({ uid, flags: [], modSeq: modseq })),
                expunged,
                flagsChanged: [],
              });
              model.record(appended, expunged);
            } else if (s.kind === "flush") {
              const lines = real.flush({ holdExpunge: s.holdExpunge, qresync: s.qresync, condstore: false });
              expect(lines.map(expand)).toEqual(model.flush(s.holdExpunge, s.qresync));
            } else {
              const set: SequenceSet = { kind: "ranges", ranges: s.ranges };
              const resolved = real.resolve(set, s.byUid);
              const expected = model.resolve(s.ranges, s.byUid);
              if (expected === null) expect(resolved.ok).toBe(false);
              else expect(resolved).toEqual({ ok: true, uids: expected });
            }
            expect(real.exists).toBe(model.uids.length);
            expect([...real.uids]).toEqual(model.uids);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("SelectedMailboxState with a million messages", () => {
  it("announces the expunge of every other one of 1,000,000 UIDs with the numbers they have in turn", () => {
    const uids = Array.from({ length: 1_000_000 }, (_, i) => i + 1);
    const state = new SelectedMailboxState(uids, 1);
    const odd = uids.filter((uid) => uid % 2 === 1);
    state.record({ highestModSeq: 2, appended: [], expunged: odd, flagsChanged: [] });
    const lines = state.flush({ holdExpunge: false, qresync: false, condstore: false });
    // The first is message 1; once it is gone the next odd UID is message 2, and so on.
    // Each EXPUNGE counts itself down: no EXISTS follows (RFC 3501 7.4.1).
    expect(lines).toHaveLength(500_000);
    expect(lines[0]).toBe("1 EXPUNGE");
    expect(lines[1]).toBe("2 EXPUNGE");
    expect(lines[499_999]).toBe("500000 EXPUNGE");
    expect(state.exists).toBe(500_000);
    expect(state.uidAt(1)).toBe(2);
    expect(state.resolve({ kind: "ranges", ranges: [{ start: 1, stop: "*" }] }, true)).toMatchObject({
      ok: true,
      uids: expect.arrayContaining([2, 1_000_000]),
    });
  });
});
