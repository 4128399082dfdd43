import { describe, expect, it } from "vitest";
import { MAX_UID } from "../../events/domain/common.ts";
import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { deciderSpec } from "../deciderSpec.ts";
import {
  conditionalStoreFailures,
  decide,
  evolve,
  evolveAll,
  type IncomingMessage,
  initialState,
  type MailboxCommand,
  type MailboxState,
} from "./decider.ts";

const NOW = new Date("2026-03-03T10:00:00.000Z");
const given = deciderSpec<MailboxCommand, MailboxEvent, MailboxState>({
  initialState: () => initialState("m1"),
  evolve,
  decide: (command, state) => decide(command, state, NOW),
});

const digest = "a".repeat(64);
const headerSummary = {
  messageId: null,
  date: null,
  from: [],
  to: [],
  cc: [],
  subject: "hi",
  inReplyTo: null,
};
const initialized: MailboxEvent = {
  type: "MailboxInitialized",
  schemaVersion: 1,
  data: { mailboxId: "m1", userId: "u1", uidValidity: 77, uidNext: 1, modseq: 1 },
};
const appended = (uid: number, modseq: number, flags: string[] = []): MailboxEvent => ({
  type: "MessageAppended",
  schemaVersion: 1,
  data: {
    uid,
    modseq,
    flags,
    internalDate: NOW.toISOString(),
    size: 10,
    blobDigest: digest,
    headerSummary,
  },
});
const append = (extra: Partial<Extract<MailboxCommand, { type: "AppendMessage" }>> = {}): MailboxCommand => ({
  type: "AppendMessage",
  flags: [],
  size: 10,
  blobDigest: digest,
  headerSummary,
  appendLimit: null,
  ...extra,
});
/** Three messages: 1 seen, 2 deleted, 3 deleted+flagged; HIGHESTMODSEQ 4. */
const three = [
  initialized,
  appended(1, 2, ["\\Seen"]),
  appended(2, 3, ["\\Deleted"]),
  appended(3, 4, ["\\Deleted", "\\Flagged"]),
];

describe("mailbox decider: the stream's start", () => {
  it("initializes the mailbox at MODSEQ 1", () => {
    given([])
      .when({ type: "InitializeMailbox", mailboxId: "m1", userId: "u1", uidValidity: 77, uidNext: 1 })
      .thenEvents([initialized]);
  });

  it("refuses to initialize twice, and anything before initialization", () => {
    given([initialized])
      .when({ type: "InitializeMailbox", mailboxId: "m1", userId: "u1", uidValidity: 1, uidNext: 1 })
      .thenFails("ALREADYEXISTS");
    given([]).when(append()).thenFails("NONEXISTENT");
    given([]).when({ type: "Expunge" }).thenFails("NONEXISTENT");
  });
});

describe("mailbox decider: APPEND", () => {
  it("assigns UIDNEXT and the next MODSEQ, with canonical flags and the given date", () => {
    given([initialized])
      .when(
        append({
          flags: ["\\seen", "Work", "work", "\\Recent"],
          internalDate: new Date("2020-01-01T00:00:00Z"),
        }),
      )
      .thenMatch([
        {
          type: "MessageAppended",
          data: { uid: 1, modseq: 2, flags: ["Work", "\\Seen"], internalDate: "2020-01-01T00:00:00.000Z" },
        },
      ]);
  });

  it("uses the decision time when no internal date is given", () => {
    given([initialized])
      .when(append())
      .thenEvents([appended(1, 2)]);
  });

  it("continues from a mailbox's UIDNEXT, never below", () => {
    given([{ ...initialized, data: { ...initialized.data, uidNext: 500 } } as MailboxEvent])
      .when(append())
      .thenMatch([{ data: { uid: 500, modseq: 2 } }]);
  });

  it("keeps a UID an import asks for when it is at least UIDNEXT, and refuses one below", () => {
    given([initialized, appended(1, 2)])
      .when(append({ uid: 40 }))
      .thenMatch([{ data: { uid: 40, modseq: 3 } }]);
    // The next one without a UID continues above the kept one.
    given([initialized, appended(40, 2)])
      .when(append())
      .thenMatch([{ data: { uid: 41, modseq: 3 } }]);
    given([initialized, appended(1, 2), appended(5, 3)])
      .when(append({ uid: 5 }))
      .thenFails("CANNOT");
    given([initialized, appended(1, 2), appended(5, 3)])
      .when(append({ uid: 3 }))
      .thenFails("CANNOT");
  });

  it("refuses a message above the append limit, accepts one at the limit", () => {
    given([initialized])
      .when(append({ size: 11, appendLimit: 10 }))
      .thenFails("TOOBIG");
    given([initialized])
      .when(append({ size: 10, appendLimit: 10 }))
      .thenMatch([{ type: "MessageAppended" }]);
  });

  it("refuses an invalid flag", () => {
    given([initialized])
      .when(append({ flags: ["\\Bogus"] }))
      .thenFails("CANNOT");
    given([initialized])
      .when(append({ flags: ["bad(keyword"] }))
      .thenFails("BADNAME");
  });

  it("refuses once the 32-bit UID space is used up", () => {
    given([{ ...initialized, data: { ...initialized.data, uidNext: MAX_UID + 1 } } as MailboxEvent])
      .when(append())
      .thenFails("LIMIT");
  });
});

