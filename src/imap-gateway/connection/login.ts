// LOGIN (RFC 3501 6.2.3). LOGINDISABLED is advertised while clear-text credentials are refused.
import { checkCredentials, requirePrivacy } from "../auth/credentials.ts";
import { defineCommand, NOT_AUTHENTICATED } from "../module.ts";

export const loginCommand = defineCommand({
  names: ["LOGIN"],
  states: NOT_AUTHENTICATED,
  capabilities: (session) =>
    session.state === "not-authenticated" && !session.authAllowed ? ["LOGINDISABLED"] : [],
  async handle(command, context) {
    requirePrivacy(context);
    return checkCredentials(context, command.args.username, command.args.password, "LOGIN");
  },
});
