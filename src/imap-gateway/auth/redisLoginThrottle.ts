// Failed-login throttling shared by every gateway node through Redis (the distributed mode): a
// client guessing passwords counts against the same limits whichever node the load balancer
// gives it. Same rules as MemoryLoginThrottle: counts per address and per user within a window
// that starts at the first failure, a lockout once a count reaches its limit, a doubling delay.
//
// Keys expire on their own (a count at the end of its window, a lockout at its end), so Redis
// holds nothing for long. The node's own MemoryLoginThrottle counts too, and answers when Redis
// cannot: logins are then throttled per node as before, never let through unchecked and never
// refused because Redis is down.
import { Redis } from "ioredis";
import {
  failureDelayMs,
  type LoginThrottle,
  type LoginThrottleLimits,
  MemoryLoginThrottle,
  type ThrottleVerdict,
} from "./loginThrottle.ts";

export const DEFAULT_LOGIN_THROTTLE_PREFIX = "mailledger:login";

export interface RedisLoginThrottleOptions {
  url: string;
  limits: LoginThrottleLimits;
  /** Key prefix, so tests and tenants can share a Redis. */
  prefix?: string;
  onError?: (error: unknown) => void;
}

// One failure, atomically: count it for the address (and user), start the window on the first,
// lock out at the limit. KEYS: address count, address lock[, user count, user lock].
// ARGV: window ms, lockout ms, address limit, user limit. Returns the address's count.
const RECORD_FAILURE = `
local function bump(countKey, lockKey, limit)
  local failures = redis.call('INCR', countKey)
  if failures == 1 then redis.call('PEXPIRE', countKey, ARGV[1]) end
  if failures >= tonumber(limit) then redis.call('SET', lockKey, '1', 'PX', ARGV[2]) end
  return failures
end
local failures = bump(KEYS[1], KEYS[2], ARGV[3])
if #KEYS == 4 then bump(KEYS[3], KEYS[4], ARGV[4]) end
return failures`;

export function createRedisLoginThrottle(options: RedisLoginThrottleOptions): LoginThrottle {
  const { limits } = options;
  const prefix = options.prefix ?? DEFAULT_LOGIN_THROTTLE_PREFIX;
  const local = new MemoryLoginThrottle(limits);
  const redis = new Redis(options.url, {
    // A login must not wait behind a dead connection: the local throttle answers at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Nor behind a Redis that stopped answering.
    commandTimeout: 1_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    // Its name in Redis's CLIENT LIST.
    connectionName: prefix,
  });
  redis.on("error", (error) => options.onError?.(error));
  const keys = (remoteAddress: string, username: string | undefined) => {
    const address = [`${prefix}:address:${remoteAddress}`, `${prefix}:address-lock:${remoteAddress}`];
    if (username === undefined) return address;
    const user = username.toLowerCase();
    return [...address, `${prefix}:user:${user}`, `${prefix}:user-lock:${user}`];
  };
  /** Redis's answer, or undefined when it has none (the local throttle's stands). */
  const ask = async <T>(command: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await command();
    } catch (error) {
      options.onError?.(error);
      return undefined;
    }
  };

  return {
    async check(remoteAddress, username): Promise<ThrottleVerdict> {
      const [, addressLock, , userLock] = keys(remoteAddress, username);
      const locks = [addressLock!, ...(userLock ? [userLock] : [])];
      const remaining = await ask(() => Promise.all(locks.map((key) => redis.pttl(key))));
      if (remaining === undefined) return local.checkNow(remoteAddress, username);
      const [addressMs, userMs] = remaining;
      if (addressMs! > 0) return { allowed: false, scope: "address", retryAfterMs: addressMs! };
      if (userMs !== undefined && userMs > 0) return { allowed: false, scope: "user", retryAfterMs: userMs };
      return { allowed: true };
    },

    async recordFailure(remoteAddress, username) {
      const localDelay = local.recordFailureNow(remoteAddress, username);
      const failureKeys = keys(remoteAddress, username);
      const failures = await ask(
        async () =>
          (await redis.eval(
            RECORD_FAILURE,
            failureKeys.length,
            ...failureKeys,
            limits.failedLoginWindowMs,
            limits.failedLoginLockoutMs,
            limits.maxFailedLoginsPerAddress,
            limits.maxFailedLoginsPerUser,
          )) as number,
      );
      return Math.max(localDelay, failures === undefined ? 0 : failureDelayMs(limits, failures));
    },

    async recordSuccess(remoteAddress) {
      await local.recordSuccess(remoteAddress);
      await ask(() => redis.del(`${prefix}:address:${remoteAddress}`));
    },

    async close() {
      redis.disconnect();
    },
  };
}
