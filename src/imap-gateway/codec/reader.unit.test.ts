import { describe, expect, it } from "vitest";
import { type CommandFrame, frameLine, isIdleDone } from "./frame.ts";
import { parseCommand } from "./parseCommand.ts";
import { CommandReader, type LiteralSink, type ReaderResult, readAllFrames } from "./reader.ts";

function commands(results: ReaderResult[]): CommandFrame[] {
  return results.flatMap((r) => (r.kind === "command" ? [r.frame] : []));
}

/** Feeds `wire` cut at `cut`, answering continuations, and returns every non-need-more result. */
function feedSplit(wire: Buffer, cut: number): ReaderResult[] {
  return readAllFrames([wire.subarray(0, cut), wire.subarray(cut)]);
}

function summary(results: ReaderResult[]): unknown[] {
  return results.map((r) => {
    if (r.kind !== "command") return r;
    return {
      segments: r.frame.segments.map((s) => s.toString("latin1")),
      literals: r.frame.literals.map((l) => (l.kind === "buffered" ? l.data.toString("latin1") : l.size)),
    };
  });
}

describe("CommandReader framing", () => {
  it("splits pipelined commands and strips CRLF (bare LF tolerated)", () => {
    const frames = commands(readAllFrames([Buffer.from("a NOOP\r\nb CAPABILITY\nc LOGOUT\r\n")]));
    expect(frames.map((f) => [f.tag, f.name, f.segments[0]!.toString()])).toEqual([
      ["a", "NOOP", "a NOOP"],
      ["b", "CAPABILITY", "b CAPABILITY"],
      ["c", "LOGOUT", "c LOGOUT"],
    ]);
  });

  it("hands over lines outside the grammar (IDLE's DONE, SASL responses) as frames too", () => {
    const frames = commands(readAllFrames([Buffer.from("done\r\nAGJvYgBwdw==\r\n\r\n")]));
    expect(frames.map(isIdleDone)).toEqual([true, false, false]);
    expect(frames.map(frameLine)).toEqual(["done", "AGJvYgBwdw==", ""]);
  });

  it("answers need-more on a partial line and keeps nothing but that line", () => {
    const reader = new CommandReader();
    reader.push(Buffer.from("a1 NOO"));
    expect(reader.next()).toEqual({ kind: "need-more", backpressure: false });
    expect(reader.bufferedBytes).toBe(6);
    reader.push(Buffer.from("P\r\n"));
    const result = reader.next();
    expect(result.kind).toBe("command");
    expect(reader.bufferedBytes).toBe(0);
  });

  it("asks for a continuation on a synchronizing literal, then reads exactly its bytes", () => {
    const reader = new CommandReader();
    reader.push(Buffer.from("a LOGIN {3}\r\n"));
    expect(reader.next()).toEqual({ kind: "continuation-needed", tag: "a", name: "LOGIN", size: 3 });
    expect(reader.next()).toEqual({ kind: "need-more", backpressure: false });
    reader.push(Buffer.from('bob "x"\r\nb NOOP\r\n'));
    const first = reader.next();
    expect(first.kind === "command" && first.frame.literals[0]).toMatchObject({
      kind: "buffered",
      nonSync: false,
    });
    const parsed = first.kind === "command" ? parseCommand(first.frame) : undefined;
    expect(parsed).toMatchObject({
      ok: true,
      command: { name: "LOGIN", args: { username: "bob", password: "x" } },
    });
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "b" } });
  });

  it("does not ask for a continuation on LITERAL+ and LITERAL- literals", () => {
    const results = readAllFrames([Buffer.from("a LOGIN {3+}\r\nbob {1-}\r\nx\r\n")]);
    expect(results.map((r) => r.kind)).toEqual(["command"]);
    expect(summary(results)).toEqual([{ segments: ["a LOGIN {3+}", " {1-}", ""], literals: ["bob", "x"] }]);
  });

  it("accepts a zero-length literal", () => {
    const results = readAllFrames([Buffer.from('a LOGIN {0}\r\n "p"\r\n')]);
    expect(results.map((r) => r.kind)).toEqual(["continuation-needed", "command"]);
  });

  const splitCases = [
    "a1 LOGIN {5}\r\nalice {6}\r\nsecret\r\nA2 NOOP\r\n",
    "a2 APPEND INBOX (\\Seen) {11+}\r\nhello\r\nworld {3+}\r\nabc\r\n",
    "a3 LOGIN {2-}\r\nab {4-}\r\n\r\n\r\n\r\n",
    "a4 SEARCH SUBJECT {0+}\r\n\r\n",
  ];
  for (const wire of splitCases) {
    it(`frames ${JSON.stringify(wire.slice(0, 24))} identically at every split point`, () => {
      const bytes = Buffer.from(wire);
      const whole = summary(readAllFrames([bytes]));
      expect(whole.length).toBeGreaterThan(0);
      for (let cut = 0; cut <= bytes.length; cut++)
        expect(summary(feedSplit(bytes, cut)), `cut at ${cut}`).toEqual(whole);
      // And byte by byte.
      const bytewise = readAllFrames([...bytes].map((b) => Buffer.from([b])));
      expect(summary(bytewise)).toEqual(whole);
    });
  }
});

