import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../events/envelope.ts";
import { groupByUser } from "./rebuild.ts";

const event = (globalPosition: number, userId: string) =>
  ({ globalPosition, metadata: { userId } }) as unknown as RecordedEvent;

describe("groupByUser", () => {
  it("keeps each user's events together and in log order, and spreads users over the groups", () => {
    const log = [event(1, "a"), event(2, "b"), event(3, "a"), event(4, "c"), event(5, "b"), event(6, "a")];
    const groups = groupByUser(log, 2);
    expect(groups.map((group) => group.map((e) => e.globalPosition))).toEqual([
      [1, 3, 4, 6],
      [2, 5],
    ]);
    for (const group of groups) {
      const users = new Set(group.map((e) => e.metadata.userId));
      for (const other of groups) {
        if (other === group) continue;
        for (const e of other) expect(users.has(e.metadata.userId)).toBe(false);
      }
    }
    // One user, or fewer users than groups: no empty group.
    expect(groupByUser([event(1, "a"), event(2, "a")], 3)).toHaveLength(1);
  });
});
