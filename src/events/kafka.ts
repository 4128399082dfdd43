// kafkajs, with one fix applied: every module of mailledger takes kafkajs from here.
//
// kafkajs 2.2.4 re-arms a timer after each request its connections finish, even with nothing
// queued and no throttling: `throttledUntil - Date.now()` is negative, so the timer fires after
// 1 ms, checks an empty queue and arms itself again. Each broker connection spins at 1,000
// wakeups a second for as long as it lives (measured: an idle producer and consumer cost 70 ms of
// CPU a second, 8 ms with the fix). Node 24 also prints a TimeoutNegativeWarning for it.
// Upstream: tulios/kafkajs#1751 (open, no release carries a fix).
//
// The fix skips the schedule when nothing waits and no throttle is in force. Requests queued
// later schedule their own check (`push`), and a finished request checks the queue again, so no
// request is left waiting.
import { createRequire } from "node:module";

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const FIXED = Symbol.for("mailledger.kafkajs.idleTimerFix");

function fixIdleRequestQueueTimer(): void {
  const require = createRequire(import.meta.url);
  const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as {
    prototype: RequestQueueInternals & { [FIXED]?: true };
  };
  const proto = RequestQueue.prototype;
  if (proto[FIXED]) return;
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== "function") {
    throw new Error(
      "kafkajs changed: RequestQueue.scheduleCheckPendingRequests is gone; review src/events/kafka.ts",
    );
  }
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto[FIXED] = true;
}

fixIdleRequestQueueTimer();

export * from "kafkajs";
