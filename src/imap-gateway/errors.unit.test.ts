// The triage, one rung at a time: each kind of refusal and the answer a client sees for it.
import { describe, expect, it } from "vitest";
import { DomainError } from "../commands/errors.ts";
import { MetadataEntryNameError, MetadataLimitError } from "../commands/metadata/decider.ts";
import { CommitOutcomeUnknown } from "../events/commitOutcome.ts";
import { type ParseResult, parseCommand, type ReaderResult, readAllFrames } from "./codec/index.ts";
import {
  bad,
  no,
  triageHandlerError,
  triageParseFailure,
  triageReaderRefusal,
  triageUnknownCommand,
  triageWrongState,
} from "./errors.ts";

function readerRefusal(input: string, options: Parameters<typeof readAllFrames>[1]) {
  const results = readAllFrames([Buffer.from(input, "latin1")], options);
  const refusal = results.find(
    (result): result is Extract<ReaderResult, { kind: "error" }> => result.kind === "error",
  );
  if (refusal === undefined) throw new Error(`the reader accepted ${JSON.stringify(input)}`);
  return refusal;
}

function parseFailure(line: string): Extract<ParseResult, { ok: false }> {
  const [frame] = readAllFrames([Buffer.from(`${line}\r\n`, "latin1")]);
  if (frame?.kind !== "command") throw new Error("not framed");
  const parsed = parseCommand(frame.frame);
  if (parsed.ok) throw new Error(`parsed ${line}`);
  return parsed;
}

describe("the reader's refusals", () => {
  it("a line over the limit is BAD and counts as line_too_long", () => {
    const answer = triageReaderRefusal(
      readerRefusal(`a1 NOOP ${"x".repeat(200)}\r\n`, { maxLineLength: 64 }),
    );
    expect(answer).toMatchObject({ kind: "reader", status: "BAD", code: undefined, limit: "line_too_long" });
    expect(answer.text).toMatch(/line too long/);
  });

  it("a literal over the limit is NO [TOOBIG] and counts as literal_too_big", () => {
    const answer = triageReaderRefusal(readerRefusal("a1 APPEND INBOX {5000}\r\n", { maxLiteralSize: 1000 }));
    expect(answer).toMatchObject({ kind: "reader", status: "NO", code: "TOOBIG", limit: "literal_too_big" });
  });

  it("a non-synchronizing literal where none is allowed is BAD, and no limit", () => {
    const answer = triageReaderRefusal(
      readerRefusal("a1 APPEND INBOX {5+}\r\n", { nonSyncLiterals: "none" }),
    );
    expect(answer).toMatchObject({ kind: "reader", status: "BAD", limit: undefined });
  });
});

describe("the parser's and the gatekeeper's refusals", () => {
  it("broken grammar is BAD", () => {
    expect(triageParseFailure(parseFailure("a1 FETCH"))).toMatchObject({ kind: "parse", status: "BAD" });
  });

  it("an unknown charset is NO [BADCHARSET ...]", () => {
    const answer = triageParseFailure(parseFailure("a1 SEARCH CHARSET X-NONE foo"));
    expect(answer.status).toBe("NO");
    expect(answer.code).toMatch(/^BADCHARSET/);
  });

  it("an unknown command and one in the wrong state are BAD, saying which", () => {
    expect(triageUnknownCommand("XYZZY")).toMatchObject({
      kind: "unknown-command",
      status: "BAD",
      text: "XYZZY is not supported by this server",
    });
    expect(triageWrongState("FETCH", "authenticated")).toMatchObject({
      kind: "wrong-state",
      status: "BAD",
      text: "FETCH is not allowed in the authenticated state (no mailbox selected)",
    });
  });
});

describe("a handler's errors", () => {
  it("an ImapError keeps its own status and code", () => {
    expect(triageHandlerError(no("over quota", "OVERQUOTA"), "APPEND", false)).toMatchObject({
      kind: "refused",
      status: "NO",
      code: "OVERQUOTA",
      text: "over quota",
    });
    expect(triageHandlerError(bad("bad set"), "FETCH", false)).toMatchObject({
      status: "BAD",
      code: undefined,
    });
  });

  it("a DomainError is NO with its RFC 5530 code, recognised by type: BADNAME is CANNOT everywhere", () => {
    expect(
      triageHandlerError(new DomainError("NONEXISTENT", "no such mailbox"), "SELECT", false),
    ).toMatchObject({
      kind: "domain",
      status: "NO",
      code: "NONEXISTENT",
    });
    expect(triageHandlerError(new DomainError("BADNAME", "empty level"), "CREATE", false)).toMatchObject({
      status: "NO",
      code: "CANNOT",
    });
  });

  it("METADATA's refusals carry RFC 5464's codes; a bad entry name is BAD", () => {
    expect(
      triageHandlerError(new MetadataLimitError("maxsize", "too large", 16384), "SETMETADATA", false),
    ).toMatchObject({
      status: "NO",
      code: "METADATA MAXSIZE 16384",
    });
    expect(
      triageHandlerError(new MetadataLimitError("toomany", "too many"), "SETMETADATA", false),
    ).toMatchObject({
      status: "NO",
      code: "METADATA TOOMANY",
    });
    expect(triageHandlerError(new MetadataEntryNameError("no"), "SETMETADATA", false)).toMatchObject({
      status: "BAD",
    });
  });

  it("an error that merely looks coded (a system error) is a server bug, not a refusal", () => {
    const looksCoded = Object.assign(new Error("ERANGE"), { code: "ERANGE" });
    expect(triageHandlerError(looksCoded, "FETCH", false)).toMatchObject({ kind: "bug", code: "SERVERBUG" });
  });

  it("the database unreachable is NO [UNAVAILABLE]", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(triageHandlerError(refused, "STORE", false)).toMatchObject({
      kind: "unavailable",
      status: "NO",
      code: "UNAVAILABLE",
    });
  });

  it("a commit whose outcome is unknown ends the session with BYE [UNAVAILABLE]", () => {
    const answer = triageHandlerError(new CommitOutcomeUnknown("01J", new Error("gone")), "APPEND", false);
    expect(answer).toMatchObject({ kind: "outcome-unknown", code: "UNAVAILABLE", bye: true });
  });

  it("after its commit a command answers OK, whatever failed next", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(triageHandlerError(refused, "APPEND", true)).toMatchObject({
      kind: "after-commit",
      status: "OK",
      text: "APPEND completed; its result could not be read back",
    });
    // BAD is about the command's form, never about a write: it stays BAD.
    expect(triageHandlerError(bad("no"), "APPEND", true)).toMatchObject({ status: "BAD" });
  });

  it("anything else is NO [SERVERBUG] and flagged as a bug", () => {
    expect(triageHandlerError(new TypeError("x is undefined"), "FETCH", false)).toMatchObject({
      kind: "bug",
      status: "NO",
      code: "SERVERBUG",
    });
  });
});
