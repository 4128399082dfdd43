// Scenarios the multi-node e2e files run under different faults (projector stopped, Kafka
// stopped): what a user on one node sees right after a tagged OK on another (DESIGN.md contract 2),
// and what the reads derived from bodies answer for messages the bodies view has not reached.
import { type CommonQueryMethods, sql } from "slonik";
import { expect } from "vitest";
import { z } from "zod";
import type { ProcessCluster } from "../../support/processCluster.ts";
import { fetchedUids, searched, testEnvelope, testMessage, type WireSession, wire } from "./wireSession.ts";

/**
 * Each write on `writer`, then at once (no wait of any kind) the next command on `reader`, on
 * another node, shows it: CREATE, SUBSCRIBE, APPEND, STORE, COPY, MOVE, EXPUNGE, RENAME, DELETE.
 * Neither `mailbox` nor `${mailbox}Target` (where COPY and MOVE go) may exist yet.
 */
export async function readsAfterOk(writer: WireSession, reader: WireSession, mailbox: string): Promise<void> {
  const target = `${mailbox}Target`;
  await writer.ok(`CREATE ${target}`);
  const listed = async (session: WireSession) =>
    (await session.ok('LIST "" "*"')).flatMap((line) => {
      const match = /^\* LIST \([^)]*\) (?:"."|NIL) (.+)$/.exec(line);
      return match ? [match[1]!] : [];
    });

  // CREATE and SUBSCRIBE: the name is there for LIST, LSUB and STATUS.
  await writer.ok(`CREATE ${mailbox}`);
  expect(await listed(reader)).toContain(mailbox);
  expect(await reader.ok(`STATUS ${mailbox} (MESSAGES UIDNEXT)`)).toEqual([
    `* STATUS ${mailbox} (MESSAGES 0 UIDNEXT 1)`,
  ]);
  await writer.ok(`SUBSCRIBE ${mailbox}`);
  expect(await reader.ok('LSUB "" "*"')).toContainEqual(expect.stringMatching(new RegExp(` ${mailbox}$`)));

  // APPEND to a mailbox the reader has not selected: STATUS counts it.
  const first = await writer.append(mailbox, testMessage(1).raw);
  expect(await reader.ok(`STATUS ${mailbox} (MESSAGES UIDNEXT UNSEEN)`)).toEqual([
    `* STATUS ${mailbox} (MESSAGES 1 UIDNEXT ${first.uid + 1} UNSEEN 1)`,
  ]);
  const selected = await reader.ok(`SELECT ${mailbox}`);
  expect(selected).toContain("* 1 EXISTS");
  expect(selected).toContainEqual(`* OK [UIDVALIDITY ${first.uidValidity}] UIDs valid`);
  await writer.ok(`SELECT ${mailbox}`);

  // APPEND to the mailbox the reader has selected: its next UID FETCH includes the message.
  const second = await writer.append(mailbox, testMessage(2).raw);
  const fetched = await reader.ok("UID FETCH 1:* (FLAGS)");
  expect(fetched).toContain("* 2 EXISTS");
  expect(fetchedUids(fetched)).toEqual([first.uid, second.uid]);

  // STORE: the reader's UID FETCH and UID SEARCH see the flag.
  await writer.ok(`UID STORE ${first.uid} +FLAGS (\\Flagged)`);
  const flags = await reader.ok(`UID FETCH ${first.uid} (FLAGS)`);
  // \Recent: the reader's SELECT was the first to see the message.
  expect(flags.at(-1)).toBe(`* 1 FETCH (UID ${first.uid} FLAGS (\\Flagged \\Recent))`);
  expect(searched(await reader.ok("UID SEARCH FLAGGED"))).toEqual([first.uid]);

  // COPY: the target's STATUS counts the copy, with its flags.
  const copied = await writer.ok(`UID COPY ${first.uid} ${target}`);
  expect(copied).toEqual([]);
  expect(await reader.ok(`STATUS ${target} (MESSAGES UNSEEN)`)).toEqual([
    `* STATUS ${target} (MESSAGES 1 UNSEEN 1)`,
  ]);

  // MOVE: the reader's next command announces the expunge; the target counts the message.
  await writer.ok(`UID MOVE ${second.uid} ${target}`);
  expect(await reader.ok("NOOP")).toEqual(["* 2 EXPUNGE"]);
  expect(await reader.ok(`STATUS ${target} (MESSAGES)`)).toEqual([`* STATUS ${target} (MESSAGES 2)`]);
  expect(searched(await reader.ok("UID SEARCH ALL"))).toEqual([first.uid]);

  // EXPUNGE.
  await writer.ok(`UID STORE ${first.uid} +FLAGS.SILENT (\\Deleted)`);
  await writer.ok("EXPUNGE");
  expect(await reader.ok("NOOP")).toContain("* 1 EXPUNGE");
  expect(await reader.ok(`STATUS ${mailbox} (MESSAGES UIDNEXT)`)).toEqual([
    `* STATUS ${mailbox} (MESSAGES 0 UIDNEXT ${second.uid + 1})`,
  ]);

  // The reader looks at the target first: both messages that came over, the copy with the copied flag.
  const targetSelected = await reader.ok(`SELECT ${target}`);
  expect(targetSelected).toContain("* 2 EXISTS");
  expect(targetSelected).toContain("* 2 RECENT");
  expect(await reader.ok("FETCH 1:* (FLAGS)")).toEqual([
    "* 1 FETCH (FLAGS (\\Flagged \\Recent))",
    "* 2 FETCH (FLAGS (\\Recent))",
  ]);
  await writer.ok(`SELECT ${target}`);

  // RENAME: the old name is gone, the new one has the mailbox (and its UIDNEXT).
  const renamed = `${mailbox}Renamed`;
  await writer.ok(`RENAME ${mailbox} ${renamed}`);
  const afterRename = await listed(reader);
  expect(afterRename).toContain(renamed);
  expect(afterRename).not.toContain(mailbox);
  expect(await reader.ok(`STATUS ${renamed} (MESSAGES UIDNEXT)`)).toEqual([
    `* STATUS ${renamed} (MESSAGES 0 UIDNEXT ${second.uid + 1})`,
  ]);
  expect((await reader.run(`STATUS ${mailbox} (MESSAGES)`)).at(-1)).toMatch(/^T\d+ NO \[NONEXISTENT\]/);

  // DELETE.
  await writer.ok(`DELETE ${renamed}`);
  expect(await listed(reader)).not.toContain(renamed);
  expect((await reader.run(`SELECT ${renamed}`)).at(-1)).toMatch(/^T\d+ NO \[NONEXISTENT\]/);
}

