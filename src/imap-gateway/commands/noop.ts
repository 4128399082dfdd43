// NOOP (RFC 3501 6.1.2): does nothing itself; the session sends pending updates before the OK.
import { ANY_STATE, defineCommand } from "../module.ts";

export const noopCommand = defineCommand({
  names: ["NOOP"],
  states: ANY_STATE,
  async handle() {
    return undefined;
  },
});
