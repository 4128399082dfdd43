import { describe, expect, it } from "vitest";
import { DOMAIN_ERROR_CODES, DomainError, imapResponseCode, isDomainError } from "./errors.ts";

// Response codes the gateway may put after NO (RFC 3501 7.1, RFC 5530, RFC 4469, RFC 7162).
const IMAP_RESPONSE_CODES = new Set([
  "NONEXISTENT",
  "ALREADYEXISTS",
  "TOOBIG",
  "OVERQUOTA",
  "CANNOT",
  "TRYCREATE",
  "LIMIT",
  "AUTHENTICATIONFAILED",
  "NOPERM",
  "INUSE",
  "MODIFIED",
  "HASCHILDREN",
]);

describe("domain errors", () => {
  it.each(DOMAIN_ERROR_CODES)("%s maps to an IMAP response code", (code) => {
    expect(IMAP_RESPONSE_CODES.has(imapResponseCode(code))).toBe(true);
  });

  it("keeps the code and the human message", () => {
    const error = new DomainError("TOOBIG", "too big");
    expect(isDomainError(error)).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect([error.code, error.message]).toEqual(["TOOBIG", "too big"]);
    expect(isDomainError(new Error("x"))).toBe(false);
  });
});
