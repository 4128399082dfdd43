// Failed-login throttling per remote address and per user: each failure within the window
// doubles the delay before the NO is sent; past the limit, the address (or user) is refused
// outright until the lockout ends. MemoryLoginThrottle keeps the counts of one node, bounded (old
// entries are pruned); redisLoginThrottle.ts shares them between the nodes of a deployment.

export interface LoginThrottleLimits {
  readonly maxFailedLoginsPerAddress: number;
  readonly maxFailedLoginsPerUser: number;
  readonly failedLoginWindowMs: number;
  readonly failedLoginLockoutMs: number;
  readonly failedLoginBaseDelayMs: number;
  readonly failedLoginMaxDelayMs: number;
}

/** Tracked keys beyond this trigger a prune, so a spray of addresses cannot grow memory without bound. */
const MAX_TRACKED_KEYS = 100_000;

interface FailureRecord {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

export type ThrottleVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly scope: "address" | "user"; readonly retryAfterMs: number };

export interface LoginThrottle {
  /** May this address try to log in as this user now? */
  check(remoteAddress: string, username: string | undefined): Promise<ThrottleVerdict>;
  /** Records a failure; resolves to how long to wait before answering it. */
  recordFailure(remoteAddress: string, username: string | undefined): Promise<number>;
  /** A success from an address clears its count (the user's stays: another address may be guessing). */
  recordSuccess(remoteAddress: string): Promise<void>;
  close?(): Promise<void>;
}

/** The delay before answering the `failures`-th failure of an address: doubling, capped. */
export function failureDelayMs(limits: LoginThrottleLimits, failures: number): number {
  const delay = limits.failedLoginBaseDelayMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(delay, limits.failedLoginMaxDelayMs);
}

export class MemoryLoginThrottle implements LoginThrottle {
  readonly #limits: LoginThrottleLimits;
  readonly #now: () => number;
  readonly #byAddress = new Map<string, FailureRecord>();
  readonly #byUser = new Map<string, FailureRecord>();

  constructor(limits: LoginThrottleLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  async check(remoteAddress: string, username: string | undefined): Promise<ThrottleVerdict> {
    return this.checkNow(remoteAddress, username);
  }

  async recordFailure(remoteAddress: string, username: string | undefined): Promise<number> {
    return this.recordFailureNow(remoteAddress, username);
  }

  async recordSuccess(remoteAddress: string): Promise<void> {
    this.#byAddress.delete(remoteAddress);
  }

  /** check, synchronously. */
  checkNow(remoteAddress: string, username: string | undefined): ThrottleVerdict {
    const now = this.#now();
    const address = this.#byAddress.get(remoteAddress);
    if (address !== undefined && address.lockedUntil > now) {
      return { allowed: false, scope: "address", retryAfterMs: address.lockedUntil - now };
    }
    const user = username === undefined ? undefined : this.#byUser.get(username.toLowerCase());
    if (user !== undefined && user.lockedUntil > now) {
      return { allowed: false, scope: "user", retryAfterMs: user.lockedUntil - now };
    }
    return { allowed: true };
  }

  /** recordFailure, synchronously. */
  recordFailureNow(remoteAddress: string, username: string | undefined): number {
    const now = this.#now();
    const limits = this.#limits;
    const address = this.#bump(this.#byAddress, remoteAddress, now, limits.maxFailedLoginsPerAddress);
    if (username !== undefined) {
      this.#bump(this.#byUser, username.toLowerCase(), now, limits.maxFailedLoginsPerUser);
    }
    return failureDelayMs(limits, address.failures);
  }

  /** Failures currently counted for an address (for tests and diagnostics). */
  failures(remoteAddress: string): number {
    return this.#byAddress.get(remoteAddress)?.failures ?? 0;
  }

  #bump(map: Map<string, FailureRecord>, key: string, now: number, max: number): FailureRecord {
    let record = map.get(key);
    if (record === undefined || now - record.windowStart > this.#limits.failedLoginWindowMs) {
      record = { failures: 0, windowStart: now, lockedUntil: 0 };
      if (map.size >= MAX_TRACKED_KEYS) this.#prune(map, now);
      map.set(key, record);
    }
    record.failures++;
    if (record.failures >= max) record.lockedUntil = now + this.#limits.failedLoginLockoutMs;
    return record;
  }

  #prune(map: Map<string, FailureRecord>, now: number): void {
    for (const [key, record] of map) {
      if (record.lockedUntil <= now && now - record.windowStart > this.#limits.failedLoginWindowMs)
        map.delete(key);
    }
    // Still full of live records: drop the oldest (Map iterates in insertion order).
    while (map.size >= MAX_TRACKED_KEYS) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
