// Contract 6 as a property (fast-check): whatever IMAP commands two gateway nodes run at once on
// one account (appends, flag changes, expunges, copies, moves, mailboxes created, renamed,
// deleted, subscribed), the mailbox index and the bodies view equal a rebuild from the log,
// row for row, once the view has caught up (`projections verify`). No command gets BAD.
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProjectionsCommand } from "../../src/cli/projections.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { createTableBlobSource } from "../../src/projections/bodiesView/tableBlobSource.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
let nodeB: RunningNode;

beforeAll(async () => {
  server = await startTestMailServer({ transport: "kafka" });
  nodeB = await server.startNode(["gateway"]);
});
afterAll(async () => server?.close());

const MAILBOXES = ["INBOX", "Work", "Work/Old", "Later"] as const;
const FLAGS = ["\\Seen", "\\Flagged", "\\Deleted", "$Label1", "$Work"] as const;

const mailbox = fc.constantFrom(...MAILBOXES);
const flagList = fc
  .subarray([...FLAGS], { minLength: 1, maxLength: 3 })
  .map((flags) => `(${flags.join(" ")})`);
const uidSet = fc
  .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3 }))
  .map(([from, span]) => (span === 0 ? String(from) : `${from}:${from + span}`));

/** One IMAP command on a mailbox (selected first when it needs one), as wire text. */
const command = fc.oneof(
  fc.record({ in: mailbox, text: fc.integer({ min: 1, max: 999 }).map((n) => ({ append: n })) }),
  fc.record({
    in: mailbox,
    text: fc
      .tuple(fc.constantFrom("+FLAGS", "-FLAGS", "FLAGS"), uidSet, flagList)
      .map(([op, set, flags]) => `UID STORE ${set} ${op} ${flags}`),
  }),
  fc.record({ in: mailbox, text: fc.constant("EXPUNGE") }),
  fc.record({ in: mailbox, text: uidSet.map((set) => `UID EXPUNGE ${set}`) }),
  fc.record({
    in: mailbox,
    text: fc
      .tuple(fc.constantFrom("COPY", "MOVE"), uidSet, mailbox)
      .map(([verb, set, target]) => `UID ${verb} ${set} ${target}`),
  }),
  fc.record({ in: fc.constant(null), text: mailbox.map((name) => `CREATE ${name}`) }),
  fc.record({ in: fc.constant(null), text: mailbox.map((name) => `DELETE ${name}`) }),
  fc.record({
    in: fc.constant(null),
    text: fc.tuple(mailbox, mailbox).map(([from, to]) => `RENAME ${from} ${to}`),
  }),
  fc.record({ in: fc.constant(null), text: mailbox.map((name) => `SUBSCRIBE ${name}`) }),
);

type Step = { in: string | null; text: string | { append: number } };

async function login(port: number, user: string): Promise<RawImapClient> {
  const client = await RawImapClient.connect(port);
  await client.greeting();
  expect((await client.command("L", `LOGIN ${user} pw-${user}`)).at(-1)).toMatch(/^L OK/);
  return client;
}

/** Runs the steps on one session; every answer is OK or NO, never BAD. */
async function run(client: RawImapClient, steps: readonly Step[]): Promise<string[]> {
  const answers: string[] = [];
  let selected: string | null = null;
  for (const [i, step] of steps.entries()) {
    if (step.in !== null && step.in !== selected) {
      const answer: string = (await client.command(`s${i}`, `SELECT ${step.in}`)).at(-1)!;
      selected = answer.startsWith(`s${i} OK`) ? step.in : null;
      answers.push(answer);
      if (selected === null) continue;
    }
    let line: string;
    if (typeof step.text === "string") {
      line = (await client.command(`c${i}`, step.text)).at(-1)!;
    } else {
      const body = `From: p${step.text.append}@example.org\r\nSubject: note ${step.text.append}\r\n\r\nword${step.text.append % 7}\r\n`;
      line = (await client.command(`c${i}`, `APPEND ${step.in} {${Buffer.byteLength(body)}+}\r\n${body}`)).at(
        -1,
      )!;
    }
    answers.push(line);
    // A mailbox deleted or renamed under the session leaves it nothing selected to rely on.
    if (typeof step.text === "string" && /^(DELETE|RENAME)/.test(step.text)) selected = null;
  }
  return answers;
}

async function verify(): Promise<{ name: string; equal: boolean }[]> {
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (chunk) => (out += chunk));
  const code = await runProjectionsCommand(["verify", "--json"], {
    pool: server.db.pool,
    stdout,
    stderr: new PassThrough(),
    blobs: createTableBlobSource(server.db.pool),
  });
  const reports = JSON.parse(out) as { name: string; equal: boolean }[];
  if (code !== 0) throw new Error(`projections verify found differences: ${out}`);
  return reports;
}

describe("contract 6, as a property", () => {
  it("random commands from two nodes at once leave the index and the view equal to a rebuild", async () => {
    let account = 0;
    const succeeded = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 4, maxLength: 14 }),
        fc.array(command, { minLength: 4, maxLength: 14 }),
        async (onA, onB) => {
          const user = `prop${++account}`;
          await server.createUser(user, `pw-${user}`);
          const [a, b] = await Promise.all([login(server.port, user), login(nodeB.gateway!.port, user)]);
          try {
            const answers = (await Promise.all([run(a, onA), run(b, onB)])).flat();
            expect(answers.filter((line) => / BAD /.test(line))).toEqual([]);
            for (const line of answers) {
              const verb = / OK .*?(APPEND|STORE|EXPUNGE|COPY|MOVE|CREATE|DELETE|RENAME)/.exec(line)?.[1];
              if (verb) succeeded.set(verb, (succeeded.get(verb) ?? 0) + 1);
            }
          } finally {
            a.close();
            b.close();
          }
          await bodiesViewCaughtUp(server.db.pool);
          expect((await verify()).map((report) => [report.name, report.equal])).toEqual([
            ["index", true],
            ["bodies", true],
          ]);
        },
      ),
      { numRuns: 25, seed: Number(process.env.FC_SEED ?? Date.now() % 2_147_483_647) },
    );
    // The runs did change things: each kind of write succeeded somewhere.
    for (const verb of ["APPEND", "STORE", "EXPUNGE", "CREATE", "RENAME", "DELETE"]) {
      expect(succeeded.get(verb) ?? 0, verb).toBeGreaterThan(0);
    }
  });
});
