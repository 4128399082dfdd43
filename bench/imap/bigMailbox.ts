// The 100,000-message mailbox: populating it on each server as fast as is honest, and timing
// SELECT, UID FETCH 1:* (FLAGS), SORT and THREAD on it over IMAP.
import { appendMessage } from "../../src/commands/messages/append.ts";
import { findUserByName } from "../../src/commands/writeModel.ts";
import { createPostgresBlobStore } from "../../src/events/blobs/postgresBlobStore.ts";
import { createDatabasePool } from "../../src/events/db.ts";
import { RawImapClient } from "./rawClient.ts";

/** How long the projection may take to show the last appended message over IMAP. */
const CATCH_UP_TIMEOUT_MS = 15 * 60_000;

export interface BigTimings {
  exists: number;
  selectMs: number[];
  uidFetchMs: number[];
  uidFetchBytes: number;
  /** UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL: what a webmail's message list asks. */
  sortMs: number[];
  /** UID THREAD REFERENCES UTF-8 ALL: a webmail's conversation view. */
  threadMs: number[];
}

/**
 * mailledger: the APPEND command handler (src/commands appendMessage) in this process against
 * the node's database, `writers` at a time, exactly the transaction an IMAP APPEND commits; the
 * node's relay and projector then carry the events through Kafka into the views. Timed until
 * STATUS over IMAP reports all of them.
 */
export async function populateMailledger(
  databaseUrl: string,
  host: string,
  port: number,
  user: { name: string; password: string },
  messages: readonly Buffer[],
  count: number,
  writers = 6,
): Promise<{ commandMs: number; visibleMs: number }> {
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: writers + 2 });
  const started = performance.now();
  try {
    const account = await findUserByName(pool, user.name);
    if (!account) throw new Error(`no user ${user.name}`);
    const ctx = {
      pool,
      blobStore: createPostgresBlobStore(pool),
      metadata: { actor: "bench", sessionId: "bench-populate", nodeId: "bench" },
      now: () => new Date(),
      appendLimit: null,
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = next++; i < count; i = next++) {
          await appendMessage(ctx, {
            userId: account.id,
            mailboxName: "INBOX",
            body: messages[i % messages.length]!,
          });
        }
      }),
    );
  } finally {
    await pool.end();
  }
  const commandMs = performance.now() - started;
  const client = await RawImapClient.connect(host, port);
  try {
    await client.expectOk(`LOGIN ${user.name} ${user.password}`);
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    for (;;) {
      const status = await client.expectOk("STATUS INBOX (MESSAGES)");
      const messagesNow = Number(/MESSAGES (\d+)/.exec(status.untagged.join(" "))?.[1] ?? 0);
      if (messagesNow >= count) break;
      if (Date.now() > deadline) throw new Error(`only ${messagesNow} of ${count} visible after the timeout`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await client.close();
  }
  return { commandMs, visibleMs: performance.now() - started };
}

/** SELECT INBOX, UID FETCH 1:* (FLAGS), UID SORT and UID THREAD, `runs` times each on one connection. */
export async function timeBigMailbox(
  host: string,
  port: number,
  user: { name: string; password: string },
  runs: number,
): Promise<BigTimings> {
  const client = await RawImapClient.connect(host, port);
  const timings: BigTimings = {
    exists: 0,
    selectMs: [],
    uidFetchMs: [],
    uidFetchBytes: 0,
    sortMs: [],
    threadMs: [],
  };
  try {
    await client.expectOk(`LOGIN ${user.name} ${user.password}`);
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      const select = await client.expectOk("SELECT INBOX");
      timings.selectMs.push(performance.now() - t);
      for (const line of select.untagged) {
        const match = /^\* (\d+) EXISTS$/i.exec(line);
        if (match) timings.exists = Number(match[1]);
      }
      t = performance.now();
      const fetched = await client.expectOk("UID FETCH 1:* (FLAGS)");
      timings.uidFetchMs.push(performance.now() - t);
      timings.uidFetchBytes = fetched.bytes;
      if (fetched.untagged.length < timings.exists) {
        throw new Error(`UID FETCH returned ${fetched.untagged.length} of ${timings.exists} messages`);
      }
      t = performance.now();
      const sorted = await client.expectOk("UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL");
      timings.sortMs.push(performance.now() - t);
      const count = (sorted.untagged.find((line) => /^\* SORT/i.test(line)) ?? "").split(" ").length - 2;
      if (count < timings.exists) throw new Error(`UID SORT returned ${count} of ${timings.exists} messages`);
      t = performance.now();
      await client.expectOk("UID THREAD REFERENCES UTF-8 ALL");
      timings.threadMs.push(performance.now() - t);
    }
  } finally {
    await client.close();
  }
  return timings;
}