describe("mailbox decider: STORE", () => {
  it("adds flags to the messages that lack them, one MODSEQ for the command", () => {
    given(three)
      .when({ type: "StoreFlags", uids: [1, 2, 3, 99], operation: "add", flags: ["\\Seen"] })
      .thenEvents([
        {
          type: "MessageFlagsChanged",
          schemaVersion: 1,
          data: {
            modseq: 5,
            operation: "add",
            requestedFlags: ["\\Seen"],
            messages: [
              { uid: 2, flags: ["\\Deleted", "\\Seen"] },
              { uid: 3, flags: ["\\Deleted", "\\Flagged", "\\Seen"] },
            ],
          },
        },
      ]);
  });

  it("removes and replaces flags", () => {
    given(three)
      .when({ type: "StoreFlags", uids: [3], operation: "remove", flags: ["\\deleted"] })
      .thenMatch([{ data: { messages: [{ uid: 3, flags: ["\\Flagged"] }] } }]);
    given(three)
      .when({ type: "StoreFlags", uids: [1, 2], operation: "replace", flags: ["$Junk"] })
      .thenMatch([
        {
          data: {
            messages: [
              { uid: 1, flags: ["$Junk"] },
              { uid: 2, flags: ["$Junk"] },
            ],
          },
        },
      ]);
  });

  it("changes nothing when the flags are already so (idempotent)", () => {
    given(three)
      .when({ type: "StoreFlags", uids: [1, 2, 3], operation: "add", flags: ["\\Answered"] })
      .thenIdempotent();
    given(three)
      .when({ type: "StoreFlags", uids: [1], operation: "add", flags: ["\\Seen"] })
      .thenEvents([]);
  });

  /** The three messages as bob, a grantee, has them: he has seen 2 (alice has seen 1). */
  const asBob = (): MailboxState => {
    const state = evolveAll(initialState(), three);
    return {
      ...state,
      messages: new Map([...state.messages].map(([uid, m]) => [uid, { ...m, privateSeen: uid === 2 }])),
    };
  };

  it("a grantee's \\Seen is his own: the owner's stays in the flags (RFC 4314 5.3)", () => {
    given(asBob())
      .when({
        type: "StoreFlags",
        uids: [1, 2, 3],
        operation: "add",
        flags: ["\\Seen", "\\Answered"],
        privateSeenOf: "bob",
      })
      .thenEvents([
        {
          type: "MessageFlagsChanged",
          schemaVersion: 1,
          data: {
            modseq: 5,
            operation: "add",
            requestedFlags: ["\\Answered"],
            messages: [
              { uid: 1, flags: ["\\Answered", "\\Seen"] },
              { uid: 2, flags: ["\\Answered", "\\Deleted"] },
              { uid: 3, flags: ["\\Answered", "\\Deleted", "\\Flagged"] },
            ],
          },
        },
        {
          type: "PrivateSeenChanged",
          schemaVersion: 1,
          data: { modseq: 6, userId: "bob", seen: true, uids: [1, 3] },
        },
      ]);
    given(asBob())
      .when({
        type: "StoreFlags",
        uids: [1, 2],
        operation: "remove",
        flags: ["\\Seen"],
        privateSeenOf: "bob",
      })
      .thenEvents([
        {
          type: "PrivateSeenChanged",
          schemaVersion: 1,
          data: { modseq: 5, userId: "bob", seen: false, uids: [2] },
        },
      ]);
    given(asBob())
      .when({ type: "StoreFlags", uids: [2], operation: "add", flags: ["\\Seen"], privateSeenOf: "bob" })
      .thenEvents([]);
  });

  it("a grantee's replace keeps the owner's \\Seen and sets his own", () => {
    given(asBob())
      .when({
        type: "StoreFlags",
        uids: [1, 2],
        operation: "replace",
        flags: ["$Junk"],
        privateSeenOf: "bob",
      })
      .thenEvents([
        {
          type: "MessageFlagsChanged",
          schemaVersion: 1,
          data: {
            modseq: 5,
            operation: "replace",
            requestedFlags: ["$Junk"],
            messages: [
              { uid: 1, flags: ["$Junk", "\\Seen"] },
              { uid: 2, flags: ["$Junk"] },
            ],
          },
        },
        {
          type: "PrivateSeenChanged",
          schemaVersion: 1,
          data: { modseq: 6, userId: "bob", seen: false, uids: [2] },
        },
      ]);
  });

  it("UNCHANGEDSINCE leaves messages changed after it and reports them (RFC 7162)", () => {
    const command: MailboxCommand = {
      type: "StoreFlags",
      uids: [1, 2, 3],
      operation: "add",
      flags: ["\\Answered"],
      unchangedSince: 3,
    };
    given(three)
      .when(command)
      .thenMatch([{ data: { modseq: 5, messages: [{ uid: 1 }, { uid: 2 }] } }]);
    expect(conditionalStoreFailures(command as never, evolveAll(initialState(), three))).toEqual([3]);
  });

  it("splits a very large STORE into events of at most 1000 messages, each a MODSEQ", () => {
    // A state of 2,500 messages built directly: folding 2,500 appends would test nothing more.
    const messages = new Map(Array.from({ length: 2500 }, (_, i) => [i + 1, { modseq: i + 2, flags: [] }]));
    const state = {
      ...evolveAll(initialState(), [initialized]),
      uidNext: 2501,
      highestModSeq: 2501,
      messages,
    };
    const events = given(state)
      .when({ type: "StoreFlags", uids: [...messages.keys()], operation: "add", flags: ["\\Seen"] })
      .events();
    expect(events.map((event) => (event.data as { modseq: number }).modseq)).toEqual([2502, 2503, 2504]);
    expect(events.map((event) => (event.data as { messages: unknown[] }).messages.length)).toEqual([
      1000, 1000, 500,
    ]);
  });
});

