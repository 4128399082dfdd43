// The load both servers get: N clients, each logged in as its own user, each repeating the same
// cycle of commands one at a time (a client waits for each tagged response, as a mail client
// does), with a seeded random choice of messages so both servers see the same sequence.
import { seededRandom } from "../../test/fixtures/mime/corpus.ts";
import { type ImapResponse, RawImapClient } from "./rawClient.ts";

export const COMMAND_KINDS = [
  "APPEND",
  "SELECT",
  "FETCH 1:* (FLAGS)",
  "FETCH n BODY[]",
  "SEARCH",
  "STORE",
  "EXPUNGE",
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export interface LoadResult {
  elapsedMs: number;
  counts: Record<CommandKind, number>;
  /** Latencies in ms per kind, sorted. */
  latencies: Record<CommandKind, number[]>;
  failures: string[];
}

/** Messages each user's INBOX holds before the clock starts (the cycle keeps the count steady). */
export const SEED_MESSAGES = 100;

function existsOf(response: ImapResponse): number | undefined {
  for (const line of response.untagged) {
    const match = /^\* (\d+) EXISTS$/i.exec(line);
    if (match) return Number(match[1]);
  }
  return undefined;
}

async function login(
  host: string,
  port: number,
  user: { name: string; password: string },
): Promise<RawImapClient> {
  const client = await RawImapClient.connect(host, port);
  await client.expectOk(`LOGIN ${user.name} ${user.password}`);
  return client;
}

/** Fills each user's INBOX with SEED_MESSAGES corpus messages, pipelined (not timed). */
export async function seedMailboxes(
  host: string,
  port: number,
  users: { name: string; password: string }[],
  corpus: readonly Buffer[],
): Promise<void> {
  await Promise.all(
    users.map(async (user, u) => {
      const client = await login(host, port, user);
      try {
        await Promise.all(
          Array.from({ length: SEED_MESSAGES }, (_, i) =>
            client.expectOk("APPEND INBOX", corpus[(u * SEED_MESSAGES + i) % corpus.length]!),
          ),
        );
      } finally {
        await client.close();
      }
    }),
  );
}

export async function runLoad(
  host: string,
  port: number,
  users: { name: string; password: string }[],
  seconds: number,
  corpus: readonly Buffer[],
  /** Called when the load ends, before the sessions close (their server processes may go then). */
  atEnd?: () => Promise<void>,
): Promise<LoadResult> {
  const counts = Object.fromEntries(COMMAND_KINDS.map((k) => [k, 0])) as Record<CommandKind, number>;
  const latencies = Object.fromEntries(COMMAND_KINDS.map((k) => [k, [] as number[]])) as Record<
    CommandKind,
    number[]
  >;
  const failures: string[] = [];
  const clients = await Promise.all(users.map((user) => login(host, port, user)));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client, c) => {
      const random = seededRandom(0xbe7c4 + c);
      const run = async (kind: CommandKind, text: string, literal?: Buffer): Promise<ImapResponse> => {
        const t = performance.now();
        const response = await client.command(text, literal);
        if (!response.ok) {
          if (failures.length < 20) failures.push(`${text.slice(0, 40)} → ${response.status}`);
          return response;
        }
        latencies[kind].push(performance.now() - t);
        counts[kind]++;
        return response;
      };
      let exists = existsOf(await client.expectOk("SELECT INBOX")) ?? 0;
      let k = c * 1000;
      while (performance.now() < deadline) {
        await run("APPEND", "APPEND INBOX", corpus[k++ % corpus.length]!);
        exists = existsOf(await run("SELECT", "SELECT INBOX")) ?? exists;
        await run("FETCH 1:* (FLAGS)", "FETCH 1:* (FLAGS)");
        const n = 1 + Math.floor(random() * exists);
        await run("FETCH n BODY[]", `FETCH ${n} BODY[]`);
        await run("SEARCH", 'SEARCH UNSEEN FROM "example"');
        await run("STORE", `STORE ${1 + Math.floor(random() * exists)} +FLAGS (\\Flagged)`);
        // Keep the mailbox at its size: the oldest message goes, one per cycle.
        await run("STORE", "STORE 1 +FLAGS.SILENT (\\Deleted)");
        await run("EXPUNGE", "EXPUNGE");
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  await atEnd?.();
  await Promise.all(clients.map((client) => client.close()));
  for (const list of Object.values(latencies)) list.sort((a, b) => a - b);
  return { elapsedMs, counts, latencies, failures };
}
