// AUTHENTICATE (RFC 3501 6.2.2) with PLAIN (RFC 4616) and SASL-IR (RFC 4959): the initial
// response may come with the command; otherwise the server sends `+ ` and reads one line.
// `*` cancels (answered BAD, as RFC 3501 says).
import { checkCredentials, requirePrivacy } from "../auth/credentials.ts";
import { decodeBase64Strict, decodePlain } from "../auth/saslPlain.ts";
import { bad, no } from "../errors.ts";
import { defineCommand, NOT_AUTHENTICATED } from "../module.ts";

export const authenticateCommand = defineCommand({
  names: ["AUTHENTICATE"],
  states: NOT_AUTHENTICATED,
  capabilities: (session) =>
    session.state === "not-authenticated" && session.authAllowed ? ["AUTH=PLAIN", "SASL-IR"] : [],
  async handle(command, context) {
    const mechanism = command.args.mechanism.toUpperCase();
    if (mechanism !== "PLAIN") throw no(`unsupported SASL mechanism ${mechanism.slice(0, 40)}`);
    requirePrivacy(context);
    let response = command.args.initialResponse;
    if (response === undefined) response = (await context.continuation("")).trim();
    if (response === "*") throw bad("AUTHENTICATE cancelled");
    // SASL-IR: "=" stands for an empty initial response.
    const payload = response === "=" ? Buffer.alloc(0) : decodeBase64Strict(response);
    if (payload === undefined) throw bad("SASL response is not base64");
    const credentials = decodePlain(payload);
    if (!credentials.ok) throw bad(credentials.message);
    if (credentials.authzid !== "" && credentials.authzid !== credentials.username) {
      throw no("acting as another user is not permitted", "AUTHORIZATIONFAILED");
    }
    return checkCredentials(context, credentials.username, credentials.password, "AUTHENTICATE");
  },
});
