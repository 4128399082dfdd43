// Errors a command handler may throw, and the one triage that turns every refusal into an answer
// (model: go-imap v2 imapserver/conn.go readCommand). Each rung recognises its errors by type or
// by kind, never by message text:
//   the reader refused the command's bytes      → its status and code (a limit, by its reason);
//   the parser refused the command's grammar    → BAD, or NO with its code (BADCHARSET, TOOBIG);
//   an unknown command, or one not allowed now  → BAD;
//   a handler's ImapError                       → its own status and code;
//   a handler's DomainError                     → NO with the code of RFC 5530 the domain's maps to;
//   METADATA's refusals (RFC 5464)              → NO [METADATA MAXSIZE n | TOOMANY], BAD for a name;
//   the commit's outcome could not be learnt    → BYE [UNAVAILABLE] (NO would say "not done");
//   the database unreachable                    → NO [UNAVAILABLE] (RFC 5530);
//   anything else                               → logged, counted, NO [SERVERBUG].
// And one rule above all: a command whose write was committed answers OK whatever failed after it.
import { DomainError, imapResponseCode } from "../commands/errors.ts";
import { MetadataEntryNameError, MetadataLimitError } from "../commands/metadata/decider.ts";
import { CommitOutcomeUnknown } from "../events/commitOutcome.ts";
import { isDatabaseUnavailable } from "../events/db.ts";
import type { ParseResult, ReaderResult } from "./codec/index.ts";
import type { LimitName } from "./metrics.ts";
import type { SessionState } from "./module.ts";

/** A refusal the client should see: NO [CODE] text, or BAD text. */
export class ImapError extends Error {
  override readonly name = "ImapError";
  readonly status: "NO" | "BAD";
  /** RFC 5530 response code (NONEXISTENT, TOOBIG, AUTHENTICATIONFAILED, ...), if any. */
  readonly code: string | undefined;

  constructor(status: "NO" | "BAD", message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function no(message: string, code?: string): ImapError {
  return new ImapError("NO", message, code);
}

export function bad(message: string, code?: string): ImapError {
  return new ImapError("BAD", message, code);
}

/** Which rung of the triage an answer came from: the label of its metrics. */
export type AnswerKind =
  | "reader"
  | "parse"
  | "unknown-command"
  | "wrong-state"
  | "refused"
  | "domain"
  | "unavailable"
  | "outcome-unknown"
  | "after-commit"
  | "bug";

/** The answer the triage chose. */
export interface Answer {
  readonly kind: AnswerKind;
  readonly status: "OK" | "NO" | "BAD";
  readonly code: string | undefined;
  readonly text: string;
  /** The session cannot go on: it says BYE with this text and code instead of a tagged answer. */
  readonly bye?: boolean;
  /** A limit the client reached (for the limits metric), when the reader refused the command. */
  readonly limit?: LimitName;
}

/** The reader's refusal reasons, as the limits metric names them (absent: not a limit). */
const READER_LIMITS: Record<Extract<ReaderResult, { kind: "error" }>["reason"], LimitName | undefined> = {
  "line-too-long": "line_too_long",
  "literal-too-big": "literal_too_big",
  "command-too-big": "literal_too_big",
  "non-sync-literal": undefined,
  "literal-not-stored": undefined,
};

/** Rung 1: the reader refused the bytes of a command. */
export function triageReaderRefusal(item: Extract<ReaderResult, { kind: "error" }>): Answer {
  return {
    kind: "reader",
    status: item.status,
    code: item.code,
    text: item.message,
    limit: READER_LIMITS[item.reason],
  };
}

/** Rung 2: the parser refused the grammar. */
export function triageParseFailure(parsed: Extract<ParseResult, { ok: false }>): Answer {
  return { kind: "parse", status: parsed.status, code: parsed.code, text: parsed.message };
}

/** Rung 3: no module handles the command. */
export function triageUnknownCommand(name: string): Answer {
  return {
    kind: "unknown-command",
    status: "BAD",
    code: undefined,
    text: `${name} is not supported by this server`,
  };
}

/** Rung 3: the command is not allowed in the session's state (the gatekeeper). */
export function triageWrongState(name: string, state: SessionState): Answer {
  return {
    kind: "wrong-state",
    status: "BAD",
    code: undefined,
    text: `${name} is not allowed ${describeState(state)}`,
  };
}

export const DATABASE_UNAVAILABLE_TEXT = "the mail store cannot be reached just now; try again shortly";

/**
 * Rung 4: what a handler threw. `committed`: the command's write is committed (NO would tell the
 * client it was not done), so a failure after it answers OK; the client learns the rest on its
 * next command (contract 9).
 */
export function triageHandlerError(error: unknown, command: string, committed: boolean): Answer {
  if (error instanceof CommitOutcomeUnknown) {
    return {
      kind: "outcome-unknown",
      status: "NO",
      code: "UNAVAILABLE",
      text: "the mail store went away while your command was being committed; whether it was done is unknown: look before you try again",
      bye: true,
    };
  }
  const refusal = refusalOf(error);
  if (committed && refusal.status === "NO") {
    return {
      kind: "after-commit",
      status: "OK",
      code: undefined,
      text: `${command} completed; its result could not be read back`,
    };
  }
  return refusal;
}

function refusalOf(error: unknown): Answer {
  if (error instanceof ImapError) {
    return { kind: "refused", status: error.status, code: error.code, text: error.message };
  }
  if (error instanceof DomainError) {
    return { kind: "domain", status: "NO", code: imapResponseCode(error.code), text: error.message };
  }
  if (error instanceof MetadataLimitError) {
    const code = error.limit === "maxsize" ? `METADATA MAXSIZE ${error.maxSize}` : "METADATA TOOMANY";
    return { kind: "domain", status: "NO", code, text: error.message };
  }
  if (error instanceof MetadataEntryNameError) {
    return { kind: "domain", status: "BAD", code: undefined, text: error.message };
  }
  if (isDatabaseUnavailable(error)) {
    return { kind: "unavailable", status: "NO", code: "UNAVAILABLE", text: DATABASE_UNAVAILABLE_TEXT };
  }
  return {
    kind: "bug",
    status: "NO",
    code: "SERVERBUG",
    text: "internal server error; the failure was logged",
  };
}

export function describeState(state: SessionState): string {
  switch (state) {
    case "not-authenticated":
      return "before authentication";
    case "authenticated":
      return "in the authenticated state (no mailbox selected)";
    case "selected":
      return "while a mailbox is selected";
    case "logout":
      return "after LOGOUT";
    default: {
      const unknown: never = state;
      return String(unknown);
    }
  }
}