describe("CommandReader limits", () => {
  it("refuses an over-long line with a tagged BAD and recovers at the next line", () => {
    const reader = new CommandReader({ maxLineLength: 32 });
    reader.push(Buffer.from(`t1 SEARCH ${"x".repeat(40)}`));
    expect(reader.next()).toMatchObject({
      kind: "error",
      tag: "t1",
      status: "BAD",
      message: "command line too long",
    });
    reader.push(Buffer.from("y".repeat(10_000)));
    expect(reader.next().kind).toBe("need-more");
    expect(reader.bufferedBytes).toBeLessThanOrEqual(64);
    reader.push(Buffer.from("\r\nt2 NOOP\r\n"));
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "t2" } });
  });

  it("skips a refused long line's non-synchronizing literal instead of reading it as commands", () => {
    const results = readAllFrames(
      [Buffer.from(`t1 X ${"x".repeat(40)} {9+}\r\nt9 NOOP\r\n\r\nt2 NOOP\r\n`)],
      {
        maxLineLength: 32,
      },
    );
    expect(results.map((r) => (r.kind === "command" ? r.frame.tag : r.kind))).toEqual(["error", "t2"]);
  });

  it("refuses a synchronizing literal over the limit before its bytes arrive (TOOBIG)", () => {
    const reader = new CommandReader({ maxLiteralSize: 100 });
    reader.push(Buffer.from("a APPEND INBOX {101}\r\n"));
    expect(reader.next()).toEqual({
      kind: "error",
      tag: "a",
      status: "NO",
      code: "TOOBIG",
      reason: "literal-too-big",
      message: "literal of 101 octets exceeds the limit of 100",
    });
    // The client, refused, sends its next command instead of the literal.
    reader.push(Buffer.from("b NOOP\r\n"));
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "b" } });
  });

  it("discards a too-large non-synchronizing literal without buffering it", () => {
    const reader = new CommandReader({ maxLiteralSize: 100 });
    reader.push(Buffer.from("a APPEND INBOX {5000+}\r\n"));
    expect(reader.next()).toMatchObject({ kind: "error", tag: "a", code: "TOOBIG" });
    for (let i = 0; i < 5; i++) {
      reader.push(Buffer.alloc(1000, 0x41));
      expect(reader.next().kind).toBe("need-more");
      expect(reader.bufferedBytes).toBe(0);
    }
    reader.push(Buffer.from("\r\nb NOOP\r\n"));
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "b" } });
  });

  it("limits LITERAL- to 4096 octets, and {n+} too when only LITERAL- is advertised", () => {
    expect(readAllFrames([Buffer.from("a LOGIN {4097-}\r\n")])[0]).toMatchObject({
      kind: "error",
      status: "BAD",
    });
    expect(readAllFrames([Buffer.from("a LOGIN {4096-}\r\n")])).toEqual([]);
    const minus = readAllFrames([Buffer.from("a LOGIN {4097+}\r\n")], { nonSyncLiterals: "minus" });
    expect(minus[0]).toMatchObject({ kind: "error", code: "TOOBIG" });
    const none = readAllFrames([Buffer.from("a LOGIN {1+}\r\nx x\r\nb NOOP\r\n")], {
      nonSyncLiterals: "none",
    });
    expect(none.map((r) => r.kind)).toEqual(["error", "command"]);
  });

  it("takes the per-command limit from the hook, knowing the name before the literal", () => {
    const seen: Array<string | undefined> = [];
    const options = {
      literalLimit: (name: string | undefined) => {
        seen.push(name);
        return name === "APPEND" ? 10_000 : undefined;
      },
      maxLiteralSize: 10,
    };
    const ok = readAllFrames([Buffer.from(`a APPEND INBOX {20+}\r\n${"m".repeat(20)}\r\n`)], options);
    expect(ok.map((r) => r.kind)).toEqual(["command"]);
    const refused = readAllFrames([Buffer.from("b LOGIN {20}\r\n")], options);
    expect(refused[0]).toMatchObject({ kind: "error", code: "TOOBIG" });
    expect(seen).toEqual(["APPEND", "LOGIN"]);
  });

  it("lets the session refuse an announced synchronizing literal with cancelCommand", () => {
    const reader = new CommandReader();
    reader.push(Buffer.from("a APPEND Nope {10}\r\n"));
    expect(reader.next().kind).toBe("continuation-needed");
    expect(reader.cancelCommand()).toBe(true);
    reader.push(Buffer.from("b NOOP\r\n"));
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "b" } });
    expect(reader.cancelCommand()).toBe(false);
  });

  it("bounds a command with many small literals by maxCommandSize", () => {
    const wire = `a LOGIN ${"{100+}\r\n".concat("z".repeat(100), " ").repeat(20)}x\r\nb NOOP\r\n`;
    const results = readAllFrames([Buffer.from(wire)], { maxCommandSize: 1000 });
    expect(results.map((r) => r.kind)).toEqual(["error", "command"]);
  });
});

