// CAPABILITY (RFC 3501 6.1.1): the list is built from the registered modules.
import { ANY_STATE, defineCommand } from "../module.ts";

export const capabilityCommand = defineCommand({
  names: ["CAPABILITY"],
  states: ANY_STATE,
  async handle(_command, context) {
    await context.untagged(`CAPABILITY ${context.session.capabilities().join(" ")}`);
    return undefined;
  },
});
