// Passwords are hashed with argon2id (@node-rs/argon2's default algorithm, memory-hard); only
// the PHC hash string is stored or recorded, never the password.
import { hash, verify } from "@node-rs/argon2";
import { DomainError } from "../errors.ts";

/** RFC 3501 allows long passwords; this bounds the hashing work one LOGIN can cause. */
export const MAX_PASSWORD_LENGTH = 1024;

export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new DomainError("CANNOT", "a password cannot be empty");
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new DomainError("CANNOT", `a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return hash(password);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no stored hash (unknown user) it still runs a
 * verification against a dummy, so timing does not tell which user names exist.
 */
export async function checkPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  if (storedHash === null) {
    dummyHash ??= hash("mailledger-no-such-user");
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false; // a malformed stored hash verifies nothing
  }
}
