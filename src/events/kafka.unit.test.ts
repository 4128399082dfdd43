import { createRequire } from "node:module";
import { afterEach, describe, expect, it, vi } from "vitest";
import "./kafka.ts";

interface RequestQueue {
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  maybeThrottle(ms: number | null): void;
}
const require = createRequire(import.meta.url);
const RequestQueueClass = require("kafkajs/src/network/requestQueue/index.js") as new (
  options: Record<string, unknown>,
) => RequestQueue;

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const newQueue = () =>
  new RequestQueueClass({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "127.0.0.1:9092",
    logger: silent,
  });

describe("kafkajs through src/events/kafka.ts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("leaves an idle connection's request queue without a timer (kafkajs re-armed one every 1 ms)", () => {
    vi.useFakeTimers();
    const queue = newQueue();
    queue.checkPendingRequests(); // what kafkajs runs after every finished request
    expect(vi.getTimerCount()).toBe(0);
  });

  it("still checks the queue again when a broker throttle ends", () => {
    vi.useFakeTimers();
    const queue = newQueue();
    queue.maybeThrottle(50);
    const check = vi.spyOn(queue, "checkPendingRequests");
    queue.scheduleCheckPendingRequests();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(check).toHaveBeenCalledTimes(1);
    // The throttle is over and nothing waits: no timer is left behind.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("re-exports kafkajs", async () => {
    const kafka = await import("./kafka.ts");
    expect(typeof kafka.Kafka).toBe("function");
    expect(kafka.logLevel.NOTHING).toBe(0);
  });
});
