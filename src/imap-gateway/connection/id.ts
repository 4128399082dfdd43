// ID (RFC 2971): remember the client's identification (it goes into event metadata) and answer
// with the server's own.
import { encodeNString, encodeString } from "../codec/index.ts";
import { ANY_STATE, defineCommand } from "../module.ts";

export const idCommand = defineCommand({
  names: ["ID"],
  states: ANY_STATE,
  capabilities: () => ["ID"],
  async handle(command, context) {
    context.session.setClientId(command.args.params);
    const pairs = Object.entries(context.services.serverId);
    if (pairs.length === 0) {
      await context.untagged("ID NIL");
    } else {
      const fields = pairs.flatMap(([field, value]) => [encodeString(field), encodeNString(value)]);
      const list: Buffer[] = [];
      fields.forEach((field, i) => {
        if (i > 0) list.push(Buffer.from(" "));
        list.push(field);
      });
      await context.untagged("ID (", ...list, ")");
    }
    return undefined;
  },
});
