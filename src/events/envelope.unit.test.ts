import { decodeTime } from "ulid";
import { describe, expect, it } from "vitest";
import { newEventId } from "./envelope.ts";

describe("event ids", () => {
  it("are ULIDs of now, unique and increasing in the order they were made", async () => {
    const before = Date.now();
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2_000; i++) ids.push(newEventId());
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(decodeTime(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(ids.at(-1)!)).toBeLessThanOrEqual(Date.now());
    // The random part is drawn anew in each millisecond: ids of different milliseconds differ there.
    const firstOfEachMs = new Map<number, string>();
    for (const id of ids) if (!firstOfEachMs.has(decodeTime(id))) firstOfEachMs.set(decodeTime(id), id);
    const randomParts = [...firstOfEachMs.values()].map((id) => id.slice(10));
    expect(new Set(randomParts).size).toBe(randomParts.length);
  });
});
