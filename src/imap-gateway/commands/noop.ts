// NOOP (RFC 3501 6.1.2): a poll. The selected mailbox looks at storage again; the session sends
// the pending updates before the OK.
import { ANY_STATE, defineCommand } from "../module.ts";

export const noopCommand = defineCommand({
  names: ["NOOP"],
  states: ANY_STATE,
  async handle(_command, context) {
    context.session.selected?.poll?.();
    return undefined;
  },
});