const countRow = z.object({ count: z.number() });

/** How many of `uids` of the mailbox the bodies view holds (proj_bodies.message_refs). */
export async function bodiesViewHolds(
  pool: CommonQueryMethods,
  mailboxId: string,
  uids: readonly number[],
): Promise<number> {
  return pool.oneFirst(sql.type(countRow)`
    SELECT count(*)::int AS count FROM proj_bodies.message_refs
    WHERE mailbox_id = ${mailboxId} AND uid = ANY(${sql.array(uids, "int8")})`);
}

/** How many of the user's events the bodies view has yet to apply. */
export async function bodiesViewLag(pool: CommonQueryMethods, userId: string): Promise<number> {
  return pool.oneFirst(sql.type(countRow)`
    SELECT count(*)::int AS count FROM events
    WHERE metadata ->> 'userId' = ${userId}
      AND global_position > coalesce(
        (SELECT global_position FROM proj_bodies.user_positions WHERE user_id = ${userId}), 0)`);
}

export async function mailboxIdOf(pool: CommonQueryMethods, userId: string, name: string): Promise<string> {
  return pool.oneFirst(sql.type(z.object({ id: z.string() }))`
    SELECT id FROM mailboxes WHERE user_id = ${userId} AND name = ${name} AND status <> 'deleted'`);
}

