// Test helpers of the projection tests: writes domain events straight to the event store the way
// the command handlers do (user stream + mailbox stream, MODSEQ = mailbox stream version, UIDs
// from an in-memory counter), with the mailbox index in the same transaction, and stores bodies
// in the `blobs` table.
import { createHash } from "node:crypto";
import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { ulid } from "ulid";
import { applyMailboxEvents, applyUserEvents } from "../commands/writeModel.ts";
import { appendToStream } from "../events/appendToStream.ts";
import { appendToStreams } from "../events/appendToStreams.ts";
import type { MailboxEvent } from "../events/domain/mailboxEvents.ts";
import type { UserEvent } from "../events/domain/userEvents.ts";
import type { EventMetadata } from "../events/envelope.ts";
import { createAppendNotifier } from "../events/logWakeup.ts";
import { summarizeMessage } from "../events/messageSummary.ts";

export function sampleMessage(
  index: number,
  options: { subject?: string; body?: string; from?: string } = {},
) {
  const subject = options.subject ?? `Report number ${index}`;
  const from = options.from ?? `Sender ${index % 7} <sender${index % 7}@example.com>`;
  return Buffer.from(
    [
      `From: ${from}`,
      "To: Team <team@example.org>",
      index % 3 === 0 ? "Cc: Boss <boss@example.net>" : "X-Index: none",
      `Subject: ${subject}`,
      `Date: Mon, ${String((index % 27) + 1).padStart(2, "0")} Mar 2025 10:00:00 +0000`,
      `Message-ID: <m${index}@example.com>`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      options.body ??
        `Hello, this is message ${index}. Quarterly numbers ${index % 5 === 0 ? "ZEBRA" : "plain"}.`,
      "",
    ].join("\r\n"),
  );
}

export async function putBlob(connection: CommonQueryMethods, raw: Buffer): Promise<string> {
  const digest = createHash("sha256").update(raw).digest("hex");
  await connection.query(sql.unsafe`
    INSERT INTO blobs (digest, size, content) VALUES (${digest}, ${raw.length}, ${sql.binary(raw)})
    ON CONFLICT (digest) DO NOTHING`);
  return digest;
}

interface MailboxState {
  userId: string;
  version: number;
  uidNext: number;
}

/** A single writer per mailbox at a time (calls on one mailbox are chained). */
export class EventWriter {
  readonly pool: DatabasePool;
  readonly mailboxes = new Map<string, MailboxState>();
  readonly #userVersions = new Map<string, number>();
  readonly #chains = new Map<string, Promise<unknown>>();
  lastPosition = 0;
  readonly #notifier: ReturnType<typeof createAppendNotifier>;

  constructor(pool: DatabasePool) {
    this.pool = pool;
    this.#notifier = createAppendNotifier(pool);
  }