describe("mailbox decider: EXPUNGE", () => {
  it("expunges every \\Deleted message", () => {
    given(three)
      .when({ type: "Expunge" })
      .thenEvents([
        { type: "MessagesExpunged", schemaVersion: 1, data: { modseq: 5, uids: [2, 3], cause: "expunge" } },
      ]);
  });

  it("UID EXPUNGE expunges only the \\Deleted messages among the UIDs given (RFC 4315)", () => {
    given(three)
      .when({ type: "Expunge", uids: [1, 3] })
      .thenEvents([
        { type: "MessagesExpunged", schemaVersion: 1, data: { modseq: 5, uids: [3], cause: "uid-expunge" } },
      ]);
  });

  it("does nothing without \\Deleted messages, and a second EXPUNGE does nothing", () => {
    given([initialized, appended(1, 2)])
      .when({ type: "Expunge" })
      .thenEvents([]);
    given(three).when({ type: "Expunge" }).thenIdempotent();
  });

  it("REPLACE expunges the replaced message, \\Deleted or not, and refuses one that is gone", () => {
    given(three)
      .when({ type: "ExpungeReplaced", uid: 1 })
      .thenEvents([
        { type: "MessagesExpunged", schemaVersion: 1, data: { modseq: 5, uids: [1], cause: "replace" } },
      ]);
    expect(() =>
      decide({ type: "ExpungeReplaced", uid: 9 }, evolveAll(initialState("m1"), three), NOW),
    ).toThrow(/no message with UID 9/);
  });

  it("empties the mailbox when it is deleted", () => {
    given(three)
      .when({ type: "ExpungeAll" })
      .thenEvents([
        {
          type: "MessagesExpunged",
          schemaVersion: 1,
          data: { modseq: 5, uids: [1, 2, 3], cause: "mailbox-deleted" },
        },
      ]);
  });
});

