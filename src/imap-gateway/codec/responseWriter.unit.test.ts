import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ResponseWriter, streamedLiteral } from "./responseWriter.ts";

/** A sink that records each write call (a system call on a socket), as it is made. */
function recordingSink() {
  const writes: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString("latin1"));
      done();
    },
  });
  return { sink, writes };
}

describe("ResponseWriter", () => {
  it("writes each response at once when not holding", async () => {
    const { sink, writes } = recordingSink();
    const writer = new ResponseWriter(sink);
    await writer.write("* 1 EXISTS\r\n");
    await writer.write("A1 OK done\r\n");
    expect(writes).toEqual(["* 1 EXISTS\r\n", "A1 OK done\r\n"]);
  });

  it("holds a command's responses and writes them in one call on release", async () => {
    const { sink, writes } = recordingSink();
    const writer = new ResponseWriter(sink);
    writer.hold();
    await writer.write("* 1 EXISTS\r\n");
    await writer.write("* 0 RECENT\r\n");
    await writer.write("A1 OK done\r\n");
    expect(writes).toEqual([]);
    await writer.release();
    expect(writes).toEqual(["* 1 EXISTS\r\n* 0 RECENT\r\nA1 OK done\r\n"]);
    // Released: the next response goes out by itself.
    await writer.write("* 2 EXISTS\r\n");
    expect(writes.at(-1)).toBe("* 2 EXISTS\r\n");
  });

  it("writes held output past 64 KiB, and before a streamed literal, in order", async () => {
    const { sink, writes } = recordingSink();
    const writer = new ResponseWriter(sink);
    writer.hold();
    const line = `* ${"x".repeat(1000)}\r\n`;
    for (let i = 0; i < 70; i++) await writer.write(line);
    expect(writes.length).toBe(1);
    expect(writes[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
    async function* body() {
      yield Buffer.from("hello ");
      yield Buffer.from("world");
    }
    await writer.write("* 1 FETCH (BODY[] ", streamedLiteral(11, body()), ")\r\n");
    await writer.write("A1 OK done\r\n");
    await writer.release();
    expect(writes.join("")).toBe(
      `${line.repeat(70)}* 1 FETCH (BODY[] {11}\r\nhello world)\r\nA1 OK done\r\n`,
    );
  });
});
