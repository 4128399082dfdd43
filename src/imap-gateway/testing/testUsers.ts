// The one test account the gateway tests log in with.
import { type Authenticator, staticAuthenticator } from "../auth/authenticator.ts";

export const TEST_USER = {
  username: "alice",
  password: "correct horse battery staple",
  userId: "user-alice",
};

export function testAuthenticator(): Authenticator {
  return staticAuthenticator([TEST_USER]);
}