  #serial<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.#chains.set(
      key,
      next.catch(() => {}),
    );
    return next;
  }

  #track(position: number) {
    // As the command handlers do: wake tailing readers (the relay) after the commit.
    this.#notifier.notify();
    this.lastPosition = Math.max(this.lastPosition, position);
    return position;
  }

  meta(userId: string): EventMetadata {
    return { userId, actor: "test" };
  }

  async userEvents(userId: string, events: { type: string; data: unknown }[]): Promise<number> {
    return this.#serial(`user-${userId}`, async () => {
      const expected = this.#userVersions.get(userId) ?? 0;
      const result = await this.pool.transaction(async (tx) => {
        const appended = await appendToStream(
          tx,
          `user-${userId}`,
          expected,
          events.map((event) => ({ ...event, schemaVersion: 1 })),
          this.meta(userId),
        );
        if (appended.ok) await applyUserEvents(tx, userId, events as UserEvent[], expected + events.length);
        return appended;
      });
      if (!result.ok) throw new Error(`conflict on user-${userId}`);
      this.#userVersions.set(userId, result.streamVersion);
      return this.#track(result.lastGlobalPosition);
    });
  }

  async createUser(userId = ulid()): Promise<string> {
    await this.userEvents(userId, [
      {
        type: "UserCreated",
        data: { userId, username: userId.toLowerCase(), passwordHash: "$argon2id$x", appendLimit: null },
      },
    ]);
    return userId;
  }

  async createMailbox(userId: string, name: string, specialUse: string | null = null): Promise<string> {
    const mailboxId = ulid();
    const uidValidity = 1 + Math.floor(Math.random() * 0xfffffff0);
    return this.#serial(`user-${userId}`, async () => {
      const expected = this.#userVersions.get(userId) ?? 0;
      const cut = name.lastIndexOf("/");
      const created = {
        type: "MailboxCreated",
        data: {
          mailboxId,
          name,
          parentName: cut > 0 ? name.slice(0, cut) : null,
          uidValidity,
          uidNext: 1,
          cause: "create",
          replacesMailboxId: null,
          specialUse,
        },
      };
      const initialized = {
        type: "MailboxInitialized",
        data: { mailboxId, userId, uidValidity, uidNext: 1, modseq: 1 },
      };
      const result = await this.pool.transaction(async (tx) => {
        const appended = await appendToStreams(
          tx,
          [
            {
              streamId: `user-${userId}`,
              expectedVersion: expected,
              events: [{ ...created, schemaVersion: 1 }],
            },
            {
              streamId: `mailbox-${mailboxId}`,
              expectedVersion: 0,
              events: [{ ...initialized, schemaVersion: 1 }],
            },
          ],
          this.meta(userId),
        );
        if (appended.ok) {
          await applyUserEvents(tx, userId, [created as UserEvent], expected + 1);
          await applyMailboxEvents(tx, mailboxId, [initialized as MailboxEvent]);
        }
        return appended;
      });
      if (!result.ok) throw new Error("conflict creating a mailbox");
      this.#userVersions.set(userId, result.streams[0]!.streamVersion);
      this.mailboxes.set(mailboxId, { userId, version: 1, uidNext: 1 });
      this.#track(Math.max(...result.streams.map((s) => s.lastGlobalPosition)));
      return mailboxId;
    });
  }

  async mailboxEvent(
    mailboxId: string,
    build: (state: MailboxState, modseq: number) => { type: string; data: unknown; uidsUsed?: number },
  ): Promise<{ position: number; modseq: number }> {
    return this.#serial(`mailbox-${mailboxId}`, async () => {
      const state = this.mailboxes.get(mailboxId);
      if (!state) throw new Error(`unknown mailbox ${mailboxId}`);
      const modseq = state.version + 1;
      const event = build(state, modseq);
      const result = await this.pool.transaction(async (tx) => {
        const appended = await appendToStream(
          tx,
          `mailbox-${mailboxId}`,
          state.version,
          [{ type: event.type, schemaVersion: 1, data: event.data }],
          this.meta(state.userId),
        );
        if (appended.ok) await applyMailboxEvents(tx, mailboxId, [event as MailboxEvent]);
        return appended;
      });
      if (!result.ok) throw new Error(`conflict on mailbox-${mailboxId}`);
      state.version = result.streamVersion;
      state.uidNext += event.uidsUsed ?? 0;
      return { position: this.#track(result.lastGlobalPosition), modseq };
    });
  }

  async append(
    mailboxId: string,
    raw: Buffer,
    flags: string[] = [],
    internalDate = "2025-03-10T12:00:00.000Z",
  ): Promise<{ position: number; uid: number; modseq: number }> {
    const digest = await putBlob(this.pool, raw);
    const summary = summarizeMessage(raw);
    let uid = 0;
    const result = await this.mailboxEvent(mailboxId, (state, modseq) => {
      uid = state.uidNext;
      return {
        type: "MessageAppended",
        data: {
          uid,
          flags,
          internalDate,
          size: summary.size,
          blobDigest: digest,
          headerSummary: summary.headerSummary,
          modseq,
        },
        uidsUsed: 1,
      };
    });
    return { ...result, uid };
  }

  setFlags(mailboxId: string, changes: { uid: number; flags: string[] }[]) {
    return this.mailboxEvent(mailboxId, (_state, modseq) => ({
      type: "MessageFlagsChanged",
      data: { modseq, operation: "replace", requestedFlags: [], messages: changes },
    }));
  }

  expunge(mailboxId: string, uids: number[]) {
    return this.mailboxEvent(mailboxId, (_state, modseq) => ({
      type: "MessagesExpunged",
      data: { modseq, uids, cause: "expunge" },
    }));
  }
}
