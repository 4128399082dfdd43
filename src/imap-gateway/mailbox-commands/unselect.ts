// UNSELECT (RFC 3691): leave the mailbox without expunging anything.
import { defineCommand, SELECTED } from "../module.ts";

export function unselectCommand() {
  return defineCommand({
    names: ["UNSELECT"],
    states: SELECTED,
    capabilities: () => ["UNSELECT"],
    async handle(_command, context) {
      context.session.unselect();
      return undefined;
    },
  });
}
