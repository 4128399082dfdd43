// Typed refusals of the domain. The gateway answers each with NO and the response code of
// RFC 5530 (or the RFC that defines it); the message is for humans and never holds a secret.

export const DOMAIN_ERROR_CODES = [
  /** The mailbox, user or message named does not exist (RFC 5530). */
  "NONEXISTENT",
  /** The name is taken (RFC 5530). */
  "ALREADYEXISTS",
  /** Larger than the APPENDLIMIT in force (RFC 4469 / RFC 7889). */
  "TOOBIG",
  /** Would take the account above its storage quota (RFC 5530, RFC 9208). */
  "OVERQUOTA",
  /** The operation can never succeed as asked (RFC 5530), e.g. DELETE INBOX. */
  "CANNOT",
  /** APPEND or COPY to a mailbox that does not exist: the client may CREATE it (RFC 3501 7.1). */
  "TRYCREATE",
  /** A server limit is reached, e.g. the 32-bit UID space (RFC 5530). */
  "LIMIT",
  /** Wrong user name or password (RFC 5530). */
  "AUTHENTICATIONFAILED",
  /** Not allowed for this account (RFC 5530). */
  "NOPERM",
  /** In use by another operation right now; retrying later may work (RFC 5530). */
  "INUSE",
  /** UNCHANGEDSINCE failed (RFC 7162 3.1.3); reported per message, here for completeness. */
  "MODIFIED",
  /** DELETE of a \Noselect name that still has inferiors (RFC 5530 HASCHILDREN). */
  "HASCHILDREN",
  /** A name or argument the domain rejects, e.g. an empty hierarchy level (no RFC 5530 code). */
  "BADNAME",
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  constructor(code: DomainErrorCode, message: string) {
    super(message);
    this.name = "DomainError";
    this.code = code;
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/**
 * The response code text the gateway puts in brackets after NO: `NO [TOOBIG] ...`. BADNAME has
 * no code of its own in RFC 5530; CANNOT ("can never succeed") is the closest.
 */
export function imapResponseCode(code: DomainErrorCode): string {
  switch (code) {
    case "NONEXISTENT":
    case "ALREADYEXISTS":
    case "TOOBIG":
    case "OVERQUOTA":
    case "CANNOT":
    case "TRYCREATE":
    case "LIMIT":
    case "AUTHENTICATIONFAILED":
    case "NOPERM":
    case "INUSE":
    case "HASCHILDREN":
      return code;
    case "MODIFIED":
      return "MODIFIED";
    case "BADNAME":
      return "CANNOT";
    default: {
      const unknown: never = code;
      throw new Error(`no IMAP response code for ${String(unknown)}`);
    }
  }
}
