import { describe, expect, it } from "vitest";
import type { ParseResult } from "./commands.ts";
import { parseCommand } from "./parseCommand.ts";
import { readAllFrames } from "./reader.ts";

function parse(wire: string): ParseResult {
  const frames = readAllFrames([Buffer.from(`${wire}\r\n`, "latin1")]).flatMap((r) =>
    r.kind === "command" ? [r.frame] : [],
  );
  return parseCommand(frames[0]!);
}

const args = (wire: string) => {
  const result = parse(wire);
  if (!result.ok) throw new Error(`expected ${wire} to parse: ${result.message}`);
  return result.command.args;
};

describe("URLAUTH commands (RFC 4467 7, RFC 5524 6)", () => {
  it("reads GENURLAUTH pairs, RESETKEY with and without a mailbox, URLFETCH in both forms", () => {
    expect(
      args(
        'a GENURLAUTH "imap://u@h/INBOX/;uid=1;urlauth=anonymous" internal imap://u@h/A/;uid=2;urlauth=authuser INTERNAL',
      ),
    ).toEqual({
      urls: [
        { url: "imap://u@h/INBOX/;uid=1;urlauth=anonymous", mechanism: "INTERNAL" },
        { url: "imap://u@h/A/;uid=2;urlauth=authuser", mechanism: "INTERNAL" },
      ],
    });
    expect(args("a RESETKEY")).toEqual({ mailbox: undefined, mechanisms: [] });
    expect(args("a RESETKEY inbox INTERNAL")).toEqual({ mailbox: "INBOX", mechanisms: ["INTERNAL"] });
    expect(args('a URLFETCH "u1" (u2 binary BODYPARTSTRUCTURE) (u3)')).toEqual({
      items: [
        { url: "u1", params: undefined },
        { url: "u2", params: ["BINARY", "BODYPARTSTRUCTURE"] },
        { url: "u3", params: [] },
      ],
    });
  });

  it("answers BAD for what the grammar does not allow", () => {
    for (const wire of [
      "a GENURLAUTH",
      'a GENURLAUTH "url"',
      "a URLFETCH",
      "a URLFETCH (u1 TEXT)",
      "a URLFETCH (u1 BINARY BINARY)",
    ]) {
      const result = parse(wire);
      expect(result.ok, wire).toBe(false);
      if (!result.ok) expect(result.status).toBe("BAD");
    }
  });
});
