import { PassThrough, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  encodeAString,
  encodeDate,
  encodeDateTime,
  encodeFlagList,
  encodeList,
  encodeMailbox,
  encodeNString,
  encodeSequenceNumbers,
  encodeSequenceSet,
  encodeString,
  MAX_QUOTED_LENGTH,
} from "./encode.ts";
import { parseCommand } from "./parseCommand.ts";
import { readAllFrames } from "./reader.ts";
import {
  continuationRequest,
  responseCode,
  taggedStatus,
  untaggedData,
  untaggedStatus,
} from "./responses.ts";
import { LiteralSizeMismatchError, ResponseWriter, streamedLiteral } from "./responseWriter.ts";
import { sequenceSetFromString } from "./sequenceSet.ts";

const text = (b: Buffer | string) => (typeof b === "string" ? b : b.toString("latin1"));

describe("string encoding", () => {
  it("quotes short safe text, escaping quote and backslash", () => {
    expect(text(encodeString("hello world"))).toBe('"hello world"');
    expect(text(encodeString('say "hi" \\o/'))).toBe('"say \\"hi\\" \\\\o/"');
    expect(text(encodeString(""))).toBe('""');
  });

  it("switches to a literal for CR, LF, NUL, 8-bit and long text", () => {
    expect(text(encodeString("a\r\nb"))).toBe("{4}\r\na\r\nb");
    expect(text(encodeString(Buffer.from([0x61, 0x00])))).toBe("{2}\r\na\0");
    expect(encodeString("é")).toEqual(Buffer.from("{2}\r\né", "utf8"));
    expect(text(encodeString("x".repeat(MAX_QUOTED_LENGTH)))).toMatch(/^"/);
    expect(text(encodeString("x".repeat(MAX_QUOTED_LENGTH + 1)))).toMatch(/^\{1025\}\r\n/);
  });

  it("puts 8-bit UTF-8 in quoted strings once UTF8=ACCEPT is enabled", () => {
    expect(encodeString("é", { utf8: true })).toEqual(Buffer.from('"é"', "utf8"));
    expect(text(encodeString("é\n", { utf8: true }))).toMatch(/^\{3\}/);
  });

  it("uses atoms for astrings only when the value is an atom other than NIL", () => {
    expect(text(encodeAString("INBOX"))).toBe("INBOX");
    expect(text(encodeAString("two words"))).toBe('"two words"');
    expect(text(encodeAString("NIL"))).toBe('"NIL"');
    expect(text(encodeAString(""))).toBe('""');
    expect(text(encodeAString("a%b"))).toBe('"a%b"');
    expect(text(encodeNString(null))).toBe("NIL");
    expect(text(encodeNString("NIL"))).toBe('"NIL"');
  });

  it("writes mailbox names in modified UTF-7 (or UTF-8 with UTF8=ACCEPT)", () => {
    expect(text(encodeMailbox("Entwürfe"))).toBe("Entw&APw-rfe");
    expect(text(encodeMailbox("R&D Team"))).toBe('"R&-D Team"');
    expect(encodeMailbox("Entwürfe", { utf8: true })).toEqual(Buffer.from('"Entwürfe"', "utf8"));
  });

  it("reads back what it writes", () => {
    for (const value of ["plain", 'q"uote', "line\r\nbreak", "", "NIL", "x".repeat(2000)]) {
      const wire = Buffer.concat([Buffer.from("t LOGIN user "), encodeAString(value), Buffer.from("\r\n")]);
      const frames = readAllFrames([wire]).flatMap((r) => (r.kind === "command" ? [r.frame] : []));
      expect(parseCommand(frames[0]!)).toMatchObject({ ok: true, command: { args: { password: value } } });
    }
  });
});

describe("other data", () => {
  it("encodes lists, flags and sequence sets compactly", () => {
    expect(text(encodeList(["FLAGS", encodeFlagList(["\\Seen", "$Work"])]))).toBe("(FLAGS (\\Seen $Work))");
    expect(encodeSequenceNumbers([7, 1, 2, 3, 5, 8, 3])).toBe("1:3,5,7:8");
    expect(encodeSequenceNumbers([])).toBe("");
    const set = sequenceSetFromString("5:2,9,4:*");
    expect(typeof set === "string" ? set : encodeSequenceSet(set)).toBe("2:5,9,4:*");
  });

  it("formats INTERNALDATE and SEARCH dates", () => {
    const date = new Date(Date.UTC(2024, 2, 5, 10, 31, 2));
    expect(encodeDateTime(date)).toBe('" 5-Mar-2024 10:31:02 +0000"');
    expect(encodeDateTime(date, -90)).toBe('" 5-Mar-2024 09:01:02 -0130"');
    expect(encodeDateTime(date, 330)).toBe('" 5-Mar-2024 16:01:02 +0530"');
    expect(encodeDate({ year: 2020, month: 12, day: 31 })).toBe("31-Dec-2020");
  });
});

describe("responses", () => {
  it("builds status lines with codes and sanitised text", () => {
    expect(taggedStatus("a1", "NO", "too big", "TOOBIG")).toBe("a1 NO [TOOBIG] too big\r\n");
    expect(taggedStatus("a1", "OK", "done", responseCode("APPENDUID", 38505, 3955))).toBe(
      "a1 OK [APPENDUID 38505 3955] done\r\n",
    );
    expect(untaggedStatus("BAD", "evil\r\n* OK injected")).toBe("* BAD evil * OK injected\r\n");
    expect(untaggedStatus("OK", "[not a code")).toBe("* OK  [not a code\r\n");
    expect(continuationRequest()).toBe("+ Ready\r\n");
    expect(text(untaggedData("3 EXISTS"))).toBe("* 3 EXISTS\r\n");
  });
});

/** A writable that accepts `highWaterMark` bytes before asking the writer to wait. */
function slowSink(): { stream: Writable; received: Buffer[]; drains: () => number } {
  const received: Buffer[] = [];
  let drains = 0;
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      setImmediate(callback);
    },
  });
  stream.on("drain", () => drains++);
  return { stream, received, drains: () => drains };
}

describe("ResponseWriter", () => {
  it("streams a literal after declaring its size, waiting for drain", async () => {
    const { stream, received, drains } = slowSink();
    const writer = new ResponseWriter(stream);
    const body = Buffer.alloc(1000, 0x61);
    const source = Readable.from([body.subarray(0, 300), body.subarray(300, 700), body.subarray(700)]);
    await writer.write("* 1 FETCH (BODY[] ", streamedLiteral(body.length, source), ")\r\n");
    expect(Buffer.concat(received).toString()).toBe(`* 1 FETCH (BODY[] {1000}\r\n${"a".repeat(1000)})\r\n`);
    expect(drains()).toBeGreaterThan(0);
  });

  it("rejects a source that does not match its declared size", async () => {
    const writer = new ResponseWriter(new PassThrough());
    await expect(writer.writeLiteral(5, Readable.from([Buffer.from("abc")]))).rejects.toBeInstanceOf(
      LiteralSizeMismatchError,
    );
    await expect(writer.writeLiteral(2, Readable.from([Buffer.from("abc")]))).rejects.toBeInstanceOf(
      LiteralSizeMismatchError,
    );
  });

  it("does not hang when the socket closes while waiting for drain", async () => {
    const stream = new Writable({ highWaterMark: 1, write: () => {} }); // never calls back
    const writer = new ResponseWriter(stream);
    const pending = writer.write(Buffer.alloc(10));
    stream.destroy();
    await expect(pending).rejects.toThrow(/closed/);
  });
});
