// Property-based fuzzing of a whole session: random and mutated command lines, split into random
// chunks, go to a session over an in-memory duplex. Properties: the session and the server never
// crash, every answer is a well-formed response line, nothing is a server bug, the session holds
// a bounded number of bytes, pre-auth garbage ends in BYE, and other sessions keep working.
// Used by the CI test (sessionFuzz.unit.test.ts) and the long-run script test/fuzz/session-fuzz.ts.

import fc from "fast-check";
import { silentLogger } from "../logger.ts";
import { imapServerBugs, metricValue } from "../metrics.ts";
import { createImapServer, type ImapServer } from "../server.ts";
import { MemoryImapClient } from "../testing/memoryClient.ts";
import { TEST_USER, testAuthenticator } from "../testing/testUsers.ts";

export const FUZZ_LIMITS = {
  maxLineLength: 2048,
  maxLiteralSize: 4096,
  maxCommandsPerSecondBeforeAuth: 1000,
  failedLoginBaseDelayMs: 0,
  failedLoginMaxDelayMs: 0,
  maxFailedLoginsPerAddress: 1_000_000,
  maxFailedLoginsPerUser: 1_000_000,
} as const;

/** What one session may hold for unexecuted input: a line, the codec's per-command buffer, read-ahead. */
export const BUFFERED_BYTES_BOUND = 4 * 1024 * 1024;

const TEMPLATES = [
  "a1 CAPABILITY",
  "a2 NOOP",
  "a3 LOGIN alice secret",
  'a4 LOGIN "al\\"ice" {6}\r\nsecret',
  "a5 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==",
  "a6 AUTHENTICATE PLAIN",
  'a7 ID ("name" "fuzz" "version" NIL)',
  "a8 ENABLE CONDSTORE UTF8=ACCEPT",
  "a9 SELECT INBOX (CONDSTORE)",
  "b1 UID FETCH 1:*,5:2 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<0.100>)",
  "b2 UID SEARCH CHARSET UTF-8 OR (FROM x) NOT (SEEN SINCE 1-Jan-2024)",
  "b3 APPEND INBOX (\\Seen) {5+}\r\nhello",
  "b4 STARTTLS",
  "b5 STORE 1 +FLAGS.SILENT (\\Deleted)",
  'b6 LIST "" "*"',
  "b7 STATUS &AOk-t&AOk- (MESSAGES UIDNEXT)",
  "b8 RENAME {3}\r\nabc def",
  "b9 EXAMINE {2+}\r\nab",
  "c1 IDLE",
  "c2 LOGOUT",
];

const GARBAGE = ["GET / HTTP/1.1", "Host: example.com", "EHLO mail.example.com", "\x16\x03\x01\x02\x00\x01"];
const SPECIAL_BYTES = [
  0x0d, 0x0a, 0x7b, 0x7d, 0x28, 0x29, 0x22, 0x5c, 0x2a, 0x2b, 0x20, 0x00, 0x80, 0xff, 0x25,
];

type Mutation =
  | { kind: "insert"; at: number; byte: number }
  | { kind: "delete"; at: number }
  | { kind: "replace"; at: number; byte: number }
  | { kind: "duplicate"; at: number; length: number };

const byteArb = fc.oneof(fc.constantFrom(...SPECIAL_BYTES), fc.integer({ min: 0, max: 255 }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), byte: byteArb }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), byte: byteArb }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

function mutate(line: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = [...line];
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    if (m.kind === "insert") bytes.splice(at, 0, m.byte);
    else if (m.kind === "delete") bytes.splice(at, 1);
    else if (m.kind === "replace") bytes[Math.min(at, Math.max(0, bytes.length - 1))] = m.byte;
    else bytes = [...bytes.slice(0, at), ...bytes.slice(at, at + m.length), ...bytes.slice(at)];
  }
  return Buffer.from(bytes.slice(0, 20_000));
}

const literalMarkerArb = fc
  .tuple(
    fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 10_000_000 }), fc.constant(2 ** 53)),
    fc.constantFrom("", "+", "-"),
  )
  .map(([n, kind]) => `{${n}${kind}}`);

const nestedArb = fc
  .integer({ min: 1, max: 200 })
  .map((depth) => `n1 SEARCH ${"(".repeat(depth)}ALL${")".repeat(depth)}`);

const lineArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom(...TEMPLATES), fc.array(mutationArb, { maxLength: 6 }))
      .map(([t, m]) => mutate(Buffer.from(t, "latin1"), m)),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s, "utf8")) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...TEMPLATES), literalMarkerArb)
      .map(([t, l]) => Buffer.from(`${t} ${l}`, "latin1")),
  },
  { weight: 1, arbitrary: fc.constantFrom(...GARBAGE).map((g) => Buffer.from(g, "latin1")) },
  { weight: 1, arbitrary: nestedArb.map((s) => Buffer.from(s)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => Buffer.from(`l1 NOOP ${"x".repeat(n)}`)),
  },
);

