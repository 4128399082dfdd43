// Command-side throughput: APPENDs per second (10 KB messages; 1 and 8 concurrent clients;
// separate mailboxes and one shared mailbox) and flag changes per second, against a fresh
// database on the test PostgreSQL (TEST_DATABASE_URL). Run: node bench/commands.ts
// Targets (issue 3): 1,000 appends/s with 8 clients in separate mailboxes, 500/s shared.
import { createMailbox } from "../src/commands/mailbox/handlers.ts";
import { appendMessage } from "../src/commands/messages/append.ts";
import { storeFlags } from "../src/commands/messages/store.ts";
import { testDomainContext } from "../src/commands/testing/context.ts";
import { createUser } from "../src/commands/user/handlers.ts";
import { createTestDatabase } from "../test/support/database.ts";

const MESSAGE_SIZE = 10 * 1024;
const APPENDS_PER_CLIENT = Number(process.env.BENCH_APPENDS ?? 300);
const STORES_PER_CLIENT = Number(process.env.BENCH_STORES ?? 500);

let sequence = 0;
function message(): Buffer {
  const id = ++sequence;
  const header = Buffer.from(
    `From: Bench <bench@example.org>\r\nTo: user@example.org\r\nSubject: bench ${id}\r\nMessage-ID: <${id}.${process.pid}@bench>\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\n\r\n`,
  );
  const body = Buffer.alloc(MESSAGE_SIZE - header.length, `line ${id} of the bench body\r\n`);
  return Buffer.concat([header, body]);
}

async function timed(run: () => Promise<number>): Promise<{ count: number; perSecond: number; ms: number }> {
  const start = performance.now();
  const count = await run();
  const ms = performance.now() - start;
  return { count, ms, perSecond: (count * 1000) / ms };
}

const db = await createTestDatabase({ poolSize: 24 });
const ctx = testDomainContext(db.pool);
const rows: string[][] = [];
try {
  const { userId } = await createUser(ctx, { username: "bench", password: "bench" });
  for (let i = 0; i < 8; i++) await createMailbox(ctx, { userId, name: `Separate${i}` });

  const appendScenario = async (label: string, clients: number, mailboxOf: (client: number) => string) => {
    const result = await timed(async () => {
      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          for (let i = 0; i < APPENDS_PER_CLIENT; i++) {
            await appendMessage(ctx, { userId, mailboxName: mailboxOf(client), body: message() });
          }
        }),
      );
      return clients * APPENDS_PER_CLIENT;
    });
    rows.push([label, String(result.count), result.ms.toFixed(0), result.perSecond.toFixed(0)]);
  };

  await appendScenario("append, 1 client", 1, () => "Separate0");
  await appendScenario("append, 8 clients, separate mailboxes", 8, (client) => `Separate${client}`);
  await appendScenario("append, 8 clients, one shared mailbox", 8, () => "INBOX");

  const mailboxIds = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const { findMailboxByName } = await import("../src/commands/writeModel.ts");
      return (await findMailboxByName(db.pool, userId, `Separate${i}`))!.id;
    }),
  );
  const storeScenario = async (label: string, clients: number, mailboxOf: (client: number) => string) => {
    const result = await timed(async () => {
      await Promise.all(
        Array.from({ length: clients }, async (_, client) => {
          for (let i = 0; i < STORES_PER_CLIENT; i++) {
            await storeFlags(ctx, {
              userId,
              mailboxId: mailboxOf(client),
              uids: [(i % APPENDS_PER_CLIENT) + 1],
              operation: i % 2 === 0 ? "add" : "remove",
              flags: ["\\Seen"],
            });
          }
        }),
      );
      return clients * STORES_PER_CLIENT;
    });
    rows.push([label, String(result.count), result.ms.toFixed(0), result.perSecond.toFixed(0)]);
  };
  await storeScenario("store flags (1 message), 1 client", 1, () => mailboxIds[0]!);
  await storeScenario("store flags (1 message), 8 clients, separate", 8, (client) => mailboxIds[client]!);
  await storeScenario("store flags (1 message), 8 clients, shared", 8, () => mailboxIds[0]!);
} finally {
  await db.drop();
}

const header = ["scenario", "operations", "ms", "ops/s"];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]!.length)),
);
const line = (cells: string[]) =>
  cells
    .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
    .join("  ");
console.log(`mailledger command bench: ${MESSAGE_SIZE / 1024} KB messages, PostgreSQL blob store`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log("targets: 1,000 appends/s with 8 clients in separate mailboxes; 500/s into one shared mailbox");
