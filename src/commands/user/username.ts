// User names are compared and stored lowercased (after Unicode NFC): "Alice@Example.org" and
// "alice@example.org" are one account, as most mail systems treat addresses. The IMAP LOGIN
// name is mapped the same way before lookup.
import { DomainError } from "../errors.ts";

export const MAX_USERNAME_LENGTH = 255;

export function canonicalUsername(raw: string): string {
  const name = raw.normalize("NFC").toLowerCase();
  if (name.length === 0 || name.length > MAX_USERNAME_LENGTH) {
    throw new DomainError("BADNAME", `a user name has 1 to ${MAX_USERNAME_LENGTH} characters`);
  }
  if (/[\p{Cc}\p{Zs}"\\]/u.test(name)) {
    throw new DomainError(
      "BADNAME",
      "a user name cannot contain spaces, quotes, backslashes or control characters",
    );
  }
  return name;
}
