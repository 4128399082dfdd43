// The gateway's only view of accounts: verify a username and password. The storage-backed
// implementation comes with the user aggregate; tests pass an in-memory one.

export type AuthenticationResult = { readonly ok: true; readonly userId: string } | { readonly ok: false };

export interface Authenticator {
  /** Never throws for wrong credentials (ok: false); throws only when it cannot decide (store down). */
  verify(username: string, password: string, remoteAddress: string): Promise<AuthenticationResult>;
}

/** Fixed users, for tests and trying the gateway out. Comparison is constant-time per candidate. */
export function staticAuthenticator(
  users: ReadonlyArray<{ readonly username: string; readonly password: string; readonly userId: string }>,
): Authenticator {
  return {
    async verify(username, password) {
      const user = users.find((u) => u.username === username);
      if (user === undefined) return { ok: false };
      const { timingSafeEqual, createHash } = await import("node:crypto");
      const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();
      return timingSafeEqual(digest(user.password), digest(password))
        ? { ok: true, userId: user.userId }
        : { ok: false };
    },
  };
}
