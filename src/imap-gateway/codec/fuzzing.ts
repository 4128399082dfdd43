// Shared by the property tests and the fuzz runner: hostile inputs built from valid commands, and the
// invariants every input must satisfy (no exception, only result values, bounded memory, framing
// independent of how the bytes are chunked).

import fc from "fast-check";
import { parseCommand } from "./parseCommand.ts";
import {
  CommandReader,
  type CommandReaderOptions,
  isValidTag,
  type LiteralSink,
  type ReaderResult,
} from "./reader.ts";

/** Valid commands covering the grammar, literals included: the seeds the mutations start from. */
export const SEED_COMMANDS: readonly string[] = [
  "a1 CAPABILITY\r\n",
  "a2 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
  'a3 LOGIN "bob" "p\\"w"\r\n',
  "a4 AUTHENTICATE PLAIN AGJvYgBwdw==\r\n",
  "a5 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:10 1:10)))\r\n",
  "a6 EXAMINE &ZeVnLIqe- (CONDSTORE)\r\n",
  'a7 LIST (SUBSCRIBED) "" ("INBOX" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n',
  'a8 STATUS "Sent" (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ)\r\n',
  'a9 APPEND Drafts (\\Seen $Label) " 5-Mar-2024 09:01:02 -0130" {12+}\r\nSubject: x\r\n (\\Draft) {3}\r\nabc\r\n',
  "b1 SEARCH CHARSET UTF-8 OR (FROM {3}\r\nbob SINCE 1-Jan-2020) NOT (SEEN 1:*) HEADER X-Y z UID 5:2 LARGER 100\r\n",
  'b2 UID SEARCH RETURN (MIN MAX COUNT) MODSEQ "/flags/\\\\draft" all 620162338\r\n',
  "b3 UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[1] MODSEQ) (CHANGEDSINCE 5 VANISHED)\r\n",
  "b4 FETCH 2,4:* FULL\r\n",
  "b5 STORE 1:3 (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Deleted \\Seen)\r\n",
  "b6 UID MOVE 1:5 Archive\r\n",
  'b7 ID ("name" "client" "version" NIL)\r\n',
  "b8 ENABLE QRESYNC CONDSTORE\r\n",
  "b9 RENAME old {4-}\r\nnew!\r\n",
  "c1 IDLE\r\nDONE\r\n",
  "c2 UID EXPUNGE 3:5\r\n",
];

/** Fragments inserted by mutation: the bytes parsers find hardest. */
const NASTY = [
  "{",
  "}",
  "(",
  ")",
  '"',
  "\\",
  "\r\n",
  "\n",
  "\r",
  " ",
  "[",
  "]",
  "<",
  "*",
  "%",
  "&",
  "~{",
  "{5}\r\n",
  "{3+}\r\n",
  "{9999999999}\r\n",
  "{99999999999999999999+}\r\n",
  "{5000-}\r\n",
  "4294967296",
  "18446744073709551616",
  "0",
  "\0",
  "\xff",
  "((((((((((((((((((((((((((((((((((((((((",
  "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT",
];

type Mutation =
  | { kind: "flip"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "repeat"; at: number; length: number; times: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...NASTY) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant("repeat" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 6 }),
    times: fc.integer({ min: 2, max: 50 }),
  }),
);

function mutate(input: Buffer, mutation: Mutation): Buffer {
  const at = input.length === 0 ? 0 : mutation.at % (input.length + 1);
  switch (mutation.kind) {
    case "flip": {
      const copy = Buffer.from(input);
      if (copy.length > 0) copy[at % copy.length] = mutation.value;
      return copy;
    }
    case "truncate":
      return input.subarray(0, at);
    case "insert":
      return Buffer.concat([input.subarray(0, at), Buffer.from(mutation.text, "latin1"), input.subarray(at)]);
    case "delete":
      return Buffer.concat([input.subarray(0, at), input.subarray(at + mutation.length)]);
    case "repeat": {
      const piece = input.subarray(at, at + mutation.length);
      return Buffer.concat([input.subarray(0, at), ...Array(mutation.times).fill(piece), input.subarray(at)]);
    }
  }
}

/** A stream of bytes: a few (mutated) seed commands, or random bytes biased towards IMAP syntax. */
export const wireInputArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      fc.array(fc.constantFrom(...SEED_COMMANDS), { minLength: 1, maxLength: 4 }),
      fc.array(mutationArb, { maxLength: 6 }),
    )
    .map(([seeds, mutations]) => mutations.reduce(mutate, Buffer.from(seeds.join(""), "latin1"))),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...NASTY),
        fc.string({ maxLength: 8 }),
        fc.constantFrom("a ", "FETCH ", "1:* "),
      ),
      {
        maxLength: 30,
      },
    )
    .map((parts) => Buffer.from(parts.join(""), "latin1")),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

