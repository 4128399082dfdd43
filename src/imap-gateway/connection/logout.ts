// LOGOUT (RFC 3501 6.1.3): untagged BYE, tagged OK, then the connection closes.
import { ANY_STATE, defineCommand } from "../module.ts";

export const logoutCommand = defineCommand({
  names: ["LOGOUT"],
  states: ANY_STATE,
  async handle(_command, context) {
    // Nothing may come between BYE and the tagged OK: updates still pending for the selected
    // mailbox (an EXPUNGE, a FETCH FLAGS) would follow the BYE, naming messages of a session that
    // is over. Leaving the mailbox drops them.
    context.session.unselect();
    await context.untagged("BYE logging out");
    return { text: "LOGOUT completed", afterResponse: () => context.session.close("logout") };
  },
});