describe("mailbox decider: COPY and MOVE", () => {
  const incoming: IncomingMessage[] = [
    {
      sourceUid: 7,
      flags: ["\\Seen"],
      internalDate: "2020-01-01T00:00:00.000Z",
      size: 5,
      blobDigest: digest,
      headerSummary,
    },
    {
      sourceUid: 9,
      flags: [],
      internalDate: "2020-01-02T00:00:00.000Z",
      size: 6,
      blobDigest: digest,
      headerSummary,
    },
  ];

  it("gives copied messages new UIDs from UIDNEXT, keeping flags and dates", () => {
    given(three)
      .when({ type: "ReceiveMessages", mode: "copy", sourceMailboxId: "m0", messages: incoming })
      .thenEvents([
        {
          type: "MessagesCopiedIn",
          schemaVersion: 1,
          data: {
            modseq: 5,
            sourceMailboxId: "m0",
            messages: [
              { ...incoming[0]!, flags: ["\\Seen"], uid: 4 },
              { ...incoming[1]!, flags: [], uid: 5 },
            ],
          },
        },
      ]);
  });

  it("records moved-in messages as such", () => {
    given(three)
      .when({ type: "ReceiveMessages", mode: "move", sourceMailboxId: "m0", messages: incoming })
      .thenMatch([
        {
          type: "MessagesMovedIn",
          data: {
            messages: [
              { uid: 4, sourceUid: 7 },
              { uid: 5, sourceUid: 9 },
            ],
          },
        },
      ]);
  });

  it("sends out only the messages that are there", () => {
    given(three)
      .when({ type: "SendMessages", targetMailboxId: "m2", uids: [3, 1, 42] })
      .thenEvents([
        {
          type: "MessagesMovedOut",
          schemaVersion: 1,
          data: { modseq: 5, targetMailboxId: "m2", uids: [1, 3] },
        },
      ]);
    given(three)
      .when({ type: "SendMessages", targetMailboxId: "m2", uids: [1] })
      .thenIdempotent();
  });

  it("refuses to receive more messages than UIDs are left", () => {
    given([{ ...initialized, data: { ...initialized.data, uidNext: MAX_UID } } as MailboxEvent])
      .when({ type: "ReceiveMessages", mode: "copy", sourceMailboxId: "m0", messages: incoming })
      .thenFails("LIMIT");
  });
});

describe("mailbox decider: evolve", () => {
  it("tracks UIDNEXT, HIGHESTMODSEQ and each message's MODSEQ", () => {
    const state = evolveAll(initialState(), [
      ...three,
      {
        type: "MessageFlagsChanged",
        schemaVersion: 1,
        data: { modseq: 5, operation: "add", requestedFlags: ["x"], messages: [{ uid: 1, flags: ["x"] }] },
      },
      { type: "MessagesExpunged", schemaVersion: 1, data: { modseq: 6, uids: [2], cause: "expunge" } },
    ]);
    expect(state.uidNext).toBe(4);
    expect(state.highestModSeq).toBe(6);
    expect(state.messages.get(1)).toEqual({ modseq: 5, flags: ["x"] });
    expect(state.messages.has(2)).toBe(false);
  });

  it("applying every event twice gives the same state as once", () => {
    const once = evolveAll(initialState(), three);
    const twice = three.reduce((state, event) => evolve(evolve(state, event), event), initialState());
    expect(twice).toEqual(once);
  });
});
