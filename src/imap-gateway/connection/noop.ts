// NOOP (RFC 3501 6.1.2): a poll. Like every command on a selected mailbox, it is preceded by a
// look at storage (the session's sync, contract 9); the session sends what changed before the OK.
import { ANY_STATE, defineCommand } from "../module.ts";

export const noopCommand = defineCommand({
  names: ["NOOP"],
  selectedView: "looks-first",
  states: ANY_STATE,
  async handle() {
    return undefined;
  },
});