/** `BODYSTRUCTURE (...)` of a one-item FETCH line. */
export function bodyStructureOf(lines: readonly string[]): string {
  const line = lines.find((l) => l.includes(" BODYSTRUCTURE ("));
  if (line === undefined) throw new Error(`no BODYSTRUCTURE in ${JSON.stringify(lines)}`);
  return line.slice(line.indexOf("BODYSTRUCTURE ("), -1);
}

/** BODYSTRUCTURE (RFC 3501 7.4.2) of every testMessage, as written by hand. */
export const TEST_BODYSTRUCTURE =
  'BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 44 1 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 19 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL)';

/**
 * What the reads derived from bodies answer for message `n` of testMessage (UID `uid`) on a
 * session that has its mailbox selected: ENVELOPE, BODYSTRUCTURE and the text part as BODY[1] as
 * written by hand, and SEARCH TEXT, BODY and SUBJECT finding it alone. Resolves with the answers,
 * which a test compares with those given once the view has caught up.
 */
export async function expectDerivedReads(session: WireSession, uid: number, n: number): Promise<string[]> {
  const message = testMessage(n);
  const answers: string[] = [];
  // Only the command's own answer: updates another session caused may come with it.
  const own = (lines: string[]) => lines.filter((line) => !/^\* \d+ (EXISTS|RECENT|EXPUNGE)$/.test(line));

  const envelope = own(await session.ok(`UID FETCH ${uid} (ENVELOPE)`));
  expect(wire(envelope)).toContain(`UID ${uid} ${testEnvelope(n)}`);
  answers.push(wire(envelope));

  const section = own(await session.ok(`UID FETCH ${uid} (BODY.PEEK[1])`));
  expect(wire(section)).toContain(`BODY[1] {${message.text.length}}\r\n${message.text})`);
  answers.push(wire(section));

  const structure = own(await session.ok(`UID FETCH ${uid} (BODYSTRUCTURE)`));
  expect(bodyStructureOf(structure)).toBe(TEST_BODYSTRUCTURE);
  answers.push(wire(structure));

  for (const search of [`TEXT ${message.word}`, `BODY ${message.word}`, `SUBJECT "${message.subject}"`]) {
    const found = searched(await session.ok(`UID SEARCH ${search}`));
    expect(found, `UID SEARCH ${search}`).toEqual([uid]);
    answers.push(`${search}: ${found.join(" ")}`);
  }
  return answers;
}

const eventRow = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) });

/** The flag changes and expunges the log holds for a mailbox, in log order. */
export async function messageEventsOf(
  pool: CommonQueryMethods,
  mailboxId: string,
): Promise<{ flagged: { uid: number; flags: string[] }[]; expunged: number[]; count: number }> {
  const rows = await pool.any(sql.type(eventRow)`
    SELECT type, data FROM events WHERE stream_id = ${`mailbox-${mailboxId}`} ORDER BY global_position`);
  const flagged = rows
    .filter((row) => row.type === "MessageFlagsChanged")
    .flatMap((row) => row.data.messages as { uid: number; flags: string[] }[]);
  const expunged = rows
    .filter((row) => row.type === "MessagesExpunged" || row.type === "MessagesMovedOut")
    .flatMap((row) => row.data.uids as number[]);
  return { flagged, expunged, count: rows.length };
}

/** Logs the test's user in on a gateway; `name` appears in failure messages. */
export type Login = (node: "gateway-a" | "gateway-b", name: string) => Promise<WireSession>;

/**
 * Sessions on both nodes append to `mailbox` in a loop until stopped: the traffic around a
 * scenario. Resolves, once stopped, with the UIDs they were given.
 */
async function appendAllAlong(login: Login, mailbox: string): Promise<{ stop(): Promise<number[]> }> {
  const sessions = await Promise.all([
    login("gateway-a", "appender@gateway-a"),
    login("gateway-b", "appender@gateway-b"),
  ]);
  let stopped = false;
  const uids: number[] = [];
  const loops = sessions.map(async (session, i) => {
    for (let k = 0; !stopped; k++)
      uids.push((await session.append(mailbox, testMessage(1000 * (i + 1) + k).raw)).uid);
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      for (const session of sessions) session.close();
      return uids.sort((a, b) => a - b);
    },
  };
}

