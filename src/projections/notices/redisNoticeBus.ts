// Notices across nodes over Redis pub/sub. One channel for all users, `<REDIS_PREFIX>:notices`
// (so deployments and tests can share a Redis): every gateway node subscribes
// once and routes notices to its sessions in process, which costs one subscription per node
// instead of one per selected mailbox. Each message is one JSON MailboxNotice, marked with the
// publishing bus: a bus hands its own notices to its listeners directly when it publishes them.
//
// The subscriber has its own connection (a subscribed Redis connection can do nothing else).
// While either connection is down `healthy` is false, and waiters poll PostgreSQL instead. When the
// subscription comes back after it was lost, onResync's listeners hear of it: the notices of the
// gap are gone (pub/sub keeps nothing), so selected mailboxes look for themselves.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { isMailboxNotice, type MailboxNotice, type NoticeBus } from "./notice.ts";

export const DEFAULT_NOTICE_CHANNEL = "mailledger:notices";

export interface RedisNoticeBusOptions {
  url: string;
  channel?: string;
  /** The connections' names in Redis's CLIENT LIST: `<name>:publisher` and `<name>:subscriber`. */
  connectionName?: string;
  onError?: (error: unknown) => void;
}

export async function createRedisNoticeBus(options: RedisNoticeBusOptions): Promise<NoticeBus> {
  const channel = options.channel ?? DEFAULT_NOTICE_CHANNEL;
  const redisOptions = {
    lazyConnect: true,
    // Publishing must not queue behind a dead connection: the caller falls back at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  };
  const name = options.connectionName ?? "mailledger-notices";
  const publisher = new Redis(options.url, { ...redisOptions, connectionName: `${name}:publisher` });
  const subscriber = new Redis(options.url, {
    ...redisOptions,
    enableOfflineQueue: true,
    connectionName: `${name}:subscriber`,
  });
  const listeners = new Set<(notice: MailboxNotice) => void>();
  const resyncListeners = new Set<() => void>();
  /** Marks this bus's own messages on the channel, which it has delivered already. */
  const self = randomUUID();
  let subscribed = false;
  /** The subscription was lost: notices published since may never come. */
  let missed = false;
  for (const connection of [publisher, subscriber]) {
    connection.on("error", (error) => options.onError?.(error));
  }
  subscriber.on("ready", () => {
    subscriber
      .subscribe(channel)
      .then(() => {
        subscribed = true;
        if (!missed) return;
        missed = false;
        for (const listener of [...resyncListeners]) listener();
      })
      .catch((error: unknown) => options.onError?.(error));
  });
  subscriber.on("close", () => {
    if (subscribed) missed = true;
    subscribed = false;
  });
  const deliver = (notice: MailboxNotice) => {
    for (const listener of listeners) listener(notice);
  };
  subscriber.on("message", (from: string, text: string) => {
    if (from !== channel) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!isMailboxNotice(message)) return;
    // Our own notices were delivered here when they were published.
    const { origin, ...notice } = message as MailboxNotice & { origin?: unknown };
    if (origin === self) return;
    deliver(notice);
  });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  await subscriber.subscribe(channel);
  subscribed = true;

  return {
    get healthy() {
      return subscribed && subscriber.status === "ready" && publisher.status === "ready";
    },
    async publish(notices) {
      if (notices.length === 0) return;
      // This process's listeners (a gateway beside the notifier) hear without the round trip
      // back through the channel, but only once Redis has taken the message: by then Redis has
      // written it to every other node's subscription, so no node's sessions hear it first. If
      // Redis fails, the listeners still hear; the other nodes' sessions look for themselves.
      const pipeline = publisher.pipeline();
      for (const notice of notices) pipeline.publish(channel, JSON.stringify({ ...notice, origin: self }));
      let results: Awaited<ReturnType<typeof pipeline.exec>>;
      try {
        results = await pipeline.exec();
      } finally {
        for (const notice of notices) deliver(notice);
      }
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onResync(listener) {
      resyncListeners.add(listener);
      return () => resyncListeners.delete(listener);
    },
    async close() {
      listeners.clear();
      resyncListeners.clear();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
