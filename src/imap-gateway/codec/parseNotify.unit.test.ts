import { describe, expect, it } from "vitest";
import type { Command, ParseResult } from "./commands.ts";
import { parseCommand } from "./parseCommand.ts";
import { readAllFrames } from "./reader.ts";

function parse(wire: string): ParseResult {
  const frames = readAllFrames([Buffer.from(`${wire}\r\n`, "latin1")]).flatMap((r) =>
    r.kind === "command" ? [r.frame] : [],
  );
  expect(frames).toHaveLength(1);
  return parseCommand(frames[0]!);
}

function ok(wire: string): Extract<Command, { name: "NOTIFY" }>["args"] {
  const result = parse(wire);
  if (!result.ok) throw new Error(`expected ${wire} to parse: ${result.message}`);
  if (result.command.name !== "NOTIFY") throw new Error("not NOTIFY");
  return result.command.args;
}

function bad(wire: string): string {
  const result = parse(wire);
  if (result.ok) throw new Error(`expected ${wire} to be refused`);
  expect(result.status).toBe("BAD");
  return result.message;
}

describe("NOTIFY (RFC 5465 8)", () => {
  it("reads NONE, and SET with STATUS and every kind of filter", () => {
    expect(ok("a notify none")).toEqual({ set: false, status: false, groups: [] });
    const args = ok(
      'a NOTIFY SET STATUS (SELECTED-DELAYED (MessageNew (UID BODY.PEEK[HEADER]) MessageExpunge)) (personal NONE) (inboxes (messagenew messageexpunge)) (SUBSCRIBED (MailboxName)) (subtree (Lists "Work/Old") (SubscriptionChange)) (mailboxes inbox (FlagChange MessageNew MessageExpunge))',
    );
    expect(args.set).toBe(true);
    expect(args.status).toBe(true);
    expect(args.groups.map((group) => group.filter)).toEqual([
      { kind: "selected", delayed: true },
      { kind: "personal" },
      { kind: "inboxes" },
      { kind: "subscribed" },
      { kind: "subtree", mailboxes: ["Lists", "Work/Old"] },
      { kind: "mailboxes", mailboxes: ["INBOX"] },
    ]);
    expect(args.groups[0]!.events).toEqual(["MessageNew", "MessageExpunge"]);
    expect(args.groups[0]!.fetchItems).toEqual([
      { type: "UID" },
      { type: "BODY[]", peek: true, section: { part: [], text: "HEADER", fields: [] }, partial: undefined },
    ]);
    expect(args.groups[1]!.events).toEqual([]);
    expect(args.groups[2]!.events).toEqual(["MessageNew", "MessageExpunge"]);
  });

  it("keeps events it does not know by name, for the module's NO [BADEVENT]", () => {
    expect(ok("a NOTIFY SET (personal (MessageNew MessageExpunge XFoo))").groups[0]!.events).toEqual([
      "MessageNew",
      "MessageExpunge",
      "XFoo",
    ]);
  });

  it("refuses with BAD what the grammar or RFC 5465 5 and 6 forbid", () => {
    expect(bad("a NOTIFY")).toMatch(/NOTIFY/);
    expect(bad("a NOTIFY SET")).toMatch(/NOTIFY/);
    expect(bad("a NOTIFY SET (personal ())")).toMatch(/empty events/);
    expect(bad("a NOTIFY SET (elsewhere (MessageNew))")).toMatch(/unknown filter-mailboxes/);
    expect(bad("a NOTIFY SET (selected (MailboxName))")).toMatch(/not a message event/);
    expect(bad("a NOTIFY SET (selected (MessageNew))")).toMatch(/together/);
    expect(bad("a NOTIFY SET (selected (FlagChange MessageExpunge))")).toMatch(/together/);
    expect(bad("a NOTIFY SET (selected NONE) (selected-delayed NONE)")).toMatch(/once/);
    expect(bad("a NOTIFY SET (personal (MailboxName MailboxName))")).toMatch(/twice/);
    expect(bad("a NOTIFY SET (subtree (MailboxName))")).toMatch(/NOTIFY/);
  });
});