/**
 * Acknowledged means done: a session on node B APPENDs and at once sends UID STORE, UID FETCH and
 * UID EXPUNGE of the APPENDUID, while a session on node A, right after each APPEND OK, asks for
 * the mailbox's messages, and others append to the same mailbox on both nodes all along.
 */
export async function appendThenAtOnce(
  login: Login,
  pool: CommonQueryMethods,
  userId: string,
  mailbox: string,
  rounds: number,
): Promise<void> {
  const actor = await login("gateway-b", "actor@gateway-b");
  const observer = await login("gateway-a", "observer@gateway-a");
  await actor.ok(`CREATE ${mailbox}`);
  await actor.ok(`SELECT ${mailbox}`);
  await observer.ok(`SELECT ${mailbox}`);
  const traffic = await appendAllAlong(login, mailbox);
  const mine: number[] = [];
  let others: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const { uid } = await actor.append(mailbox, testMessage(round).raw);
      mine.push(uid);
      // Both at once: the other node's first command after the OK includes the message, and this
      // session's STORE of it, sent without waiting for anything, takes effect.
      const [observed, stored] = await Promise.all([
        observer.ok(round % 2 === 0 ? "UID FETCH 1:* (UID)" : "UID SEARCH ALL"),
        actor.ok(`UID STORE ${uid} +FLAGS (\\Flagged)`),
      ]);
      expect(round % 2 === 0 ? fetchedUids(observed) : searched(observed), `round ${round}`).toContain(uid);
      const flagged = new RegExp(`^\\* \\d+ FETCH \\(UID ${uid} FLAGS \\(\\\\Flagged( \\\\Recent)?\\)\\)$`);
      expect(stored, `UID STORE ${uid}`).toContainEqual(expect.stringMatching(flagged));
      expect(await actor.ok(`UID FETCH ${uid} (FLAGS)`), `UID FETCH ${uid}`).toContainEqual(
        expect.stringMatching(flagged),
      );
      await actor.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
      const expunged = await actor.ok(`UID EXPUNGE ${uid}`);
      expect(
        expunged.filter((line) => / EXPUNGE$/.test(line)),
        `UID EXPUNGE ${uid}`,
      ).toHaveLength(1);
    }
  } finally {
    others = await traffic.stop();
  }
  // What both nodes show: the others' messages, none of this session's. The observer is told of
  // the expunges by its first command that may announce them (UID FETCH and UID SEARCH may not).
  expect(searched(await actor.ok("UID SEARCH ALL"))).toEqual(others);
  expect(searched(await observer.ok("UID SEARCH ALL"))).toEqual(others);
  expect((await observer.ok("NOOP")).filter((line) => / EXPUNGE$/.test(line))).toHaveLength(rounds);
  expect(await actor.ok(`STATUS ${mailbox} (MESSAGES)`)).toEqual([
    `* STATUS ${mailbox} (MESSAGES ${others.length})`,
  ]);
  // What the log holds: each of this session's STOREs and EXPUNGEs as an event.
  const events = await messageEventsOf(pool, await mailboxIdOf(pool, userId, mailbox));
  for (const uid of mine) {
    expect(
      events.flagged.filter((m) => m.uid === uid).map((m) => m.flags),
      `flags of ${uid}`,
    ).toEqual([["\\Flagged"], ["\\Deleted", "\\Flagged"]]);
  }
  expect(events.expunged.sort((a, b) => a - b)).toEqual(mine);
  actor.close();
  observer.close();
}

/** `projections verify`: the index and the bodies view both equal a rebuild from the log (contract 6). */
export async function expectViewsVerifyEqual(cluster: ProcessCluster): Promise<void> {
  const { code, reports } = await cluster.verify();
  expect(
    reports.map((r) => ({ name: r.name, equal: r.equal })),
    JSON.stringify(reports),
  ).toEqual([
    { name: "index", equal: true },
    { name: "bodies", equal: true },
  ]);
  expect(code).toBe(0);
}
