// The 100,000-message mailbox: populating it on each server as fast as is honest, and timing
// SELECT, UID FETCH 1:* (FLAGS), SORT and THREAD on it over IMAP.
import { appendMessage } from "../../src/commands/messages/append.ts";
import { findUserByName } from "../../src/commands/writeModel.ts";
import { createPostgresBlobStore } from "../../src/events/blobs/postgresBlobStore.ts";
import { createDatabasePool } from "../../src/events/db.ts";
import { RawImapClient } from "./rawClient.ts";

/** How long the projection may take to show the last appended message over IMAP. */
const CATCH_UP_TIMEOUT_MS = 15 * 60_000;

/** The commands timed on the big mailbox, in order, after SELECT INBOX. */
export const BIG_COMMANDS = [
  { label: "UID FETCH 1:* (FLAGS)", command: "UID FETCH 1:* (FLAGS)", answers: "fetch" },
  { label: "FETCH 1:* (ENVELOPE)", command: "FETCH 1:* (ENVELOPE)", answers: "fetch" },
  { label: "UID SEARCH UNSEEN", command: "UID SEARCH UNSEEN", answers: "search" },
  { label: "UID SORT (DATE)", command: "UID SORT (DATE) UTF-8 ALL", answers: "sort" },
  /** What a webmail's message list asks. */
  {
    label: "UID SORT (REVERSE DATE SUBJECT)",
    command: "UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL",
    answers: "sort",
  },
  /** A webmail's conversation view. */
  { label: "UID THREAD REFERENCES", command: "UID THREAD REFERENCES UTF-8 ALL", answers: "thread" },
] as const;

export interface BigTimings {
  exists: number;
  /** The UNSEEN the SELECT answered (the first unseen message's number), null when none. */
  firstUnseen: number | null;
  selectMs: number[];
  /** By BIG_COMMANDS label: the time of each run, and the bytes of the last one's answer. */
  commands: Map<string, { ms: number[]; bytes: number }>;
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
  flagsOf: (index: number) => string[] = () => [],
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
            flags: flagsOf(i),
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

/** SELECT INBOX then every BIG_COMMANDS command, `runs` times each on one connection. */
export async function timeBigMailbox(
  host: string,
  port: number,
  user: { name: string; password: string },
  runs: number,
): Promise<BigTimings> {
  const client = await RawImapClient.connect(host, port);
  const timings: BigTimings = { exists: 0, firstUnseen: null, selectMs: [], commands: new Map() };
  for (const { label } of BIG_COMMANDS) timings.commands.set(label, { ms: [], bytes: 0 });
  try {
    await client.expectOk(`LOGIN ${user.name} ${user.password}`);
    for (let run = 0; run < runs; run++) {
      const t = performance.now();
      const select = await client.expectOk("SELECT INBOX");
      timings.selectMs.push(performance.now() - t);
      for (const line of select.untagged) {
        const exists = /^\* (\d+) EXISTS$/i.exec(line);
        if (exists) timings.exists = Number(exists[1]);
        const unseen = /^\* OK \[UNSEEN (\d+)\]/i.exec(line);
        if (unseen) timings.firstUnseen = Number(unseen[1]);
      }
      for (const { label, command, answers } of BIG_COMMANDS) {
        const started = performance.now();
        const response = await client.expectOk(command);
        const entry = timings.commands.get(label)!;
        entry.ms.push(performance.now() - started);
        entry.bytes = response.bytes;
        if (answers === "fetch" && response.untagged.length < timings.exists) {
          throw new Error(`${command} returned ${response.untagged.length} of ${timings.exists} messages`);
        }
        if (answers === "sort") {
          const line = response.untagged.find((l) => /^\* SORT/i.test(l)) ?? "";
          const count = line.split(" ").length - 2;
          if (count < timings.exists)
            throw new Error(`${command} returned ${count} of ${timings.exists} messages`);
        }
      }
    }
  } finally {
    await client.close();
  }
  return timings;
}
