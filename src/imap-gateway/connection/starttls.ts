// STARTTLS (RFC 3501 6.2.1, RFC 7817): upgrade the connection in place. Offered only on a
// clear-text connection that has a certificate, and only before authentication, the one state
// that accepts it; text the client pipelined after it is discarded.
import { bad } from "../errors.ts";
import { defineCommand, NOT_AUTHENTICATED } from "../module.ts";

export const starttlsCommand = defineCommand({
  names: ["STARTTLS"],
  states: NOT_AUTHENTICATED,
  capabilities: (session) =>
    session.canStartTls && session.state === "not-authenticated" ? ["STARTTLS"] : [],
  async handle(_command, context) {
    const session = context.session;
    if (session.secure) throw bad("TLS is already active");
    if (!session.canStartTls) throw bad("STARTTLS is not available on this connection");
    session.prepareStartTls();
    return { text: "Begin TLS negotiation now", afterResponse: () => session.startTls() };
  },
});