/** Cut points for feeding an input in pieces. */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 6 });

/** Small limits, so that the limit paths are reached by small inputs. */
export const FUZZ_LIMITS = {
  maxLineLength: 160,
  maxLiteralSize: 50,
  maxCommandSize: 200,
  streamThreshold: 20,
} as const;

const TAIL_ALLOWANCE = 64;

export interface FuzzOutcome {
  readonly violations: string[];
  /** A summary of what was read, for comparing feeds of the same input. */
  readonly transcript: string[];
}

/**
 * Runs `input`, cut at `cuts`, through CommandReader and parseCommand; answers continuations as a
 * session would. Collects every broken invariant instead of stopping at the first.
 */
export function runWireInput(input: Buffer, cuts: readonly number[], withSink: boolean): FuzzOutcome {
  const violations: string[] = [];
  const transcript: string[] = [];
  const sinks: Array<{ size: number; written: number; state: "open" | "ended" | "aborted" }> = [];
  const options: CommandReaderOptions = {
    ...FUZZ_LIMITS,
    literalLimit: (name) => (name === "APPEND" ? 1000 : undefined),
    ...(withSink
      ? {
          openLiteralSink: (info): LiteralSink => {
            const record = { size: info.size, written: 0, state: "open" as "open" | "ended" | "aborted" };
            sinks.push(record);
            return {
              handle: sinks.length - 1,
              write: (chunk) => {
                if (record.state !== "open") violations.push("sink written after end/abort");
                record.written += chunk.length;
                if (record.written > record.size) violations.push("sink received more than the literal size");
                return true;
              },
              end: () => {
                if (record.written !== record.size) violations.push("sink ended before the whole literal");
                record.state = "ended";
              },
              abort: () => {
                record.state = "aborted";
              },
            };
          },
        }
      : {}),
  };
  const bound = FUZZ_LIMITS.maxCommandSize + 2 * (FUZZ_LIMITS.maxLineLength + 1) + TAIL_ALLOWANCE;
  const points = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % input.length)))].sort(
    (a, b) => a - b,
  );
  const pieces: Buffer[] = [];
  let previous = 0;
  for (const point of [...points, input.length]) {
    pieces.push(input.subarray(previous, point));
    previous = point;
  }
  try {
    const reader = new CommandReader(options);
    for (const piece of pieces) {
      reader.push(piece);
      for (;;) {
        const result: ReaderResult = reader.next();
        if (reader.bufferedBytes > bound)
          violations.push(`reader holds ${reader.bufferedBytes} bytes > ${bound}`);
        if (result.kind === "need-more") break;
        transcript.push(describe(result));
        if (result.kind === "error" && result.tag !== undefined && !isValidTag(result.tag)) {
          violations.push(`error carries an invalid tag ${JSON.stringify(result.tag)}`);
        }
        if (result.kind !== "command") continue;
        const parsed = parseCommand(result.frame);
        if (parsed.ok) {
          if (parsed.command.tag !== result.frame.tag) violations.push("parsed tag differs from framed tag");
        } else if (parsed.tag !== undefined && !isValidTag(parsed.tag)) {
          violations.push(`parse error carries an invalid tag ${JSON.stringify(parsed.tag)}`);
        } else if (typeof parsed.message !== "string" || parsed.message.length === 0) {
          violations.push("parse error without a message");
        }
        transcript.push(parsed.ok ? `ok ${parsed.command.name}` : `bad ${parsed.message}`);
      }
    }
    reader.close();
  } catch (error) {
    violations.push(
      `exception escaped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  for (const sink of sinks) if (sink.state === "open") violations.push("sink left open after close()");
  return { violations, transcript };
}

function describe(result: ReaderResult): string {
  switch (result.kind) {
    case "command":
      return `command ${result.frame.segments.map((s) => s.toString("latin1")).join("|")} ${result.frame.literals.length}`;
    case "continuation-needed":
      return `continue ${result.size}`;
    case "error":
      return `error ${result.tag} ${result.message}`;
    case "need-more":
      return "need-more";
  }
}

/** The full property: invariants hold, and chunking does not change what is read. */
export function checkWireInput(input: Buffer, cuts: readonly number[]): string[] {
  const whole = runWireInput(input, [], false);
  const chunked = runWireInput(input, cuts, false);
  const streamed = runWireInput(input, cuts, true);
  const violations = [...whole.violations, ...chunked.violations, ...streamed.violations];
  if (JSON.stringify(whole.transcript) !== JSON.stringify(chunked.transcript)) {
    violations.push("chunked feed read differently from the whole input");
  }
  return violations;
}