export interface FuzzInput {
  readonly authenticated: boolean;
  readonly lines: readonly Buffer[];
  /** Whether the last line gets its CRLF. */
  readonly terminated: boolean;
  /** Chunk boundaries, as fractions of the input. */
  readonly splits: readonly number[];
}

export const fuzzInputArb: fc.Arbitrary<FuzzInput> = fc.record({
  authenticated: fc.boolean(),
  lines: fc.array(lineArb, { minLength: 1, maxLength: 6 }),
  terminated: fc.boolean(),
  splits: fc.array(
    fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
    { maxLength: 8 },
  ),
});

export function inputBytes(input: FuzzInput): Buffer {
  const joined = Buffer.concat(input.lines.flatMap((l) => [l, Buffer.from("\r\n")]));
  return input.terminated ? joined : joined.subarray(0, joined.length - 2);
}

function chunks(bytes: Buffer, splits: readonly number[]): Buffer[] {
  const points = [...new Set(splits.map((s) => Math.floor(s * bytes.length)))].sort((a, b) => a - b);
  const result: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) result.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  return result;
}

/** Response lines the core commands can produce. */
const RESPONSE_LINE_RE =
  /^(\* (OK|NO|BAD|BYE|CAPABILITY|ID|ENABLED)( .*)?|\+( .*)?|[\x21-\x7e]+ (OK|NO|BAD)( .*)?)$/;

export function createFuzzServer(): ImapServer {
  return createImapServer({
    authenticator: testAuthenticator(),
    allowInsecureAuth: true,
    limits: FUZZ_LIMITS,
    logger: silentLogger,
  });
}

async function quiet(client: MemoryImapClient, quietMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let seen = client.received.length;
  let stableSince = Date.now();
  while (Date.now() < deadline && !client.closed) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    if (client.received.length !== seen) {
      seen = client.received.length;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      return;
    }
  }
}

/** Runs one input against a session of `server`; throws (with what went wrong) when a property fails. */
export async function checkSession(server: ImapServer, input: FuzzInput): Promise<void> {
  const client = new MemoryImapClient(server);
  try {
    await client.waitFor((t) => t.includes("\r\n"));
    if (input.authenticated) {
      const login = await client.command("pre", `LOGIN alice "${TEST_USER.password}"`);
      if (!login.at(-1)?.startsWith("pre OK")) throw new Error(`login failed: ${login.join(" | ")}`);
    }
    const before = client.lines.length;
    const bytes = inputBytes(input);
    const session = client.session!;
    let maxBuffered = 0;
    for (const chunk of chunks(bytes, input.splits)) {
      client.send(chunk);
      await new Promise((resolve) => setImmediate(resolve));
      maxBuffered = Math.max(maxBuffered, session.bufferedBytes);
    }
    await quiet(client, 15, 2000);
    maxBuffered = Math.max(maxBuffered, session.bufferedBytes);
    const answers = client.lines.slice(before);

    for (const line of answers) {
      if (!RESPONSE_LINE_RE.test(line)) throw new Error(`malformed response line ${JSON.stringify(line)}`);
      if (line.includes("[SERVERBUG]")) throw new Error(`server bug: ${line}`);
    }
    if (maxBuffered > BUFFERED_BYTES_BOUND) throw new Error(`session buffered ${maxBuffered} bytes`);
    const sentCompleteLine = bytes.includes("\r\n");
    if (sentCompleteLine && !bytes.includes("{") && answers.length === 0 && !client.closed) {
      throw new Error("a complete command line got no answer");
    }
    if (client.closed && !input.authenticated && answers.length > 0) {
      const last = answers.at(-1)!;
      const loggedOut = answers.some((l) => l === "* BYE logging out");
      if (!loggedOut && !last.startsWith("* BYE "))
        throw new Error(`closed without BYE after ${JSON.stringify(last)}`);
    }
    if ((await metricValue(imapServerBugs)) > 0) throw new Error("server bug counted");
  } finally {
    client.close();
  }
  // The server and other sessions are undisturbed.
  const witness = new MemoryImapClient(server, "203.0.113.99");
  try {
    const answer = await witness.command("w", "NOOP");
    if (answer.at(-1) !== "w OK NOOP completed") throw new Error(`witness session got ${answer.join(" | ")}`);
  } finally {
    witness.close();
  }
}

export function describeInput(input: FuzzInput): string {
  return JSON.stringify({ ...input, lines: input.lines.map((l) => l.toString("latin1")), bytes: undefined });
}
