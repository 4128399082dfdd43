// Errors a command handler may throw, and the one triage that turns any error into an answer
// (model: go-imap v2 imapserver/conn.go): a ImapError → its own status and code; the database
// unreachable → NO [UNAVAILABLE] (RFC 5530), or BYE when a commit's outcome could not be learnt;
// anything else → logged, NO [SERVERBUG]. Parse errors never get here: the session answers them
// with BAD directly.
import { CommitOutcomeUnknown } from "../events/commitOutcome.ts";
import { isDatabaseUnavailable } from "../events/db.ts";

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

/** Domain errors from src/commands carry an IMAP response code; they are recognised by shape. */
interface CodedError {
  readonly message: string;
  readonly code: string;
}

const RESPONSE_CODE_RE = /^[A-Z][A-Z0-9-]*$/;

function isCodedError(error: unknown): error is CodedError {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === "string" && RESPONSE_CODE_RE.test(code) && typeof message === "string";
}

export interface TriagedError {
  readonly status: "NO" | "BAD";
  readonly code: string | undefined;
  readonly text: string;
  /** true: unexpected, to be logged and counted as a server bug. */
  readonly bug: boolean;
  /**
   * true: the session cannot go on and says BYE instead: a write was sent and the database went
   * away before saying whether it was committed. NO would say "not done", which may be false.
   */
  readonly bye?: boolean;
}

export const DATABASE_UNAVAILABLE_TEXT = "the mail store cannot be reached just now; try again shortly";

export function triageError(error: unknown): TriagedError {
  if (error instanceof ImapError) {
    return { status: error.status, code: error.code, text: error.message, bug: false };
  }
  if (error instanceof CommitOutcomeUnknown) {
    return {
      status: "NO",
      code: "UNAVAILABLE",
      text: "the mail store went away while your command was being committed; whether it was done is unknown: look before you try again",
      bug: false,
      bye: true,
    };
  }
  if (isDatabaseUnavailable(error)) {
    return { status: "NO", code: "UNAVAILABLE", text: DATABASE_UNAVAILABLE_TEXT, bug: false };
  }
  if (isCodedError(error) && !("errno" in error)) {
    // Node system errors (ECONNRESET, ...) also have a code: they are not domain errors.
    return { status: "NO", code: error.code, text: error.message, bug: false };
  }
  return {
    status: "NO",
    code: "SERVERBUG",
    text: "internal server error; the failure was logged",
    bug: true,
  };
}
