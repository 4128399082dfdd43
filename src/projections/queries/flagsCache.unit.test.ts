// The node's copy of a mailbox's FLAGS and MODSEQ against a naive model: whatever the changes
// (flags changed, messages added above or below the last UID, expunges of any size), the copy
// answers every range exactly as a sorted map of the same messages would.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CachedMailboxFlags } from "./flagsCache.ts";

type Model = Map<number, { modseq: number; flags: string }>;

const FLAG_LISTS = ["", "\\Seen", "\\Seen \\Flagged", "\\Deleted", "$Label1 \\Seen"];

const change = fc.record({
  changed: fc.array(
    fc.record({ uid: fc.integer({ min: 1, max: 400 }), flags: fc.constantFrom(...FLAG_LISTS) }),
    { maxLength: 30 },
  ),
  vanished: fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 30 }),
});

function rangeOf(model: Model, lowest: number, highest: number) {
  const rows = [...model].filter(([uid]) => uid >= lowest && uid <= highest).sort(([a], [b]) => a - b);
  return {
    uids: rows.map(([uid]) => uid),
    modseqs: rows.map(([, m]) => m.modseq),
    flags: rows.map(([, m]) => m.flags),
  };
}

describe("CachedMailboxFlags", () => {
  it("answers every range as the naive model does, after any sequence of changes", () => {
    fc.assert(
      fc.property(
        fc.array(change, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 400 }),
        (changes, cut) => {
          const model: Model = new Map();
          const copy = new CachedMailboxFlags(0);
          let modseq = 0;
          for (const step of changes) {
            modseq += 1;
            const vanished = [...new Set(step.vanished)].filter((uid) => model.has(uid));
            const gone = new Set(vanished);
            // A change names each message once, ascending, never one it expunges in the same step.
            const byUid = new Map(step.changed.filter((c) => !gone.has(c.uid)).map((c) => [c.uid, c]));
            const changed = [...byUid.values()]
              .sort((a, b) => a.uid - b.uid)
              .map((c) => ({ uid: c.uid, modseq, flags: c.flags === "" ? [] : c.flags.split(" ") }));
            for (const uid of vanished) model.delete(uid);
            for (const c of changed) model.set(c.uid, { modseq, flags: c.flags.join(" ") });
            copy.apply(changed, vanished, modseq);
          }
          expect(copy.modseq).toBe(modseq);
          expect(copy.count).toBe(model.size);
          for (const [lowest, highest] of [
            [1, 400],
            [1, cut],
            [cut, 400],
            [cut, cut],
          ] as const) {
            const slice = copy.slice(lowest, highest);
            expect({
              uids: [...slice.uids],
              modseqs: [...slice.modseqs],
              flags: [...slice.flags],
            }).toEqual(rangeOf(model, lowest, highest));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps a million messages in about 20 MB, and expunges every other one", () => {
    const copy = new CachedMailboxFlags(1, 1_000_000);
    const added = Array.from({ length: 1_000_000 }, (_, i) => ({
      uid: i + 1,
      modseq: 1,
      flags: i % 10 ? "\\Seen" : "",
    }));
    copy.apply(added, [], 1);
    expect(copy.bytes).toBeLessThan(21_000_000);
    const started = performance.now();
    copy.apply(
      [],
      Array.from({ length: 500_000 }, (_, i) => 2 * i + 1),
      2,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(copy.count).toBe(500_000);
    expect([...copy.slice(1, 6).uids]).toEqual([2, 4, 6]);
  });
});
