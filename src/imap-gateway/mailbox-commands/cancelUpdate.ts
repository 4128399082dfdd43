// CANCELUPDATE (RFC 5267 4.2): ends live searches (SEARCH RETURN (UPDATE)) by their tags.
import { no } from "../errors.ts";
import { selectedOf } from "../mail/commandSupport.ts";
import { defineCommand, SELECTED } from "../module.ts";

export function cancelUpdateCommand() {
  return defineCommand({
    names: ["CANCELUPDATE"],
    states: SELECTED,
    async handle(command, context) {
      const { state } = selectedOf(context.session);
      for (const tag of command.args.tags) {
        if (!state.cancelSearchContext(tag)) throw no(`no live search has the tag ${JSON.stringify(tag)}`);
      }
      return { text: "CANCELUPDATE completed" };
    },
  });
}