describe("CommandReader streaming", () => {
  function recordingSink(): { sink: LiteralSink; chunks: Buffer[]; state: string[] } {
    const chunks: Buffer[] = [];
    const state: string[] = [];
    const sink: LiteralSink = {
      handle: "file-1",
      write: (chunk) => {
        chunks.push(Buffer.from(chunk));
        return chunks.length % 2 === 1; // ask for a pause now and then
      },
      end: () => state.push("end"),
      abort: (reason) => state.push(`abort: ${reason}`),
    };
    return { sink, chunks, state };
  }

  it("streams a literal above the threshold to the sink and puts its handle in the frame", () => {
    const recorded = recordingSink();
    const reader = new CommandReader({
      streamThreshold: 16,
      literalLimit: () => 1_000_000,
      openLiteralSink: (info) => {
        expect(info).toMatchObject({ tag: "a", name: "APPEND", size: 100, index: 0, nonSync: false });
        return recorded.sink;
      },
    });
    reader.push(Buffer.from("a APPEND INBOX {100}\r\n"));
    expect(reader.next().kind).toBe("continuation-needed");
    const kinds: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      reader.push(Buffer.alloc(10, 0x30 + i));
      kinds.push(reader.next());
      expect(reader.bufferedBytes).toBeLessThan(30); // only the command line is held
    }
    expect(kinds).toContainEqual({ kind: "need-more", backpressure: true });
    reader.push(Buffer.from("\r\n"));
    const result = reader.next();
    expect(result.kind).toBe("command");
    if (result.kind !== "command") return;
    expect(result.frame.literals[0]).toEqual({
      kind: "streamed",
      size: 100,
      handle: "file-1",
      nonSync: false,
    });
    expect(Buffer.concat(recorded.chunks).length).toBe(100);
    expect(recorded.state).toEqual(["end"]);
    const parsed = parseCommand(result.frame);
    expect(parsed).toMatchObject({
      ok: true,
      command: { args: { messages: [{ content: { literal: { handle: "file-1" } } }] } },
    });
  });

  it("aborts the sink when the connection closes mid-literal", () => {
    const recorded = recordingSink();
    const reader = new CommandReader({ streamThreshold: 4, openLiteralSink: () => recorded.sink });
    reader.push(Buffer.from("a APPEND INBOX {50+}\r\n0123456789"));
    reader.next();
    reader.close();
    expect(recorded.state).toEqual(["abort: connection closed"]);
  });

  it("answers an error, not an exception, when the sink fails", () => {
    const reader = new CommandReader({
      streamThreshold: 4,
      openLiteralSink: () => {
        throw new Error("disk full");
      },
    });
    reader.push(Buffer.from("a APPEND INBOX {10+}\r\n0123456789\r\nb NOOP\r\n"));
    expect(reader.next()).toMatchObject({
      kind: "error",
      tag: "a",
      message: "cannot store literal: disk full",
    });
    expect(reader.next()).toMatchObject({ kind: "command", frame: { tag: "b" } });
  });
});
