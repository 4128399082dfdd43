import { Redis } from "ioredis";
import { ulid } from "ulid";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TEST_REDIS_URL } from "../../../test/support/services.ts";
import type { LoginThrottle, LoginThrottleLimits } from "./loginThrottle.ts";
import { createRedisLoginThrottle } from "./redisLoginThrottle.ts";

const limits: LoginThrottleLimits = {
  maxFailedLoginsPerAddress: 3,
  maxFailedLoginsPerUser: 5,
  failedLoginWindowMs: 60_000,
  failedLoginLockoutMs: 60_000,
  failedLoginBaseDelayMs: 10,
  failedLoginMaxDelayMs: 1_000,
};

const open: LoginThrottle[] = [];
afterEach(async () => {
  for (const throttle of open.splice(0)) await throttle.close?.();
});

const redis = new Redis(TEST_REDIS_URL);
afterAll(() => redis.disconnect());

/**
 * Two gateway nodes of one deployment (one Redis, one prefix), once both answer from Redis: a
 * lockout set in Redis by hand must show on each (before its connection is up, a node answers
 * from its own counts alone).
 */
async function twoNodes(
  overrides: Partial<LoginThrottleLimits> = {},
): Promise<[LoginThrottle, LoginThrottle]> {
  const prefix = `mailledger:test:${ulid()}:login`;
  const make = () =>
    createRedisLoginThrottle({ url: TEST_REDIS_URL, limits: { ...limits, ...overrides }, prefix });
  const nodes: [LoginThrottle, LoginThrottle] = [make(), make()];
  open.push(...nodes);
  await redis.set(`${prefix}:address-lock:probe`, "1", "PX", 60_000);
  for (const node of nodes) {
    for (let attempt = 0; (await node.check("probe", undefined)).allowed; attempt++) {
      if (attempt > 100) throw new Error("the throttle never answered from Redis");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return nodes;
}

describe("Redis login throttle", () => {
  it("counts an address's failures on every node and locks it out on every node", async () => {
    const [a, b] = await twoNodes();
    const address = "198.51.100.7";
    expect(await a.recordFailure(address, "alice")).toBe(10);
    expect(await a.recordFailure(address, "alice")).toBe(20);
    expect(await b.check(address, "alice")).toEqual({ allowed: true });
    // Node B's first failure is the address's third: the doubled delay continues from there.
    expect(await b.recordFailure(address, "alice")).toBe(40);
    for (const node of [a, b]) {
      const verdict = await node.check(address, "alice");
      expect(verdict).toMatchObject({ allowed: false, scope: "address" });
      expect(verdict.allowed === false && verdict.retryAfterMs).toBeGreaterThan(50_000);
    }
    // Another address is not affected.
    expect(await a.check("198.51.100.8", "bob")).toEqual({ allowed: true });
  });

  it("counts a user's failures from many addresses on every node, whatever the case of the name", async () => {
    const [a, b] = await twoNodes();
    for (let i = 1; i <= 5; i++) {
      const node = i % 2 === 0 ? a : b;
      await node.recordFailure(`192.0.2.${i}`, i % 2 === 0 ? "Carol" : "carol");
    }
    for (const node of [a, b]) {
      expect(await node.check("192.0.2.99", "CAROL")).toMatchObject({ allowed: false, scope: "user" });
      expect(await node.check("192.0.2.99", "dave")).toEqual({ allowed: true });
    }
  });

  it("starts over after a success from the address, and after the window", async () => {
    const [a, b] = await twoNodes({ failedLoginWindowMs: 400 });
    const address = "198.51.100.20";
    await a.recordFailure(address, "erin");
    await b.recordFailure(address, "erin");
    await a.recordSuccess(address);
    await b.recordFailure(address, "erin");
    // Three failures from the address, but a success came between: on no node is it locked out.
    expect(await a.check(address, "erin")).toEqual({ allowed: true });
    expect(await b.check(address, "erin")).toEqual({ allowed: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await a.recordFailure(address, "erin");
    await b.recordFailure(address, "erin");
    expect(await b.check(address, "erin")).toEqual({ allowed: true });
  });

  it("ends the lockout on time", async () => {
    const [a, b] = await twoNodes({ failedLoginLockoutMs: 300, maxFailedLoginsPerAddress: 2 });
    const address = "198.51.100.30";
    await a.recordFailure(address, undefined);
    await b.recordFailure(address, undefined);
    expect(await a.check(address, undefined)).toMatchObject({ allowed: false, scope: "address" });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await a.check(address, undefined)).toEqual({ allowed: true });
  });

  it("throttles per node when Redis cannot be reached, and never refuses for that alone", async () => {
    const errors: unknown[] = [];
    const throttle = createRedisLoginThrottle({
      url: "redis://127.0.0.1:1",
      limits,
      onError: (error) => errors.push(error),
    });
    open.push(throttle);
    const address = "198.51.100.40";
    expect(await throttle.check(address, "frank")).toEqual({ allowed: true });
    expect(await throttle.recordFailure(address, "frank")).toBe(10);
    await throttle.recordFailure(address, "frank");
    await throttle.recordFailure(address, "frank");
    expect(await throttle.check(address, "frank")).toMatchObject({ allowed: false, scope: "address" });
    expect(await throttle.check("198.51.100.41", "grace")).toEqual({ allowed: true });
    expect(errors.length).toBeGreaterThan(0);
  });
});
