// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state without closing the connection,
// so a client (or a proxy pooling connections) can log in as someone else over the same TLS and
// COMPRESS layers. The selected mailbox is left without an expunge (as UNSELECT), and nothing of
// the old user stays: ENABLEd extensions, NOTIFY, pending updates.
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export const unauthenticateCommand = defineCommand({
  names: ["UNAUTHENTICATE"],
  states: AUTHENTICATED_OR_SELECTED,
  capabilities: (session) => (session.state === "not-authenticated" ? [] : ["UNAUTHENTICATE"]),
  async handle(_command, context) {
    context.session.unauthenticate();
    return { text: "UNAUTHENTICATE completed" };
  },
});
